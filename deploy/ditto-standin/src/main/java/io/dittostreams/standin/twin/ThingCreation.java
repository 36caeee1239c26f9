package io.dittostreams.standin.twin;

import io.dittostreams.standin.policy.PolicyStore;

import org.eclipse.ditto.base.model.auth.AuthorizationSubject;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.json.JsonCollectors;
import org.eclipse.ditto.json.JsonField;
import org.eclipse.ditto.json.JsonObject;
import org.eclipse.ditto.policies.model.PoliciesModelFactory;
import org.eclipse.ditto.policies.model.PoliciesResourceType;
import org.eclipse.ditto.policies.model.Policy;
import org.eclipse.ditto.policies.model.PolicyId;
import org.eclipse.ditto.policies.model.Subject;
import org.eclipse.ditto.policies.model.SubjectId;
import org.eclipse.ditto.policies.model.signals.commands.exceptions.PolicyNotAccessibleException;
import org.eclipse.ditto.things.model.Thing;
import org.eclipse.ditto.things.model.ThingId;
import org.eclipse.ditto.things.model.ThingsModelFactory;
import org.eclipse.ditto.things.model.signals.commands.ThingCommand;
import org.eclipse.ditto.things.model.signals.commands.exceptions.ThingNotCreatableException;
import org.eclipse.ditto.things.model.signals.commands.modify.CreateThing;
import org.eclipse.ditto.things.model.signals.commands.modify.MergeThing;
import org.eclipse.ditto.things.model.signals.commands.modify.ModifyThing;

/**
 * Creating a thing as Ditto's things service does: a modify or a merge at "/" of a
 * thing that does not exist becomes a CreateThing, and the new thing's policy is the
 * referenced one (which the creator must be able to READ), an inline or copied one, or
 * an implicit policy named like the thing that gives its creator everything.
 */
final class ThingCreation {

    /** The policy a new thing is governed by, and whether it has to be stored first. */
    record PolicyPlan(Policy policy, boolean isNew) {}

    private ThingCreation() {}

    static ThingCommand<?> modifyToCreate(ThingCommand<?> command, boolean exists) {
        if (exists) {
            return command;
        }
        if (command instanceof ModifyThing modify) {
            Thing thing = modify.getThing().toBuilder().setId(modify.getEntityId()).build();
            return CreateThing.of(thing, modify.getInitialPolicy().orElse(null),
                    modify.getPolicyIdOrPlaceholder().orElse(null), modify.getDittoHeaders());
        }
        if (command instanceof MergeThing merge && merge.getPath().isEmpty()) {
            JsonObject patch = withoutNulls(merge.getValue().asObject());
            Thing thing = ThingsModelFactory.newThingBuilder(patch)
                    .setId(merge.getEntityId())
                    .build();
            return CreateThing.of(thing, merge.getInitialPolicy().orElse(null),
                    merge.getPolicyIdOrPlaceholder().orElse(null), merge.getDittoHeaders());
        }
        return command;
    }

    static PolicyPlan plan(CreateThing create, PolicyStore policies) {
        Thing thing = create.getThing();
        ThingId thingId = create.getEntityId();
        PolicyId ownId = thing.getPolicyId().orElse(PolicyId.of(thingId));
        DittoHeaders headers = create.getDittoHeaders();
        if (create.getPolicyIdOrPlaceholder().isPresent()) {
            PolicyId source = PolicyId.of(create.getPolicyIdOrPlaceholder().get());
            Policy copy = readable(source, policies, headers).toBuilder().setId(ownId).build();
            return fresh(thingId, copy, policies, headers);
        }
        if (create.getInitialPolicy().isPresent()) {
            JsonObject json = create.getInitialPolicy().get()
                    .setValue(Policy.JsonFields.ID.getPointer(), ownId.toString());
            return fresh(thingId, PoliciesModelFactory.newPolicy(json), policies, headers);
        }
        if (thing.getPolicyId().isPresent()) {
            return new PolicyPlan(readable(ownId, policies, headers), false);
        }
        return fresh(thingId, implicitPolicy(ownId, headers), policies, headers);
    }

    /** Ditto reads a referenced policy with the creator's rights: no READ, no policy. */
    private static Policy readable(PolicyId id, PolicyStore policies, DittoHeaders headers) {
        return policies.get(id)
                .filter(p -> PolicyStore.evaluator(p).hasPartialPermissions(
                        PoliciesResourceType.policyResource("/"),
                        headers.getAuthorizationContext(), ThingEnforcement.READ))
                .orElseThrow(() -> PolicyNotAccessibleException.newBuilder(id)
                        .dittoHeaders(headers).build());
    }

    private static PolicyPlan fresh(ThingId thingId, Policy policy, PolicyStore policies,
            DittoHeaders headers) {
        PolicyId id = policy.getEntityId().orElseThrow();
        if (policies.get(id).isPresent()) {
            throw ThingNotCreatableException.newBuilderForPolicyExisting(thingId, id)
                    .dittoHeaders(headers).build();
        }
        return new PolicyPlan(policy, true);
    }

    private static Policy implicitPolicy(PolicyId id, DittoHeaders headers) {
        AuthorizationSubject creator = headers.getAuthorizationContext()
                .getFirstAuthorizationSubject()
                .orElseThrow(() -> ThingNotCreatableException
                        .newBuilderForPolicyMissing(ThingId.of(id), id)
                        .dittoHeaders(headers).build());
        Subject subject = Subject.newInstance(SubjectId.newInstance(creator.getId()));
        String read = ThingEnforcement.READ;
        String write = ThingEnforcement.WRITE;
        return Policy.newBuilder(id)
                .forLabel("DEFAULT")
                .setSubject(subject)
                .setGrantedPermissions(PoliciesResourceType.thingResource("/"), read, write)
                .setGrantedPermissions(PoliciesResourceType.policyResource("/"), read, write)
                .setGrantedPermissions(PoliciesResourceType.messageResource("/"), read, write)
                .build();
    }

    /** A merge that creates a thing drops its null members (Ditto 3.6.4 and later). */
    private static JsonObject withoutNulls(JsonObject object) {
        return object.stream()
                .filter(field -> !field.getValue().isNull())
                .map(field -> field.getValue().isObject()
                        ? JsonField.newInstance(field.getKey(),
                                withoutNulls(field.getValue().asObject()))
                        : field)
                .collect(JsonCollectors.fieldsToObject());
    }
}
