package io.dittostreams.standin.connectivity;

import java.util.List;
import java.util.Map;

import org.eclipse.ditto.placeholders.Placeholder;

/**
 * A placeholder such as {@code thing:id} or {@code connection:id} whose values are given
 * as a map. Ditto's own thing and connection placeholders sit in its service jars, which
 * the stand-in does not have; the expression language around them is Ditto's.
 */
final class MapPlaceholder implements Placeholder<Map<String, String>> {

    private final String prefix;
    private final List<String> names;

    MapPlaceholder(String prefix, List<String> names) {
        this.prefix = prefix;
        this.names = List.copyOf(names);
    }

    static final MapPlaceholder THING = new MapPlaceholder("thing",
            List.of("id", "namespace", "name"));
    static final MapPlaceholder ENTITY = new MapPlaceholder("entity",
            List.of("id", "namespace", "name"));
    static final MapPlaceholder CONNECTION = new MapPlaceholder("connection", List.of("id"));
    static final MapPlaceholder REQUEST = new MapPlaceholder("request", List.of("subjectId"));

    @Override
    public String getPrefix() {
        return prefix;
    }

    @Override
    public List<String> getSupportedNames() {
        return names;
    }

    @Override
    public boolean supports(String name) {
        return names.contains(name);
    }

    @Override
    public List<String> resolveValues(Map<String, String> values, String name) {
        String value = values.get(name);
        return value == null ? List.of() : List.of(value);
    }
}
