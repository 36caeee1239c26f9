package io.dittostreams.standin.twin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import io.dittostreams.standin.policy.PolicyStore;

import org.eclipse.ditto.base.model.auth.AuthorizationModelFactory;
import org.eclipse.ditto.base.model.auth.DittoAuthorizationContextType;
import org.eclipse.ditto.base.model.exceptions.DittoRuntimeException;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.base.model.signals.commands.CommandResponse;
import org.eclipse.ditto.json.JsonFactory;
import org.eclipse.ditto.json.JsonObject;
import org.eclipse.ditto.json.JsonPointer;
import org.eclipse.ditto.json.JsonValue;
import org.eclipse.ditto.policies.model.PoliciesModelFactory;
import org.eclipse.ditto.things.model.ThingId;
import org.eclipse.ditto.things.model.signals.events.ThingEvent;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TwinServiceTest {

    private static final ThingId WELL = ThingId.of("com.acme:well-1");
    private static final String POLICY = "com.acme:tenant";

    private final PolicyStore policies = new PolicyStore();
    private final TwinService twins = new TwinService(policies);
    private final List<ThingEvent<?>> events = new ArrayList<>();

    @BeforeEach
    void policyForTwoSubjects() {
        policies.put(PoliciesModelFactory.newPolicy(JsonFactory.newObject("""
                {"policyId": "com.acme:tenant", "entries": {
                  "SYNC": {"subjects": {"integration:sync": {"type": "t"}},
                           "resources": {"thing:/": {"grant": ["READ", "WRITE"], "revoke": []},
                                         "policy:/": {"grant": ["READ"], "revoke": []}}},
                  "VIEW": {"subjects": {"integration:view": {"type": "t"}},
                           "resources": {"thing:/": {"grant": ["READ"], "revoke": []},
                               "thing:/attributes/secret": {"grant": [], "revoke": ["READ"]}}}
                }}""")));
        twins.addListener((event, enforcer) -> events.add(event));
    }

    @Test
    void modifyOfAMissingThingCreatesItAtRevisionOne() {
        CommandResponse<?> response = send("integration:sync", "modify", "/",
                thing("{\"attributes\": {\"a\": 1}}"));

        assertEquals(201, response.getHttpStatus().getCode());
        assertEquals("created", Signals.action(events.get(0)));
        assertEquals(1L, events.get(0).getRevision());
        assertEquals("\"rev:1\"", response.getDittoHeaders().getETag().orElseThrow().toString());
    }

    @Test
    void everyPersistedChangeAddsOneAndADeleteDoesNotResetTheCount() {
        send("integration:sync", "modify", "/", thing("{}"));
        send("integration:sync", "modify", "/attributes/a", JsonValue.of(1));
        send("integration:sync", "modify", "/attributes/a", JsonValue.of(1));
        send("integration:sync", "delete", "/", null);
        send("integration:sync", "modify", "/", thing("{}"));

        assertEquals(List.of(1L, 2L, 3L, 4L, 5L),
                events.stream().map(ThingEvent::getRevision).toList());
        assertEquals(List.of("created", "created", "modified", "deleted", "created"),
                events.stream().map(Signals::action).toList());
    }

    @Test
    void aMergeThatCreatesDropsNullsAndALaterMergeCarriesThePatch() {
        send("integration:sync", "merge", "/",
                thing("{\"attributes\": {\"a\": 1, \"gone\": null}}"));
        send("integration:sync", "merge", "/attributes",
                JsonFactory.newObject("{\"a\": null, \"b\": 2}"));

        JsonObject first = Signals.toProtocolJson(events.get(0));
        assertEquals("{\"a\":1}", first.getValue("value/attributes").orElseThrow().toString());
        JsonObject second = Signals.toProtocolJson(events.get(1));
        assertEquals("com.acme/well-1/things/twin/events/merged",
                second.getValue("topic").orElseThrow().asString());
        assertEquals("{\"a\":null,\"b\":2}", second.getValue("value").orElseThrow().toString());
        assertEquals(2, second.getValue("revision").orElseThrow().asInt());
        assertEquals("{\"b\":2}", twins.thing(WELL).orElseThrow().getAttributes()
                .orElseThrow().toString());
    }

    @Test
    void aSubjectWithoutWriteIsRefusedWith403AndNothingIsPersisted() {
        send("integration:sync", "modify", "/", thing("{}"));

        DittoRuntimeException refused = assertThrows(DittoRuntimeException.class,
                () -> send("integration:view", "modify", "/attributes/a", JsonValue.of(1)));

        assertEquals(403, refused.getHttpStatus().getCode());
        assertEquals(1, events.size());
    }

    @Test
    void aRetrieveShowsOnlyWhatTheSubjectMayRead() {
        send("integration:sync", "modify", "/",
                thing("{\"attributes\": {\"open\": 1, \"secret\": 2}}"));

        CommandResponse<?> response = send("integration:view", "retrieve", "/attributes", null);

        JsonObject json = Signals.toProtocolJson(response);
        assertEquals("{\"open\":1}", json.getValue("value").orElseThrow().toString());
    }

    @Test
    void ifEqualSkipAnswers412AndWritesNoEvent() {
        send("integration:sync", "modify", "/", thing("{\"attributes\": {\"a\": 1}}"));
        DittoHeaders skip = headers("integration:sync").toBuilder()
                .putHeader("if-equal", "skip").build();

        DittoRuntimeException skipped = assertThrows(DittoRuntimeException.class,
                () -> twins.handle(Signals.command(WELL, "modify", JsonPointer.of("/attributes/a"),
                        JsonValue.of(1), skip, null)));

        assertEquals(412, skipped.getHttpStatus().getCode());
        assertEquals(1, events.size());
    }

    @Test
    void aCreateReferencingAnUnreadablePolicyIsRefusedLikeDitto() {
        DittoRuntimeException refused = assertThrows(DittoRuntimeException.class,
                () -> send("integration:other", "modify", "/", thing("{}")));

        assertEquals("policies:policy.notfound", refused.getErrorCode());
        assertFalse(twins.thing(WELL).isPresent());
        assertTrue(events.isEmpty());
    }

    private CommandResponse<?> send(String subject, String action, String path,
            JsonValue value) {
        return twins.handle(Signals.command(WELL, action, JsonPointer.of(path), value,
                headers(subject), null));
    }

    private static JsonObject thing(String json) {
        return JsonFactory.newObject(json).setValue("policyId", POLICY);
    }

    static DittoHeaders headers(String subject) {
        DittoHeaders headers = DittoHeaders.newBuilder()
                .correlationId("test")
                .contentType("application/merge-patch+json")
                .authorizationContext(AuthorizationModelFactory.newAuthContext(
                        DittoAuthorizationContextType.PRE_AUTHENTICATED_CONNECTION,
                        AuthorizationModelFactory.newAuthSubject(subject)))
                .build();
        return headers;
    }
}
