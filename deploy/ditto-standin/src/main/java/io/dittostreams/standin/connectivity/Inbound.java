package io.dittostreams.standin.connectivity;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

import io.dittostreams.standin.twin.Signals;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.eclipse.ditto.base.model.auth.AuthorizationContext;
import org.eclipse.ditto.base.model.exceptions.DittoJsonException;
import org.eclipse.ditto.base.model.headers.DittoHeaderDefinition;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.base.model.headers.DittoHeadersBuilder;
import org.eclipse.ditto.base.model.signals.Signal;
import org.eclipse.ditto.base.model.signals.UnsupportedSignalException;
import org.eclipse.ditto.connectivity.model.Source;
import org.eclipse.ditto.json.JsonFactory;
import org.eclipse.ditto.json.JsonObject;
import org.eclipse.ditto.json.JsonParseException;
import org.eclipse.ditto.json.JsonRuntimeException;
import org.eclipse.ditto.protocol.Adaptable;
import org.eclipse.ditto.protocol.JsonifiableAdaptable;
import org.eclipse.ditto.protocol.ProtocolFactory;
import org.eclipse.ditto.protocol.adapter.DittoProtocolAdapter;
import org.eclipse.ditto.things.model.ThingId;
import org.eclipse.ditto.things.model.signals.commands.ThingCommand;

/**
 * A consumed Kafka record to a twin command, as a Ditto Kafka source with the Ditto
 * payload mapper does it: the record must be a Ditto Protocol envelope; the envelope's
 * headers plus the source's header mapping (over the record's headers and the
 * kafka.topic / kafka.key / kafka.timestamp pseudo headers) become the command headers;
 * the source's authorization context and the connection as origin are added.
 */
final class Inbound {

    private Inbound() {}

    /** Headers a header mapping and a reply address may refer to. */
    static Map<String, String> externalHeaders(ConsumerRecord<String, String> record) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (Header header : record.headers()) {
            String value = header.value() == null ? ""
                    : new String(header.value(), StandardCharsets.UTF_8);
            // A repeated key keeps its first value, as Ditto keeps the first.
            headers.putIfAbsent(header.key().toLowerCase(), value);
        }
        headers.put("kafka.topic", record.topic());
        if (record.key() != null) {
            headers.put("kafka.key", record.key());
        }
        headers.put("kafka.timestamp", Long.toString(record.timestamp()));
        return headers;
    }

    /** True when the record carries creation-time and ttl headers and its time is up. */
    static boolean expired(Map<String, String> external, long nowMillis) {
        try {
            long created = Long.parseLong(external.getOrDefault("creation-time", ""));
            long ttl = Long.parseLong(external.getOrDefault("ttl", ""));
            return created + ttl < nowMillis;
        } catch (NumberFormatException noExpiry) {
            return false;
        }
    }

    /**
     * Headers and thing for an answer to a record that did not become a command: the
     * envelope's correlation id and topic when the record is an envelope at all.
     */
    static Fallback fallback(String payload, Map<String, String> external) {
        String correlationId = external.getOrDefault("correlation-id",
                UUID.randomUUID().toString());
        ThingId thing = null;
        try {
            JsonObject json = JsonFactory.newObject(payload);
            correlationId = json.getValue("headers/correlation-id").filter(v -> v.isString())
                    .map(v -> v.asString()).orElse(correlationId);
            String[] topic = json.getValue("topic").map(v -> v.asString()).orElse("")
                    .split("/");
            if (topic.length > 2) {
                thing = ThingId.of("_".equals(topic[0]) ? "" : topic[0], topic[1]);
            }
        } catch (RuntimeException notAnEnvelope) {
            // The answer then names no thing, as Ditto's does for unreadable payloads.
        }
        return new Fallback(DittoHeaders.newBuilder().correlationId(correlationId).build(),
                thing);
    }

    /** What is known of a record that could not be read as a command. */
    record Fallback(DittoHeaders headers, ThingId thing) {}

    static ThingCommand<?> command(String payload, Map<String, String> external,
            Source source, String connectionId) {
        if (payload == null) {
            throw new DittoJsonException(JsonParseException.newBuilder()
                    .message("The Kafka record has no payload (a tombstone is no command).")
                    .build());
        }
        JsonObject json;
        try {
            json = JsonFactory.newObject(payload);
        } catch (JsonRuntimeException e) {
            throw new DittoJsonException(e);
        }
        JsonifiableAdaptable envelope = DittoJsonException.wrapJsonRuntimeException(
                () -> ProtocolFactory.jsonifiableAdaptableFromJson(json));
        DittoHeaders headers = commandHeaders(envelope, external, source, connectionId);
        Adaptable adaptable = ProtocolFactory.newAdaptableBuilder(envelope)
                .withHeaders(headers)
                .build();
        Signal<?> signal = Signals.withHeaders(Signals.ADAPTER.fromAdaptable(adaptable), headers);
        if (!(signal instanceof ThingCommand<?> command) || Signal.isChannelLive(signal)) {
            throw UnsupportedSignalException.newBuilder(signal.getType())
                    .description("The Ditto stand-in's Kafka sources accept twin commands"
                            + " only.")
                    .dittoHeaders(headers).build();
        }
        return command;
    }

    private static DittoHeaders commandHeaders(Adaptable envelope,
            Map<String, String> external, Source source, String connectionId) {
        Map<String, String> given = DittoProtocolAdapter.getHeaderTranslator()
                .fromExternalHeaders(envelope.getDittoHeaders());
        AuthorizationContext subjects = source.getAuthorizationContext();
        String subject = subjects.getFirstAuthorizationSubject()
                .map(s -> s.getId()).orElse("");
        Placeholders placeholders = new Placeholders().headers(external).request(subject);
        Map<String, String> mapped = new LinkedHashMap<>(given);
        source.getHeaderMapping().getMapping().forEach((key, template) ->
                placeholders.resolve(template).ifPresent(v -> mapped.put(key.toLowerCase(), v)));
        DittoHeadersBuilder<?, ?> builder = DittoHeaders.newBuilder(mapped)
                .authorizationContext(subjects)
                .origin(connectionId)
                .putHeader(DittoHeaderDefinition.ORIGINATOR.getKey(), subject);
        if (!mapped.containsKey("correlation-id")) {
            builder.correlationId(UUID.randomUUID().toString());
        }
        return builder.build();
    }
}
