package io.dittostreams.standin.twin;

import java.util.HashMap;
import java.util.Map;

import org.eclipse.ditto.things.model.Thing;
import org.eclipse.ditto.things.model.ThingId;

/**
 * The twin state in memory: the current thing and the sequence number of its last event.
 *
 * Ditto's revision is the persistence sequence number of the thing's journal, so it is
 * kept here when a thing is deleted and goes on from there when it is created again.
 */
final class ThingJournal {

    static final class Entry {
        /** The thing, or null while it does not exist (never created, or deleted). */
        Thing thing;
        /** Sequence number of the last persisted event; 0 before the first. */
        long revision;

        boolean exists() {
            return thing != null;
        }
    }

    private final Map<ThingId, Entry> entries = new HashMap<>();

    Entry entry(ThingId id) {
        return entries.computeIfAbsent(id, key -> new Entry());
    }
}
