package io.dittostreams.standin.connectivity;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.eclipse.ditto.base.model.exceptions.DittoRuntimeException;
import org.eclipse.ditto.placeholders.ExpressionResolver;
import org.eclipse.ditto.placeholders.PipelineElement;
import org.eclipse.ditto.placeholders.Placeholder;
import org.eclipse.ditto.placeholders.PlaceholderFactory;
import org.eclipse.ditto.placeholders.PlaceholderResolver;
import org.eclipse.ditto.placeholders.TimePlaceholder;
import org.eclipse.ditto.protocol.TopicPath;
import org.eclipse.ditto.protocol.placeholders.TopicPathPlaceholder;
import org.eclipse.ditto.things.model.ThingId;

/**
 * Templates such as "events/{{ thing:id }}" or "{{ header:correlation-id }}", resolved by
 * Ditto's expression resolver (pipelines and "fn:" functions included).
 */
final class Placeholders {

    private final List<PlaceholderResolver<?>> resolvers = new ArrayList<>();

    Placeholders headers(Map<String, String> headers) {
        resolvers.add(PlaceholderFactory.newPlaceholderResolver(
                PlaceholderFactory.newHeadersPlaceholder(), headers));
        return this;
    }

    Placeholders thing(ThingId id) {
        Map<String, String> values = new HashMap<>();
        values.put("id", id.toString());
        values.put("namespace", id.getNamespace());
        values.put("name", id.getName());
        resolvers.add(PlaceholderFactory.newPlaceholderResolver(MapPlaceholder.THING, values));
        resolvers.add(PlaceholderFactory.newPlaceholderResolver(MapPlaceholder.ENTITY, values));
        return this;
    }

    Placeholders topic(TopicPath topic) {
        resolvers.add(PlaceholderFactory.newPlaceholderResolver(
                TopicPathPlaceholder.getInstance(), topic));
        return this;
    }

    Placeholders connection(String id) {
        resolvers.add(PlaceholderFactory.newPlaceholderResolver(MapPlaceholder.CONNECTION,
                Map.of("id", id)));
        return this;
    }

    Placeholders request(String subjectId) {
        resolvers.add(PlaceholderFactory.newPlaceholderResolver(MapPlaceholder.REQUEST,
                Map.of("subjectId", subjectId)));
        resolvers.add(PlaceholderFactory.newPlaceholderResolver(TimePlaceholder.getInstance(),
                new Object()));
        return this;
    }

    /** The resolved text; empty when a placeholder has no value or the pipeline deletes. */
    Optional<String> resolve(String template) {
        ExpressionResolver resolver = PlaceholderFactory.newExpressionResolver(resolvers);
        try {
            PipelineElement element = resolver.resolve(template);
            if (element.getType() != PipelineElement.Type.RESOLVED) {
                return Optional.empty();
            }
            return element.findFirst();
        } catch (DittoRuntimeException unresolvable) {
            return Optional.empty();
        }
    }

    /** Fails like Ditto does at connection creation for unknown placeholders or functions. */
    static void validate(String template, String... prefixes) {
        List<Placeholder<?>> known = new ArrayList<>();
        for (String prefix : prefixes) {
            switch (prefix) {
                case "header" -> known.add(PlaceholderFactory.newHeadersPlaceholder());
                case "thing" -> known.add(MapPlaceholder.THING);
                case "entity" -> known.add(MapPlaceholder.ENTITY);
                case "topic" -> known.add(TopicPathPlaceholder.getInstance());
                case "connection" -> known.add(MapPlaceholder.CONNECTION);
                case "request" -> known.add(MapPlaceholder.REQUEST);
                case "time" -> known.add(TimePlaceholder.getInstance());
                default -> throw new IllegalArgumentException(prefix);
            }
        }
        PlaceholderFactory.newExpressionResolverForValidation(
                known.toArray(Placeholder<?>[]::new))
                .resolve(template);
    }
}
