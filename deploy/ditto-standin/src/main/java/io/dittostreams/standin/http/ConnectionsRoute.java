package io.dittostreams.standin.http;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import com.sun.net.httpserver.HttpExchange;

import io.dittostreams.standin.connectivity.ConnectionRegistry;

import org.eclipse.ditto.base.model.auth.AuthorizationContext;
import org.eclipse.ditto.base.model.exceptions.DittoJsonException;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.base.model.json.FieldType;
import org.eclipse.ditto.base.model.json.JsonSchemaVersion;
import org.eclipse.ditto.base.model.signals.commands.exceptions.PathUnknownException;
import org.eclipse.ditto.connectivity.model.Connection;
import org.eclipse.ditto.connectivity.model.ConnectionId;
import org.eclipse.ditto.json.JsonCollectors;
import org.eclipse.ditto.json.JsonParseException;
import org.eclipse.ditto.json.JsonPointer;
import org.eclipse.ditto.json.JsonValue;

/**
 * {@code /api/2/connections} (GET) and {@code /api/2/connections/{id}} (PUT, GET, DELETE,
 * plus GET .../status), for the devops user only, as in Ditto.
 */
final class ConnectionsRoute {

    static final String PREFIX = "/api/2/connections";

    private final ConnectionRegistry connections;

    ConnectionsRoute(ConnectionRegistry connections) {
        this.connections = connections;
    }

    void handle(HttpExchange exchange, AuthorizationContext subjects) throws IOException {
        String rest = exchange.getRequestURI().getRawPath().substring(PREFIX.length());
        DittoHeaders headers = Exchanges.dittoHeaders(exchange, subjects);
        Map<String, String> answer = new LinkedHashMap<>();
        headers.getCorrelationId().ifPresent(c -> answer.put("correlation-id", c));
        String method = exchange.getRequestMethod();
        if (rest.isEmpty() || "/".equals(rest)) {
            if (!"GET".equals(method)) {
                throw GatewayException.methodNotAllowed(method, PREFIX);
            }
            Exchanges.send(exchange, 200, connections.all().stream()
                    .map(ConnectionsRoute::json)
                    .collect(JsonCollectors.valuesToArray()), answer);
            return;
        }
        String[] parts = rest.substring(1).split("/");
        ConnectionId id = ConnectionId.of(Exchanges.decode(parts[0]));
        if (parts.length == 2 && "status".equals(parts[1]) && "GET".equals(method)) {
            Exchanges.send(exchange, 200, connections.status(id, headers), answer);
            return;
        }
        if (parts.length > 1) {
            throw PathUnknownException.newBuilder(JsonPointer.of(PREFIX + rest)).build();
        }
        switch (method) {
            case "PUT" -> put(exchange, id, headers, answer);
            case "GET" -> Exchanges.send(exchange, 200, json(connections.get(id, headers)),
                    answer);
            case "DELETE" -> {
                connections.delete(id, headers);
                Exchanges.send(exchange, 204, null, answer);
            }
            default -> throw GatewayException.methodNotAllowed(method, PREFIX + rest);
        }
    }

    private void put(HttpExchange exchange, ConnectionId id, DittoHeaders headers,
            Map<String, String> answer) throws IOException {
        JsonValue body = Exchanges.jsonBody(exchange, headers);
        if (!body.isObject()) {
            throw new DittoJsonException(JsonParseException.newBuilder()
                    .message("A connection must be a JSON object.").build(), headers);
        }
        boolean created = connections.put(id, body.asObject(), headers);
        if (created) {
            answer.put("Location", PREFIX + "/" + id);
            Exchanges.send(exchange, 201, json(connections.get(id, headers)), answer);
        } else {
            Exchanges.send(exchange, 204, null, answer);
        }
    }

    private static JsonValue json(Connection connection) {
        return connection.toJson(JsonSchemaVersion.V_2, FieldType.notHidden());
    }
}
