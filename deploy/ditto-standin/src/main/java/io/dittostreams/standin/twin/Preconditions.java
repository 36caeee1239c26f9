package io.dittostreams.standin.twin;

import java.util.Optional;
import java.util.function.Predicate;

import org.eclipse.ditto.base.model.headers.DittoHeaderDefinition;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.base.model.headers.IfEqual;
import org.eclipse.ditto.base.model.headers.entitytag.EntityTag;
import org.eclipse.ditto.base.model.headers.entitytag.EntityTagMatchers;
import org.eclipse.ditto.base.model.json.FieldType;
import org.eclipse.ditto.base.model.signals.commands.Command;
import org.eclipse.ditto.json.JsonValue;
import org.eclipse.ditto.placeholders.PlaceholderFactory;
import org.eclipse.ditto.placeholders.TimePlaceholder;
import org.eclipse.ditto.rql.parser.RqlPredicateParser;
import org.eclipse.ditto.rql.query.criteria.Criteria;
import org.eclipse.ditto.rql.query.filter.QueryFilterCriteriaFactory;
import org.eclipse.ditto.rql.query.things.ThingPredicateVisitor;
import org.eclipse.ditto.things.model.Thing;
import org.eclipse.ditto.things.model.signals.commands.ThingCommand;
import org.eclipse.ditto.things.model.signals.commands.exceptions.ThingConditionFailedException;
import org.eclipse.ditto.things.model.signals.commands.exceptions.ThingPreconditionFailedException;
import org.eclipse.ditto.things.model.signals.commands.exceptions.*;
import org.eclipse.ditto.things.model.signals.commands.modify.CreateThing;

/**
 * The {@code condition}, {@code If-Match}, {@code If-None-Match} and {@code if-equal}
 * checks of Ditto's things service, in Ditto's order; the RQL condition is parsed and
 * evaluated by Ditto's RQL libraries.
 */
final class Preconditions {

    private Preconditions() {}

    /** Fails with 412 when the RQL {@code condition} header does not hold on the twin. */
    static void checkCondition(ThingCommand<?> command, Thing thing) {
        DittoHeaders headers = command.getDittoHeaders();
        Optional<String> condition = headers.getCondition();
        if (condition.isEmpty() || command instanceof CreateThing || thing == null) {
            return;
        }
        Criteria criteria = QueryFilterCriteriaFactory
                .modelBased(RqlPredicateParser.getInstance())
                .filterCriteria(condition.get(), headers);
        Predicate<Thing> predicate = ThingPredicateVisitor.apply(criteria,
                PlaceholderFactory.newPlaceholderResolver(TimePlaceholder.getInstance(),
                        new Object()));
        if (!predicate.test(thing)) {
            throw ThingConditionFailedException.newBuilder(headers).build();
        }
    }

    /** If-Match and If-None-Match against the entity tag of the addressed resource. */
    static void checkEntityTags(ThingCommand<?> command, EntityTag current) {
        Command.Category category = command.getCategory();
        if (current == null && (category == Command.Category.DELETE
                || category == Command.Category.QUERY)) {
            return;
        }
        DittoHeaders headers = command.getDittoHeaders();
        Optional<EntityTagMatchers> ifMatch = headers.getIfMatch();
        if (ifMatch.isPresent() && (current == null
                || ifMatch.get().stream().noneMatch(m -> m.strongMatch(current)))) {
            throw failed(DittoHeaderDefinition.IF_MATCH.getKey(), ifMatch.get(), current,
                    headers);
        }
        Optional<EntityTagMatchers> ifNoneMatch = headers.getIfNoneMatch();
        if (ifNoneMatch.isPresent() && current != null
                && ifNoneMatch.get().stream().anyMatch(m -> m.weakMatch(current))) {
            if (category == Command.Category.QUERY) {
                throw ThingPreconditionNotModifiedException
                        .newBuilder(ifNoneMatch.get().toString(), current.toString())
                        .dittoHeaders(headers.toBuilder().eTag(current).build())
                        .build();
            }
            throw failed(DittoHeaderDefinition.IF_NONE_MATCH.getKey(), ifNoneMatch.get(),
                    current, headers);
        }
    }

    /**
     * {@code if-equal: skip}: a modify or merge that would leave the twin as it is answers
     * 412 and persists nothing. Compared on the whole resulting state (regular fields).
     */
    static void checkIfEqual(ThingCommand<?> command, Thing before, Thing after) {
        Optional<IfEqual> ifEqual = command.getDittoHeaders().getIfEqual();
        Command.Category category = command.getCategory();
        boolean skip = ifEqual.filter(v -> v != IfEqual.UPDATE).isPresent();
        boolean writes = category == Command.Category.MODIFY
                || category == Command.Category.MERGE;
        if (!skip || !writes || before == null || after == null) {
            return;
        }
        JsonValue old = before.toJson(before.getImplementedSchemaVersion(), FieldType.notHidden());
        JsonValue now = after.toJson(after.getImplementedSchemaVersion(), FieldType.notHidden());
        if (old.equals(now)) {
            throw ThingPreconditionFailedException.newBuilder()
                    .message("The previous value was equal to the new value and the 'if-equal'"
                            + " header was set to 'skip'.")
                    .description("Your changes were not applied, which is probably the"
                            + " expected outcome.")
                    .dittoHeaders(command.getDittoHeaders())
                    .build();
        }
    }

    private static ThingPreconditionFailedException failed(String header,
            EntityTagMatchers expected, EntityTag current, DittoHeaders headers) {
        DittoHeaders withTag = current == null ? headers
                : headers.toBuilder().eTag(current).build();
        return ThingPreconditionFailedException
                .newBuilder(header, expected.toString(), String.valueOf(current))
                .dittoHeaders(withTag)
                .build();
    }
}
