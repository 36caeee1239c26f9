package io.dittostreams.standin.connectivity;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import io.dittostreams.standin.twin.Signals;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.eclipse.ditto.base.model.auth.AuthorizationContext;
import org.eclipse.ditto.base.model.json.JsonSchemaVersion;
import org.eclipse.ditto.base.model.signals.Signal;
import org.eclipse.ditto.base.model.signals.WithOptionalEntity;
import org.eclipse.ditto.connectivity.model.FilteredTopic;
import org.eclipse.ditto.connectivity.model.HeaderMapping;
import org.eclipse.ditto.connectivity.model.Target;
import org.eclipse.ditto.json.JsonValue;
import org.eclipse.ditto.policies.model.Permissions;
import org.eclipse.ditto.policies.model.PoliciesResourceType;
import org.eclipse.ditto.policies.model.ResourceKey;
import org.eclipse.ditto.policies.model.enforcers.Enforcer;
import org.eclipse.ditto.protocol.TopicPath;
import org.eclipse.ditto.things.model.ThingId;
import org.eclipse.ditto.things.model.signals.events.ThingEvent;

/**
 * Signals to Kafka records, as Ditto's Kafka publisher with the Ditto payload mapper
 * writes them: the value is the Ditto Protocol JSON, the record headers are content-type
 * and correlation-id plus the target's header mapping, the key is the resolved part of a
 * "topic/key" address (no key part: a null key).
 */
final class Outbound {

    static final String DITTO_PROTOCOL = "application/vnd.eclipse.ditto+json";
    private static final String READ = "READ";

    private Outbound() {}

    /**
     * The record a twin-events target publishes for an event, if any: none for events of
     * the target's own connection, of other namespaces, or that its subjects may not READ.
     */
    static Optional<ProducerRecord<String, String>> event(Target target, String connectionId,
            ThingEvent<?> event, Enforcer enforcer) {
        ThingId id = event.getEntityId();
        if (connectionId.equals(event.getDittoHeaders().getOrigin().orElse(null))
                || !subscribed(target, id)) {
            return Optional.empty();
        }
        return readableEvent(event, enforcer, target.getAuthorizationContext())
                .map(visible -> record(target.getAddress(), target.getHeaderMapping(), visible,
                        id));
    }

    /** The record answering a command on a source's reply target. */
    static ProducerRecord<String, String> reply(String address, HeaderMapping mapping,
            Signal<?> answer, ThingId id) {
        return record(address, mapping, answer, id);
    }

    private static boolean subscribed(Target target, ThingId id) {
        for (FilteredTopic topic : target.getTopics()) {
            if (topic.getNamespaces().isEmpty()
                    || topic.getNamespaces().contains(id.getNamespace())) {
                return true;
            }
        }
        return false;
    }

    /** The event as far as the subjects may READ it: whole, cut down, or not at all. */
    private static Optional<ThingEvent<?>> readableEvent(ThingEvent<?> event,
            Enforcer enforcer, AuthorizationContext subjects) {
        ResourceKey resource = PoliciesResourceType.thingResource(event.getResourcePath());
        if (enforcer.hasUnrestrictedPermissions(resource, subjects, READ)) {
            return Optional.of(event);
        }
        if (!enforcer.hasPartialPermissions(resource, subjects, READ)) {
            return Optional.empty();
        }
        Optional<JsonValue> value = ((WithOptionalEntity<?>) event)
                .getEntity(JsonSchemaVersion.V_2);
        if (value.isEmpty() || !value.get().isObject()) {
            return Optional.empty();
        }
        JsonValue view = enforcer.buildJsonView(resource, value.get().asObject(), subjects,
                Permissions.newInstance(READ));
        return Optional.of((ThingEvent<?>) ((WithOptionalEntity<?>) event).setEntity(view));
    }

    private static ProducerRecord<String, String> record(String address, HeaderMapping mapping,
            Signal<?> signal, ThingId id) {
        TopicPath topicPath = Signals.ADAPTER.toTopicPath(signal);
        Map<String, String> signalHeaders = new LinkedHashMap<>(signal.getDittoHeaders());
        Placeholders placeholders = new Placeholders().headers(signalHeaders).thing(id)
                .topic(topicPath);
        KafkaAddress target = KafkaAddress.parse(address);
        String topic = placeholders.resolve(target.topic()).orElse(target.topic());
        String key = target.keyTemplate() == null ? null
                : placeholders.resolve(target.keyTemplate()).orElse(null);
        String value = Signals.toProtocolJson(signal).toString();
        ProducerRecord<String, String> record = new ProducerRecord<>(topic, key, value);
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("content-type", DITTO_PROTOCOL);
        signal.getDittoHeaders().getCorrelationId().ifPresent(c -> headers.put("correlation-id",
                c));
        mapping.getMapping().forEach((name, template) ->
                placeholders.resolve(template).ifPresent(v -> headers.put(name, v)));
        headers.forEach((name, v) -> record.headers().add(name,
                v.getBytes(StandardCharsets.UTF_8)));
        return record;
    }
}
