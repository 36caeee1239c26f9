package io.dittostreams.standin.twin;

import org.eclipse.ditto.base.model.common.HttpStatus;
import org.eclipse.ditto.json.JsonPointer;
import org.eclipse.ditto.json.JsonValue;
import org.eclipse.ditto.things.model.Thing;

/**
 * What one twin command persists: the event it writes (action, path, value), the thing
 * afterwards (null once deleted) and the response it is answered with.
 */
record Change(
        String eventAction,
        JsonPointer path,
        JsonValue eventValue,
        Thing after,
        String responseAction,
        HttpStatus status,
        JsonValue responseValue) {}
