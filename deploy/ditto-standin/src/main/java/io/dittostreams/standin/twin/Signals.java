package io.dittostreams.standin.twin;

import java.time.Instant;

import org.eclipse.ditto.base.model.common.HttpStatus;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.base.model.signals.Signal;
import org.eclipse.ditto.base.model.signals.commands.CommandResponse;
import org.eclipse.ditto.json.JsonFactory;
import org.eclipse.ditto.json.JsonObject;
import org.eclipse.ditto.json.JsonParseOptions;
import org.eclipse.ditto.json.JsonPointer;
import org.eclipse.ditto.json.JsonValue;
import org.eclipse.ditto.protocol.Adaptable;
import org.eclipse.ditto.protocol.PayloadBuilder;
import org.eclipse.ditto.protocol.ProtocolFactory;
import org.eclipse.ditto.protocol.TopicPath;
import org.eclipse.ditto.protocol.adapter.DittoProtocolAdapter;
import org.eclipse.ditto.things.model.ThingId;
import org.eclipse.ditto.things.model.signals.commands.ThingCommand;
import org.eclipse.ditto.things.model.signals.events.ThingEvent;

/**
 * Ditto signals built and rendered by Ditto's own protocol adapter.
 *
 * Which command, event or response type belongs to a (topic action, path) pair is the
 * adapter's decision, so the stand-in never maps paths to signal classes itself.
 */
public final class Signals {

    public static final DittoProtocolAdapter ADAPTER = DittoProtocolAdapter.newInstance();

    private Signals() {}

    /** A twin command such as {@code modify /attributes/a} read through the adapter. */
    public static ThingCommand<?> command(ThingId id, String action, JsonPointer path,
            JsonValue value, DittoHeaders headers, String fields) {
        PayloadBuilder payload = ProtocolFactory.newPayloadBuilder(path);
        if (value != null) {
            payload.withValue(value);
        }
        if (fields != null) {
            // Comma-separated like Ditto's "fields" query parameter, already URL-decoded.
            payload.withFields(JsonFactory.newFieldSelector(fields,
                    JsonParseOptions.newBuilder().withoutUrlDecoding().build()));
        }
        return (ThingCommand<?>) fromAdaptable(topic(id, "commands", action), payload, headers);
    }

    /** A persisted twin event; created, modified, merged or deleted. */
    public static ThingEvent<?> event(ThingId id, String action, JsonPointer path,
            JsonValue value, long revision, Instant timestamp, DittoHeaders headers) {
        PayloadBuilder payload = ProtocolFactory.newPayloadBuilder(path)
                .withRevision(revision)
                .withTimestamp(timestamp);
        if (value != null) {
            payload.withValue(value);
        }
        return (ThingEvent<?>) fromAdaptable(topic(id, "events", action), payload, headers);
    }

    /** The response to a twin command with the given topic action. */
    public static CommandResponse<?> response(ThingId id, String action, JsonPointer path,
            HttpStatus status, JsonValue value, DittoHeaders headers) {
        PayloadBuilder payload = ProtocolFactory.newPayloadBuilder(path).withStatus(status);
        if (value != null) {
            payload.withValue(value);
        }
        return (CommandResponse<?>) fromAdaptable(topic(id, "commands", action), payload, headers);
    }

    /** A signal as Ditto Protocol JSON, the text a Kafka record carries. */
    public static JsonObject toProtocolJson(Signal<?> signal) {
        Adaptable adaptable = ADAPTER.toAdaptable(signal);
        return ProtocolFactory.wrapAsJsonifiableAdaptable(adaptable).toJson();
    }

    /** The action of a signal's topic path: modify, created, ... */
    public static String action(Signal<?> signal) {
        return ADAPTER.toTopicPath(signal).getAction().map(Object::toString).orElse("");
    }

    private static Signal<?> fromAdaptable(String topic, PayloadBuilder payload,
            DittoHeaders headers) {
        TopicPath topicPath = ProtocolFactory.newTopicPath(topic);
        Adaptable adaptable = ProtocolFactory.newAdaptableBuilder(topicPath)
                .withPayload(payload.build())
                .withHeaders(headers)
                .build();
        // The adapter keeps only headers a client may send; put the internal ones back.
        return withHeaders(ADAPTER.fromAdaptable(adaptable), headers);
    }

    /** The signal with the given headers laid over the ones the adapter kept. */
    public static Signal<?> withHeaders(Signal<?> signal, DittoHeaders headers) {
        return signal.setDittoHeaders(signal.getDittoHeaders().toBuilder()
                .putHeaders(headers)
                .build());
    }

    private static String topic(ThingId id, String criterion, String action) {
        String namespace = id.getNamespace().isEmpty() ? "_" : id.getNamespace();
        return namespace + "/" + id.getName() + "/things/twin/" + criterion + "/" + action;
    }
}
