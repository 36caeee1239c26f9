package io.dittostreams.standin.twin;

import java.util.HashSet;
import java.util.Set;
import java.util.stream.Collectors;

import org.eclipse.ditto.base.model.auth.AuthorizationContext;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.json.JsonFieldSelector;
import org.eclipse.ditto.json.JsonFactory;
import org.eclipse.ditto.json.JsonField;
import org.eclipse.ditto.json.JsonPointer;
import org.eclipse.ditto.json.JsonValue;
import org.eclipse.ditto.policies.model.Permissions;
import org.eclipse.ditto.policies.model.PoliciesResourceType;
import org.eclipse.ditto.policies.model.ResourceKey;
import org.eclipse.ditto.policies.model.enforcers.Enforcer;
import org.eclipse.ditto.rql.model.ParserException;
import org.eclipse.ditto.rql.model.predicates.ast.RootNode;
import org.eclipse.ditto.rql.parser.RqlPredicateParser;
import org.eclipse.ditto.rql.query.things.FieldNamesPredicateVisitor;
import org.eclipse.ditto.things.model.Thing;
import org.eclipse.ditto.things.model.signals.commands.ThingCommand;
import org.eclipse.ditto.things.model.signals.commands.exceptions.*;
import org.eclipse.ditto.things.model.signals.commands.exceptions.ThingConditionFailedException;
import org.eclipse.ditto.things.model.signals.commands.exceptions.ThingConditionInvalidException;
import org.eclipse.ditto.things.model.signals.commands.modify.CreateThing;
import org.eclipse.ditto.things.model.signals.commands.modify.MergeThing;
import org.eclipse.ditto.things.model.signals.commands.modify.ThingModifyCommand;

/**
 * Authorization of twin commands by a thing's policy, following the rules of Ditto's
 * things service: WRITE without any revoke below the path for a modify, WRITE on every
 * leaf of the patch for a merge under partial WRITE, partial READ for a query, READ on
 * every field a {@code condition} header names. The answers come from Ditto's enforcer.
 */
final class ThingEnforcement {

    static final String READ = "READ";
    static final String WRITE = "WRITE";

    /** Fields shown whatever READ allows, as Ditto does for a thing's id. */
    private static final JsonFieldSelector ALWAYS_SHOWN =
            JsonFactory.newFieldSelector(Thing.JsonFields.ID);

    private ThingEnforcement() {}

    static void authorize(Enforcer enforcer, ThingCommand<?> command) {
        ResourceKey resource = PoliciesResourceType.thingResource(command.getResourcePath());
        DittoHeaders headers = command.getDittoHeaders();
        AuthorizationContext subjects = headers.getAuthorizationContext();
        boolean authorized;
        if (command instanceof MergeThing merge) {
            authorized = mergeAuthorized(enforcer, merge, resource, subjects);
        } else if (command instanceof ThingModifyCommand) {
            authorized = enforcer.hasUnrestrictedPermissions(resource, subjects, WRITE);
        } else {
            authorized = enforcer.hasPartialPermissions(resource, subjects, READ);
        }
        if (!(command instanceof CreateThing)) {
            headers.getCondition().ifPresent(c -> conditionReadable(enforcer, c, headers));
        }
        if (!authorized) {
            throw command instanceof ThingModifyCommand
                    ? ThingCommandToModifyExceptionRegistry.getInstance().exceptionFrom(command)
                    : ThingCommandToAccessExceptionRegistry.getInstance().exceptionFrom(command);
        }
    }

    /** The part of a retrieved value the caller may READ. */
    static JsonValue readableView(Enforcer enforcer, JsonPointer path, JsonValue value,
            AuthorizationContext subjects) {
        if (!value.isObject()) {
            return value;
        }
        ResourceKey resource = PoliciesResourceType.thingResource(path);
        return enforcer.buildJsonView(resource, value.asObject(), subjects, ALWAYS_SHOWN,
                Permissions.newInstance(READ));
    }

    private static boolean mergeAuthorized(Enforcer enforcer, MergeThing merge,
            ResourceKey resource, AuthorizationContext subjects) {
        if (enforcer.hasUnrestrictedPermissions(resource, subjects, WRITE)) {
            return true;
        }
        if (!enforcer.hasPartialPermissions(resource, subjects, WRITE)) {
            return false;
        }
        Set<ResourceKey> leaves = leaves(merge.getPath(), merge.getValue());
        return enforcer.hasUnrestrictedPermissions(leaves, subjects, WRITE);
    }

    /** Every path a merge patch writes; a regex-deletion key needs WRITE on its parent. */
    private static Set<ResourceKey> leaves(JsonPointer path, JsonValue value) {
        Set<ResourceKey> result = new HashSet<>();
        if (!value.isObject()) {
            result.add(PoliciesResourceType.thingResource(path));
            return result;
        }
        for (JsonField field : value.asObject()) {
            if (isRegexDeletion(field)) {
                result.add(PoliciesResourceType.thingResource(path));
            } else {
                result.addAll(leaves(path.append(field.getKey().asPointer()), field.getValue()));
            }
        }
        return result;
    }

    private static boolean isRegexDeletion(JsonField field) {
        String key = field.getKeyName();
        if (!key.startsWith("{{") || !key.endsWith("}}") || !field.getValue().isNull()) {
            return false;
        }
        String inner = key.substring(2, key.length() - 2).trim();
        return inner.startsWith("/") && inner.endsWith("/");
    }

    private static void conditionReadable(Enforcer enforcer, String condition,
            DittoHeaders headers) {
        RootNode root;
        try {
            root = RqlPredicateParser.getInstance().parse(condition);
        } catch (ParserException e) {
            throw ThingConditionInvalidException.newBuilder(condition, e.getMessage())
                    .dittoHeaders(headers)
                    .build();
        }
        FieldNamesPredicateVisitor visitor = FieldNamesPredicateVisitor.getNewInstance();
        visitor.visit(root);
        Set<ResourceKey> fields = visitor.getFieldNames().stream()
                .map(PoliciesResourceType::thingResource)
                .collect(Collectors.toSet());
        if (!enforcer.hasUnrestrictedPermissions(fields, headers.getAuthorizationContext(), READ)) {
            throw ThingConditionFailedException.newBuilderForInsufficientPermission(headers)
                    .build();
        }
    }
}
