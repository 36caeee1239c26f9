package io.dittostreams.standin.twin;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import io.dittostreams.standin.policy.PolicyStore;

import org.eclipse.ditto.base.model.headers.DittoHeaderDefinition;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.base.model.headers.DittoHeadersBuilder;
import org.eclipse.ditto.base.model.headers.entitytag.EntityTag;
import org.eclipse.ditto.base.model.signals.commands.Command;
import org.eclipse.ditto.base.model.signals.commands.CommandResponse;
import org.eclipse.ditto.json.JsonPointer;
import org.eclipse.ditto.policies.model.PolicyId;
import org.eclipse.ditto.policies.model.enforcers.Enforcer;
import org.eclipse.ditto.policies.model.signals.commands.exceptions.PolicyNotAccessibleException;
import org.eclipse.ditto.things.model.Thing;
import org.eclipse.ditto.things.model.ThingId;
import org.eclipse.ditto.things.model.signals.commands.ThingCommand;
import org.eclipse.ditto.things.model.signals.commands.exceptions.ThingConflictException;
import org.eclipse.ditto.things.model.signals.commands.exceptions.ThingNotAccessibleException;
import org.eclipse.ditto.things.model.signals.commands.exceptions.ThingNotModifiableException;
import org.eclipse.ditto.things.model.signals.commands.modify.CreateThing;
import org.eclipse.ditto.things.model.signals.commands.modify.ThingModifyCommand;
import org.eclipse.ditto.things.model.signals.events.ThingEvent;

/**
 * The twin side of the stand-in: applies twin commands under enforcement, persists the
 * events in memory and tells listeners, and answers each command with Ditto's response.
 *
 * Commands run one at a time (one lock for all things), so a thing's events reach the
 * listeners in revision order, the order Ditto guarantees per thing.
 */
public final class TwinService {

    private final ThingJournal journal = new ThingJournal();
    private final PolicyStore policies;
    private final List<EventListener> listeners = new CopyOnWriteArrayList<>();

    public TwinService(PolicyStore policies) {
        this.policies = policies;
    }

    public void addListener(EventListener listener) {
        listeners.add(listener);
    }

    public void removeListener(EventListener listener) {
        listeners.remove(listener);
    }

    /** Apply a twin command; a refusal is thrown as Ditto's DittoRuntimeException. */
    public synchronized CommandResponse<?> handle(ThingCommand<?> command) {
        ThingJournal.Entry entry = journal.entry(command.getEntityId());
        ThingCommand<?> effective = ThingCreation.modifyToCreate(command, entry.exists());
        if (effective instanceof CreateThing create) {
            return create(create, entry);
        }
        if (!entry.exists()) {
            throw ThingNotAccessibleException.newBuilder(command.getEntityId())
                    .dittoHeaders(command.getDittoHeaders()).build();
        }
        Enforcer enforcer = enforcerOf(entry.thing, effective);
        ThingEnforcement.authorize(enforcer, effective);
        Preconditions.checkCondition(effective, entry.thing);
        Preconditions.checkEntityTags(effective, currentTag(effective, entry.thing));
        if (effective.getCategory() == Command.Category.QUERY) {
            return ThingQueries.answer(effective, entry.thing, enforcer, entry.revision);
        }
        Instant now = Instant.now();
        Change change = ThingMutations.apply(effective, entry.thing, entry.revision + 1, now);
        Preconditions.checkIfEqual(effective, entry.thing, change.after());
        Enforcer after = enforcerAfter(change.after(), entry.thing, enforcer, effective);
        return persist(effective, entry, change, after, now);
    }

    public synchronized Optional<Thing> thing(ThingId id) {
        return Optional.ofNullable(journal.entry(id).thing);
    }

    private CommandResponse<?> create(CreateThing create, ThingJournal.Entry entry) {
        if (entry.exists()) {
            throw ThingConflictException.newBuilder(create.getEntityId())
                    .dittoHeaders(create.getDittoHeaders()).build();
        }
        ThingCreation.PolicyPlan plan = ThingCreation.plan(create, policies);
        Enforcer enforcer = PolicyStore.evaluator(plan.policy());
        ThingEnforcement.authorize(enforcer, create);
        Preconditions.checkEntityTags(create, null);
        Instant now = Instant.now();
        Change change = ThingMutations.apply(create, null, entry.revision + 1, now);
        if (plan.isNew()) {
            policies.put(plan.policy());
        }
        return persist(create, entry, change, enforcer, now);
    }

    /** Write the event, advance the revision, tell the listeners, build the response. */
    private CommandResponse<?> persist(ThingCommand<?> command, ThingJournal.Entry entry,
            Change change, Enforcer enforcer, Instant now) {
        long revision = entry.revision + 1;
        ThingId id = command.getEntityId();
        DittoHeaders headers = command.getDittoHeaders();
        ThingEvent<?> event = Signals.event(id, change.eventAction(), change.path(),
                change.eventValue(), revision, now, headers);
        entry.thing = change.after();
        entry.revision = revision;
        for (EventListener listener : listeners) {
            listener.onEvent(event, enforcer);
        }
        DittoHeadersBuilder<?, ?> answer = headers.toBuilder()
                .putHeader(DittoHeaderDefinition.ENTITY_REVISION.getKey(), Long.toString(revision));
        nextTag(change).ifPresent(answer::eTag);
        return Signals.response(id, change.responseAction(), change.path(), change.status(),
                change.responseValue(), answer.build());
    }

    private Enforcer enforcerOf(Thing thing, ThingCommand<?> command) {
        PolicyId policyId = thing.getPolicyId().orElseThrow();
        Optional<Enforcer> enforcer = policies.enforcer(policyId);
        if (enforcer.isPresent()) {
            return enforcer.get();
        }
        String message = String.format("The Thing with ID '%s' could not be accessed as its"
                + " Policy with ID '%s' is not or no longer existing.", command.getEntityId(),
                policyId);
        String description = String.format("Recreate/create the Policy with ID '%s' in order"
                + " to get access to the Thing again.", policyId);
        throw command instanceof ThingModifyCommand
                ? ThingNotModifiableException.newBuilder(command.getEntityId()).message(message)
                        .description(description).dittoHeaders(command.getDittoHeaders()).build()
                : ThingNotAccessibleException.newBuilder(command.getEntityId()).message(message)
                        .description(description).dittoHeaders(command.getDittoHeaders()).build();
    }

    /** A write that points the thing at another policy needs that policy to exist. */
    private Enforcer enforcerAfter(Thing after, Thing before, Enforcer current,
            ThingCommand<?> command) {
        if (after == null || after.getPolicyId().equals(before.getPolicyId())) {
            return current;
        }
        PolicyId policyId = after.getPolicyId().orElseThrow();
        return policies.enforcer(policyId).orElseThrow(() -> PolicyNotAccessibleException
                .newBuilder(policyId).dittoHeaders(command.getDittoHeaders()).build());
    }

    /** The entity tag of the addressed resource: "rev:N" for the thing, a hash below it. */
    static EntityTag currentTag(ThingCommand<?> command, Thing thing) {
        if (thing == null) {
            return null;
        }
        JsonPointer path = command.getResourcePath();
        if (path.isEmpty()) {
            return EntityTag.fromEntity(thing).orElse(null);
        }
        return ThingMutations.json(thing).getValue(path)
                .flatMap(EntityTag::fromEntity)
                .orElse(null);
    }

    private static Optional<EntityTag> nextTag(Change change) {
        if (change.after() == null) {
            return Optional.empty();
        }
        if (change.path().isEmpty()) {
            return EntityTag.fromEntity(change.after());
        }
        return ThingMutations.json(change.after()).getValue(change.path())
                .flatMap(EntityTag::fromEntity);
    }
}
