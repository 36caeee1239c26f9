package io.dittostreams.standin.twin;

import org.eclipse.ditto.base.model.exceptions.DittoRuntimeException;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.json.JsonPointer;
import org.eclipse.ditto.things.model.ThingId;
import org.eclipse.ditto.things.model.signals.commands.exceptions.AttributeNotAccessibleException;
import org.eclipse.ditto.things.model.signals.commands.exceptions.AttributesNotAccessibleException;
import org.eclipse.ditto.things.model.signals.commands.exceptions.*;
import org.eclipse.ditto.things.model.signals.commands.exceptions.FeatureNotAccessibleException;
import org.eclipse.ditto.things.model.signals.commands.exceptions.FeaturesNotAccessibleException;
import org.eclipse.ditto.things.model.signals.commands.exceptions.ThingNotAccessibleException;

/** Ditto's "not accessible" error for a thing resource that does not exist, by its path. */
final class ResourceErrors {

    private ResourceErrors() {}

    static DittoRuntimeException notFound(ThingId id, JsonPointer path, DittoHeaders headers) {
        int level = path.getLevelCount();
        String first = level > 0 ? path.get(0).orElseThrow().toString() : "";
        if ("attributes".equals(first)) {
            return level == 1
                    ? AttributesNotAccessibleException.newBuilder(id).dittoHeaders(headers).build()
                    : AttributeNotAccessibleException.newBuilder(id, path.nextLevel())
                            .dittoHeaders(headers).build();
        }
        if ("definition".equals(first)) {
            return ThingDefinitionNotAccessibleException.newBuilder(id)
                    .dittoHeaders(headers).build();
        }
        if ("features".equals(first)) {
            return featureNotFound(id, path, headers);
        }
        return ThingNotAccessibleException.newBuilder(id).dittoHeaders(headers).build();
    }

    private static DittoRuntimeException featureNotFound(ThingId id, JsonPointer path,
            DittoHeaders headers) {
        int level = path.getLevelCount();
        if (level == 1) {
            return FeaturesNotAccessibleException.newBuilder(id).dittoHeaders(headers).build();
        }
        String feature = path.get(1).orElseThrow().toString();
        String part = level > 2 ? path.get(2).orElseThrow().toString() : "";
        JsonPointer inner = path.getSubPointer(3).orElse(JsonPointer.empty());
        DittoRuntimeException error = switch (part) {
            case "properties" -> level == 3
                    ? FeaturePropertiesNotAccessibleException.newBuilder(id, feature).build()
                    : FeaturePropertyNotAccessibleException.newBuilder(id, feature, inner).build();
            case "desiredProperties" -> level == 3
                    ? FeatureDesiredPropertiesNotAccessibleException.newBuilder(id, feature).build()
                    : FeatureDesiredPropertyNotAccessibleException
                            .newBuilder(id, feature, inner).build();
            case "definition" -> FeatureDefinitionNotAccessibleException
                    .newBuilder(id, feature).build();
            default -> FeatureNotAccessibleException.newBuilder(id, feature).build();
        };
        return error.setDittoHeaders(headers);
    }
}
