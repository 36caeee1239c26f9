package io.dittostreams.standin.policy;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

import org.eclipse.ditto.policies.model.Policy;
import org.eclipse.ditto.policies.model.PolicyId;
import org.eclipse.ditto.policies.model.enforcers.Enforcer;
import org.eclipse.ditto.policies.model.enforcers.PolicyEnforcers;

/**
 * Policies in memory, each with the enforcer Ditto's policy model builds for it.
 *
 * A policy's revision counts every write and, like a journal's sequence number, goes on
 * counting after a delete and re-create.
 */
public final class PolicyStore {

    private record Stored(Policy policy, Enforcer enforcer) {}

    private final Map<PolicyId, Stored> policies = new HashMap<>();
    private final Map<PolicyId, Long> revisions = new HashMap<>();

    public synchronized Optional<Policy> get(PolicyId id) {
        return Optional.ofNullable(policies.get(id)).map(Stored::policy);
    }

    public synchronized Optional<Enforcer> enforcer(PolicyId id) {
        return Optional.ofNullable(policies.get(id)).map(Stored::enforcer);
    }

    /** Store a new version; returns it with revision, created and modified set. */
    public synchronized Policy put(Policy policy) {
        PolicyId id = policy.getEntityId().orElseThrow();
        long revision = revisions.getOrDefault(id, 0L) + 1;
        Instant now = Instant.now();
        Instant created = get(id).flatMap(Policy::getCreated).orElse(now);
        Policy stored = policy.toBuilder()
                .setRevision(revision)
                .setCreated(created)
                .setModified(now)
                .build();
        revisions.put(id, revision);
        policies.put(id, new Stored(stored, evaluator(stored)));
        return stored;
    }

    public synchronized boolean delete(PolicyId id) {
        if (policies.remove(id) == null) {
            return false;
        }
        revisions.merge(id, 1L, Long::sum);
        return true;
    }

    /** The evaluator Ditto's policy model offers for a policy's entries. */
    public static Enforcer evaluator(Policy policy) {
        return PolicyEnforcers.defaultEvaluator(policy);
    }
}
