package io.dittostreams.standin.connectivity;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.dittostreams.standin.twin.TwinService;

import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.connectivity.model.Connection;
import org.eclipse.ditto.connectivity.model.ConnectionId;
import org.eclipse.ditto.connectivity.model.ConnectivityStatus;
import org.eclipse.ditto.connectivity.model.signals.commands.exceptions.*;
import org.eclipse.ditto.json.JsonArray;
import org.eclipse.ditto.json.JsonCollectors;
import org.eclipse.ditto.json.JsonObject;
import org.eclipse.ditto.json.JsonValue;

/**
 * Connections by id, kept in memory; an open connection runs as a {@link KafkaConnection}.
 * Replacing a connection stops the old one before the new one starts, as Ditto restarts
 * a connection's clients on modify.
 */
public final class ConnectionRegistry {

    private final TwinService twins;
    private final Map<ConnectionId, Connection> connections = new LinkedHashMap<>();
    private final Map<ConnectionId, KafkaConnection> running = new LinkedHashMap<>();

    public ConnectionRegistry(TwinService twins) {
        this.twins = twins;
    }

    /** Create or replace; true when it was created. */
    public synchronized boolean put(ConnectionId id, JsonObject body, DittoHeaders headers) {
        Connection connection = ConnectionValidation.parse(id, body, headers);
        boolean created = !connections.containsKey(id);
        stop(id);
        connections.put(id, connection);
        if (connection.getConnectionStatus() == ConnectivityStatus.OPEN) {
            KafkaConnection runtime = new KafkaConnection(connection, twins);
            running.put(id, runtime);
            runtime.start();
        }
        return created;
    }

    public synchronized Connection get(ConnectionId id, DittoHeaders headers) {
        return Optional.ofNullable(connections.get(id))
                .orElseThrow(() -> notAccessible(id, headers));
    }

    public synchronized List<Connection> all() {
        return new ArrayList<>(connections.values());
    }

    public synchronized void delete(ConnectionId id, DittoHeaders headers) {
        if (connections.remove(id) == null) {
            throw notAccessible(id, headers);
        }
        stop(id);
    }

    /** Status in the shape of Ditto's, with each source consumer "open" once assigned. */
    public synchronized JsonObject status(ConnectionId id, DittoHeaders headers) {
        Connection connection = get(id, headers);
        KafkaConnection runtime = running.get(id);
        JsonArray sources = runtime == null ? JsonArray.empty()
                : runtime.consumers().stream()
                        .map(c -> (JsonValue) JsonObject.newBuilder()
                                .set("addresses", JsonArray.newBuilder().add(c.address()).build())
                                .set("status", c.assigned() ? "open" : "starting")
                                .build())
                        .collect(JsonCollectors.valuesToArray());
        boolean ready = runtime != null && runtime.sourcesReady();
        return JsonObject.newBuilder()
                .set("connectionId", id.toString())
                .set("connectionStatus", connection.getConnectionStatus().getName())
                .set("liveStatus", runtime == null ? "closed" : ready ? "ready" : "starting")
                .set("sourceStatus", sources)
                .build();
    }

    public synchronized void closeAll() {
        new ArrayList<>(running.keySet()).forEach(this::stop);
    }

    private void stop(ConnectionId id) {
        KafkaConnection runtime = running.remove(id);
        if (runtime != null) {
            runtime.stop();
        }
    }

    private static ConnectionNotAccessibleException notAccessible(ConnectionId id,
            DittoHeaders headers) {
        return ConnectionNotAccessibleException.newBuilder(id).dittoHeaders(headers).build();
    }
}
