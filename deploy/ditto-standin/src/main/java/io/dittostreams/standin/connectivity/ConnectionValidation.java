package io.dittostreams.standin.connectivity;

import java.util.regex.Pattern;

import org.eclipse.ditto.base.model.exceptions.DittoJsonException;
import org.eclipse.ditto.base.model.exceptions.DittoRuntimeException;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.connectivity.model.Connection;
import org.eclipse.ditto.connectivity.model.ConnectionConfigurationInvalidException;
import org.eclipse.ditto.connectivity.model.ConnectionId;
import org.eclipse.ditto.connectivity.model.ConnectionType;
import org.eclipse.ditto.connectivity.model.ConnectivityModelFactory;
import org.eclipse.ditto.connectivity.model.FilteredTopic;
import org.eclipse.ditto.connectivity.model.Source;
import org.eclipse.ditto.connectivity.model.Target;
import org.eclipse.ditto.connectivity.model.Topic;
import org.eclipse.ditto.connectivity.model.signals.commands.exceptions.*;
import org.eclipse.ditto.json.JsonObject;

/**
 * A connection JSON read by Ditto's connectivity model, then held to what the stand-in
 * runs: Kafka, Ditto-protocol payloads, twin events as the only target topic. Anything
 * beyond that is refused with a 400 that says so, rather than silently ignored.
 */
final class ConnectionValidation {

    private static final Pattern KAFKA_TOPIC = Pattern.compile("[a-zA-Z0-9._-]+");
    private static final String[] SOURCE_PLACEHOLDERS = {"header", "request", "time"};
    private static final String[] TARGET_PLACEHOLDERS =
            {"header", "thing", "entity", "topic", "time"};

    private ConnectionValidation() {}

    static Connection parse(ConnectionId id, JsonObject body, DittoHeaders headers) {
        String given = body.getValue("id").filter(v -> v.isString()).map(v -> v.asString())
                .orElse(id.toString());
        if (!given.equals(id.toString())) {
            throw ConnectionIdNotExplicitlySettableException.newBuilder()
                    .dittoHeaders(headers).build();
        }
        Connection connection = DittoJsonException.wrapJsonRuntimeException(() ->
                ConnectivityModelFactory.connectionFromJson(body.setValue("id", id.toString())));
        try {
            check(connection);
        } catch (IllegalArgumentException | DittoRuntimeException e) {
            throw invalid(e.getMessage(), headers);
        }
        return connection;
    }

    private static void check(Connection connection) {
        require(connection.getConnectionType() == ConnectionType.KAFKA,
                "The Ditto stand-in runs Kafka connections only, not "
                        + connection.getConnectionType() + ".");
        String servers = connection.getSpecificConfig().get("bootstrapServers");
        require(servers != null && !servers.isBlank(),
                "Kafka connections need specificConfig.bootstrapServers.");
        require(connection.getPayloadMappingDefinition().isEmpty(),
                "The Ditto stand-in maps payloads with the Ditto protocol only.");
        connection.getSources().forEach(ConnectionValidation::checkSource);
        connection.getTargets().forEach(ConnectionValidation::checkTarget);
    }

    private static void checkSource(Source source) {
        source.getAddresses().forEach(a -> require(KAFKA_TOPIC.matcher(a).matches(),
                "Source address <" + a + "> is not a Kafka topic name."));
        require(source.getEnforcement().isEmpty(),
                "The Ditto stand-in does not run source enforcement.");
        require(source.getPayloadMapping().isEmpty()
                        || source.getPayloadMapping().getMappings().equals(
                                java.util.List.of("Ditto")),
                "The Ditto stand-in maps payloads with the Ditto protocol only.");
        source.getQos().ifPresent(q -> require(q == 0 || q == 1, "Kafka qos must be 0 or 1."));
        source.getHeaderMapping().getMapping().values()
                .forEach(t -> Placeholders.validate(t, SOURCE_PLACEHOLDERS));
        source.getReplyTarget().ifPresent(reply -> {
            Placeholders.validate(reply.getAddress(), TARGET_PLACEHOLDERS);
            reply.getHeaderMapping().getMapping().values()
                    .forEach(t -> Placeholders.validate(t, TARGET_PLACEHOLDERS));
        });
    }

    private static void checkTarget(Target target) {
        String topic = KafkaAddress.parse(target.getAddress()).topic();
        require(KAFKA_TOPIC.matcher(topic).matches(),
                "Target address <" + target.getAddress() + "> is not topic or topic/key.");
        Placeholders.validate(target.getAddress(), TARGET_PLACEHOLDERS);
        target.getHeaderMapping().getMapping().values()
                .forEach(t -> Placeholders.validate(t, TARGET_PLACEHOLDERS));
        for (FilteredTopic filtered : target.getTopics()) {
            require(filtered.getTopic() == Topic.TWIN_EVENTS,
                    "The Ditto stand-in publishes twin events only, not " + filtered + ".");
            require(filtered.getFilter().isEmpty() && filtered.getExtraFields().isEmpty(),
                    "The Ditto stand-in supports ?namespaces= only on target topics.");
        }
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }

    private static ConnectionConfigurationInvalidException invalid(String message,
            DittoHeaders headers) {
        return ConnectionConfigurationInvalidException.newBuilder(message)
                .dittoHeaders(headers).build();
    }
}
