package io.dittostreams.standin.twin;

import java.time.Instant;

import org.eclipse.ditto.base.model.common.HttpStatus;
import org.eclipse.ditto.base.model.json.FieldType;
import org.eclipse.ditto.base.model.json.JsonSchemaVersion;
import org.eclipse.ditto.base.model.signals.UnsupportedSignalException;
import org.eclipse.ditto.base.model.signals.WithOptionalEntity;
import org.eclipse.ditto.json.JsonMergePatch;
import org.eclipse.ditto.json.JsonObject;
import org.eclipse.ditto.json.JsonPointer;
import org.eclipse.ditto.json.JsonValue;
import org.eclipse.ditto.policies.model.PolicyId;
import org.eclipse.ditto.things.model.Thing;
import org.eclipse.ditto.things.model.ThingBuilder;
import org.eclipse.ditto.things.model.ThingsModelFactory;
import org.eclipse.ditto.things.model.signals.commands.ThingCommand;
import org.eclipse.ditto.things.model.signals.commands.modify.CreateThing;
import org.eclipse.ditto.things.model.signals.commands.modify.DeleteThing;
import org.eclipse.ditto.things.model.signals.commands.modify.MergeThing;
import org.eclipse.ditto.things.model.signals.commands.modify.ModifyThing;

/**
 * The state transitions of twin commands, on the thing's JSON with Ditto's JSON library.
 *
 * Thing-level commands follow Ditto's command strategies (a modify keeps the policy id it
 * does not replace, a merge is RFC 7396 via {@link JsonMergePatch}); a command on a
 * sub-resource sets or removes the JSON at its path, which is what Ditto's per-resource
 * strategies amount to. The event carries the command's value, the resource that did not
 * exist before is "created" (201), one that did is "modified" (204).
 */
final class ThingMutations {

    private static final JsonSchemaVersion V2 = JsonSchemaVersion.V_2;
    private static final JsonPointer ROOT = JsonPointer.empty();

    private ThingMutations() {}

    static Change apply(ThingCommand<?> command, Thing before, long revision, Instant now) {
        if (command instanceof CreateThing create) {
            return create(create, revision, now);
        }
        if (command instanceof ModifyThing modify) {
            return modifyThing(modify, before, revision, now);
        }
        if (command instanceof MergeThing merge) {
            return merge(merge, before, revision, now);
        }
        if (command instanceof DeleteThing) {
            return new Change("deleted", ROOT, null, null, "delete", HttpStatus.NO_CONTENT, null);
        }
        return switch (command.getCategory()) {
            case MODIFY -> modifyAt(command, before, revision, now);
            case DELETE -> deleteAt(command, before, revision, now);
            default -> throw UnsupportedSignalException.newBuilder(command.getType())
                    .dittoHeaders(command.getDittoHeaders())
                    .build();
        };
    }

    static JsonObject json(Thing thing) {
        return thing.toJson(V2, FieldType.notHidden());
    }

    private static Change create(CreateThing create, long revision, Instant now) {
        Thing thing = create.getThing().toBuilder()
                .setId(create.getEntityId())
                .setRevision(revision)
                .setCreated(now)
                .setModified(now)
                .build();
        if (thing.getPolicyId().isEmpty()) {
            thing = thing.setPolicyId(PolicyId.of(create.getEntityId()));
        }
        return new Change("created", ROOT, json(thing), thing, "create", HttpStatus.CREATED,
                json(thing));
    }

    private static Change modifyThing(ModifyThing modify, Thing before, long revision,
            Instant now) {
        Thing given = modify.getThing();
        ThingBuilder.FromCopy builder = before.toBuilder()
                .setModified(now)
                .setRevision(revision)
                .removeAllAttributes()
                .removeAllFeatures()
                .removeDefinition();
        given.getPolicyId().ifPresent(builder::setPolicyId);
        given.getDefinition().ifPresent(builder::setDefinition);
        given.getAttributes().ifPresent(builder::setAttributes);
        given.getFeatures().ifPresent(builder::setFeatures);
        Thing after = builder.build();
        return new Change("modified", ROOT, json(after), after, "modify",
                HttpStatus.NO_CONTENT, null);
    }

    private static Change merge(MergeThing merge, Thing before, long revision, Instant now) {
        JsonPointer path = merge.getPath();
        JsonValue patch = merge.getValue();
        JsonObject merged = JsonMergePatch.of(path, patch)
                .applyOn(before.toJson(V2, FieldType.all()))
                .asObject();
        Thing after = ThingsModelFactory.newThingBuilder(merged)
                .setRevision(revision)
                .setModified(now)
                .build();
        return new Change("merged", path, patch, after, "merge", HttpStatus.NO_CONTENT, null);
    }

    private static Change modifyAt(ThingCommand<?> command, Thing before, long revision,
            Instant now) {
        JsonPointer path = command.getResourcePath();
        JsonValue value = ((WithOptionalEntity<?>) command).getEntity(V2).orElseThrow();
        JsonObject current = before.toJson(V2, FieldType.all());
        requireFeature(command, current);
        boolean existed = current.getValue(path).isPresent();
        Thing after = rebuild(current.setValue(path, value), revision, now);
        boolean created = !existed && !"/policyId".equals(path.toString());
        return created
                ? new Change("created", path, value, after, "modify", HttpStatus.CREATED, value)
                : new Change("modified", path, value, after, "modify", HttpStatus.NO_CONTENT,
                        null);
    }

    private static Change deleteAt(ThingCommand<?> command, Thing before, long revision,
            Instant now) {
        JsonPointer path = command.getResourcePath();
        JsonObject current = before.toJson(V2, FieldType.all());
        requireFeature(command, current);
        if (current.getValue(path).isEmpty()) {
            throw ResourceErrors.notFound(command.getEntityId(), path, command.getDittoHeaders());
        }
        Thing after = rebuild(current.remove(path), revision, now);
        return new Change("deleted", path, null, after, "delete", HttpStatus.NO_CONTENT, null);
    }

    /** A command below a feature needs the feature itself, as in Ditto. */
    static void requireFeature(ThingCommand<?> command, JsonObject current) {
        JsonPointer path = command.getResourcePath();
        if (path.getLevelCount() < 3 || !"features".equals(path.get(0).orElseThrow().toString())) {
            return;
        }
        JsonPointer feature = path.getPrefixPointer(2).orElseThrow();
        if (current.getValue(feature).isEmpty()) {
            throw ResourceErrors.notFound(command.getEntityId(), feature,
                    command.getDittoHeaders());
        }
    }

    private static Thing rebuild(JsonObject json, long revision, Instant now) {
        return ThingsModelFactory.newThingBuilder(json)
                .setRevision(revision)
                .setModified(now)
                .build();
    }
}
