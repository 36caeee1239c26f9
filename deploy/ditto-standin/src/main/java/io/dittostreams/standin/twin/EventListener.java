package io.dittostreams.standin.twin;

import org.eclipse.ditto.policies.model.enforcers.Enforcer;
import org.eclipse.ditto.things.model.signals.events.ThingEvent;

/** Told of every persisted twin event, in revision order, with the thing's enforcer. */
@FunctionalInterface
public interface EventListener {

    /** Must not block: it runs while the twin store holds its lock. */
    void onEvent(ThingEvent<?> event, Enforcer enforcer);
}
