package io.dittostreams.standin.twin;

import org.eclipse.ditto.base.model.common.HttpStatus;
import org.eclipse.ditto.base.model.headers.DittoHeaderDefinition;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.base.model.headers.DittoHeadersBuilder;
import org.eclipse.ditto.base.model.headers.entitytag.EntityTag;
import org.eclipse.ditto.base.model.json.JsonSchemaVersion;
import org.eclipse.ditto.base.model.signals.commands.CommandResponse;
import org.eclipse.ditto.json.JsonFieldSelector;
import org.eclipse.ditto.json.JsonPointer;
import org.eclipse.ditto.json.JsonValue;
import org.eclipse.ditto.policies.model.enforcers.Enforcer;
import org.eclipse.ditto.things.model.Thing;
import org.eclipse.ditto.things.model.ThingsModelFactory;
import org.eclipse.ditto.things.model.signals.commands.ThingCommand;
import org.eclipse.ditto.things.model.signals.commands.query.RetrieveThing;

/**
 * Retrieve commands: the value at the command's path, cut down to what the caller may
 * READ by Ditto's enforcer; a thing retrieve honours the field selector the way Ditto's
 * RetrieveThingStrategy does (feature id wildcards expanded, "_revision" etc. on request).
 */
final class ThingQueries {

    private ThingQueries() {}

    static CommandResponse<?> answer(ThingCommand<?> command, Thing thing, Enforcer enforcer,
            long revision) {
        JsonPointer path = command.getResourcePath();
        DittoHeaders headers = command.getDittoHeaders();
        JsonValue value;
        if (command instanceof RetrieveThing retrieve) {
            value = retrieve.getSelectedFields()
                    .map(fields -> selected(thing, fields))
                    .orElseGet(() -> ThingMutations.json(thing));
        } else {
            ThingMutations.requireFeature(command, ThingMutations.json(thing));
            value = ThingMutations.json(thing).getValue(path).orElseThrow(
                    () -> ResourceErrors.notFound(command.getEntityId(), path, headers));
        }
        JsonValue view = ThingEnforcement.readableView(enforcer, path, value,
                headers.getAuthorizationContext());
        DittoHeadersBuilder<?, ?> answer = headers.toBuilder()
                .putHeader(DittoHeaderDefinition.ENTITY_REVISION.getKey(), Long.toString(revision));
        EntityTag tag = TwinService.currentTag(command, thing);
        if (tag != null) {
            answer.eTag(tag);
        }
        return Signals.response(command.getEntityId(), "retrieve", path, HttpStatus.OK, view,
                answer.build());
    }

    private static JsonValue selected(Thing thing, JsonFieldSelector fields) {
        JsonFieldSelector expanded = ThingsModelFactory.expandFeatureIdWildcards(
                thing.getFeatures().orElse(ThingsModelFactory.emptyFeatures()), fields);
        return thing.toJson(JsonSchemaVersion.V_2, expanded);
    }
}
