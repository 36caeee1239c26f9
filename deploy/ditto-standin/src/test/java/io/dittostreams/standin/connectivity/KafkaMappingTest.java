package io.dittostreams.standin.connectivity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import io.dittostreams.standin.policy.PolicyStore;
import io.dittostreams.standin.twin.Signals;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.eclipse.ditto.base.model.exceptions.DittoRuntimeException;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.connectivity.model.Connection;
import org.eclipse.ditto.connectivity.model.ConnectionId;
import org.eclipse.ditto.json.JsonFactory;
import org.eclipse.ditto.json.JsonPointer;
import org.eclipse.ditto.json.JsonValue;
import org.eclipse.ditto.policies.model.PoliciesModelFactory;
import org.eclipse.ditto.policies.model.enforcers.Enforcer;
import org.eclipse.ditto.things.model.ThingId;
import org.eclipse.ditto.things.model.signals.commands.ThingCommand;
import org.eclipse.ditto.things.model.signals.events.ThingEvent;
import org.junit.jupiter.api.Test;

class KafkaMappingTest {

    private static final ThingId WELL = ThingId.of("com.acme:well-1");

    private static final Connection CONNECTION = ConnectionValidation.parse(
            ConnectionId.of("sync"), JsonFactory.newObject("""
            {"connectionType": "kafka", "connectionStatus": "closed",
             "uri": "tcp://127.0.0.1:9092",
             "specificConfig": {"bootstrapServers": "127.0.0.1:9092"},
             "sources": [{"addresses": ["commands"], "authorizationContext": ["integration:sync"],
                          "headerMapping": {"kafka-key": "{{ header:kafka.key }}"}}],
             "targets": [{"address": "events/{{ thing:id }}",
                          "topics": ["_/_/things/twin/events?namespaces=com.acme"],
                          "authorizationContext": ["integration:sync"],
                          "headerMapping": {"streams-origin": "{{ header:streams-origin }}",
                                            "action": "{{ topic:action }}"}}]}
            """), DittoHeaders.empty());

    private static final Enforcer ENFORCER = PolicyStore.evaluator(PoliciesModelFactory
            .newPolicy("""
            {"policyId": "com.acme:tenant", "entries": {"SYNC": {
              "subjects": {"integration:sync": {"type": "t"}},
              "resources": {"thing:/": {"grant": ["READ", "WRITE"], "revoke": []}}}}}"""));

    @Test
    void aRecordBecomesACommandOfTheSourceSubjectsFromThisConnection() {
        String envelope = """
                {"topic": "com.acme/well-1/things/twin/commands/modify",
                 "headers": {"correlation-id": "c-1", "streams-origin": "postgres"},
                 "path": "/attributes/status", "value": "producing"}""";
        ConsumerRecord<String, String> record = new ConsumerRecord<>("commands", 0, 7,
                "com.acme:well-1", envelope);

        ThingCommand<?> command = Inbound.command(record.value(),
                Inbound.externalHeaders(record), CONNECTION.getSources().get(0), "sync");

        DittoHeaders headers = command.getDittoHeaders();
        assertEquals(WELL, command.getEntityId());
        assertEquals("sync", headers.getOrigin().orElseThrow());
        assertEquals("integration:sync", headers.getAuthorizationContext()
                .getFirstAuthorizationSubject().orElseThrow().getId());
        assertEquals("com.acme:well-1", headers.get("kafka-key"));
        assertEquals("postgres", headers.get("streams-origin"));
    }

    @Test
    void aRecordThatIsNoEnvelopeIsRefusedWithDittosError() {
        ConsumerRecord<String, String> record = new ConsumerRecord<>("commands", 0, 8, null,
                "{\"wellId\": 42}");

        DittoRuntimeException refused = assertThrows(DittoRuntimeException.class,
                () -> Inbound.command(record.value(), Inbound.externalHeaders(record),
                        CONNECTION.getSources().get(0), "sync"));

        assertEquals("json.field.missing", refused.getErrorCode());
    }

    @Test
    void anEventIsKeyedByThingWithMappedHeadersButNotEchoedToItsOwnConnection() {
        DittoHeaders fromHttp = DittoHeaders.newBuilder().correlationId("c-2")
                .putHeader("streams-origin", "ditto-ui").build();
        ThingEvent<?> event = Signals.event(WELL, "modified", JsonPointer.of("/attributes/a"),
                JsonValue.of(3), 9, Instant.now(), fromHttp);

        ProducerRecord<String, String> record = Outbound.event(CONNECTION.getTargets().get(0),
                "sync", event, ENFORCER).orElseThrow();

        assertEquals("events", record.topic());
        assertEquals("com.acme:well-1", record.key());
        assertEquals("ditto-ui", header(record, "streams-origin"));
        assertEquals("modified", header(record, "action"));
        assertEquals(9, JsonFactory.newObject(record.value()).getValue("revision")
                .orElseThrow().asInt());
        ThingEvent<?> own = (ThingEvent<?>) Signals.withHeaders(event,
                fromHttp.toBuilder().origin("sync").build());
        assertTrue(Outbound.event(CONNECTION.getTargets().get(0), "sync", own, ENFORCER)
                .isEmpty());
    }

    @Test
    void aTargetOutsideTheStandinsScopeIsRefused() {
        DittoRuntimeException refused = assertThrows(DittoRuntimeException.class,
                () -> ConnectionValidation.parse(ConnectionId.of("live"), JsonFactory.newObject("""
                {"connectionType": "kafka", "connectionStatus": "open", "uri": "tcp://h:1",
                 "specificConfig": {"bootstrapServers": "h:1"},
                 "targets": [{"address": "out", "topics": ["_/_/things/live/messages"],
                              "authorizationContext": ["integration:x"]}]}"""),
                        DittoHeaders.empty()));

        assertEquals(400, refused.getHttpStatus().getCode());
    }

    private static String header(ProducerRecord<String, String> record, String name) {
        return new String(record.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }
}
