package io.dittostreams.standin.policy;

import java.util.Optional;

import org.eclipse.ditto.base.model.auth.AuthorizationContext;
import org.eclipse.ditto.base.model.exceptions.DittoJsonException;
import org.eclipse.ditto.base.model.exceptions.DittoRuntimeException;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.json.JsonFactory;
import org.eclipse.ditto.json.JsonObject;
import org.eclipse.ditto.policies.model.Permissions;
import org.eclipse.ditto.policies.model.PoliciesModelFactory;
import org.eclipse.ditto.policies.model.PoliciesResourceType;
import org.eclipse.ditto.policies.model.Policy;
import org.eclipse.ditto.policies.model.PolicyId;
import org.eclipse.ditto.policies.model.ResourceKey;
import org.eclipse.ditto.policies.model.enforcers.Enforcer;
import org.eclipse.ditto.policies.model.signals.commands.PolicyCommand;
import org.eclipse.ditto.policies.model.signals.commands.exceptions.*;
import org.eclipse.ditto.policies.model.signals.commands.exceptions.PolicyNotAccessibleException;
import org.eclipse.ditto.policies.model.signals.commands.modify.CreatePolicy;
import org.eclipse.ditto.policies.model.signals.commands.modify.DeletePolicy;
import org.eclipse.ditto.policies.model.signals.commands.modify.ModifyPolicy;
import org.eclipse.ditto.policies.model.signals.commands.query.RetrievePolicy;

/**
 * Whole-policy create, replace, retrieve and delete with the checks of Ditto's policies
 * service: WRITE on "policy:/" to change or delete, partial READ to retrieve (the answer
 * cut down to what may be read), and no write that locks its author out unless
 * {@code allow-policy-lockout} is set. Errors come from Ditto's exception registries.
 */
public final class PolicyService {

    private static final ResourceKey ROOT = PoliciesResourceType.policyResource("/");
    private static final String READ = "READ";
    private static final String WRITE = "WRITE";

    private final PolicyStore store;

    public PolicyService(PolicyStore store) {
        this.store = store;
    }

    /** Result of a put: the stored policy and whether it was created (201) or replaced. */
    public record Put(Policy policy, boolean created) {}

    public synchronized Put put(PolicyId id, JsonObject body, DittoHeaders headers) {
        Optional<String> given = body.getValue(Policy.JsonFields.ID);
        if (given.isPresent() && !given.get().equals(id.toString())) {
            throw PolicyIdNotExplicitlySettableException.newBuilder()
                    .dittoHeaders(headers).build();
        }
        Policy policy = DittoJsonException.wrapJsonRuntimeException(() -> PoliciesModelFactory
                .newPolicy(body.setValue(Policy.JsonFields.ID.getPointer(), id.toString())));
        AuthorizationContext subjects = headers.getAuthorizationContext();
        Optional<Enforcer> existing = store.enforcer(id);
        boolean keepsWrite = PolicyStore.evaluator(policy)
                .hasUnrestrictedPermissions(ROOT, subjects, WRITE);
        if (existing.isEmpty()) {
            if (!keepsWrite && !headers.isAllowPolicyLockout()) {
                throw modifyError(CreatePolicy.of(policy, headers));
            }
            return new Put(store.put(policy), true);
        }
        if (!existing.get().hasUnrestrictedPermissions(ROOT, subjects, WRITE)) {
            throw modifyError(ModifyPolicy.of(id, policy, headers));
        }
        if (!keepsWrite && !headers.isAllowPolicyLockout()) {
            throw PolicyModificationInvalidException.newBuilder(id)
                    .dittoHeaders(headers).build();
        }
        return new Put(store.put(policy), false);
    }

    /** The policy as far as the caller may READ it. */
    public synchronized JsonObject get(PolicyId id, DittoHeaders headers) {
        Policy policy = store.get(id).orElseThrow(() -> notAccessible(id, headers));
        Enforcer enforcer = PolicyStore.evaluator(policy);
        AuthorizationContext subjects = headers.getAuthorizationContext();
        if (!enforcer.hasPartialPermissions(ROOT, subjects, READ)) {
            throw PolicyCommandToAccessExceptionRegistry.getInstance()
                    .exceptionFrom(RetrievePolicy.of(id, headers));
        }
        return enforcer.buildJsonView(ROOT, policy.toJson(), subjects,
                JsonFactory.newFieldSelector(Policy.JsonFields.ID), Permissions.newInstance(READ));
    }

    public synchronized Optional<Policy> stored(PolicyId id) {
        return store.get(id);
    }

    public synchronized void delete(PolicyId id, DittoHeaders headers) {
        Enforcer enforcer = store.enforcer(id).orElseThrow(() -> notAccessible(id, headers));
        if (!enforcer.hasUnrestrictedPermissions(ROOT, headers.getAuthorizationContext(), WRITE)) {
            throw modifyError(DeletePolicy.of(id, headers));
        }
        store.delete(id);
    }

    private static DittoRuntimeException modifyError(PolicyCommand<?> command) {
        return PolicyCommandToModifyExceptionRegistry.getInstance().exceptionFrom(command);
    }

    private static DittoRuntimeException notAccessible(PolicyId id, DittoHeaders headers) {
        return PolicyNotAccessibleException.newBuilder(id).dittoHeaders(headers).build();
    }
}
