package io.dittostreams.standin.http;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import com.sun.net.httpserver.HttpExchange;

import io.dittostreams.standin.policy.PolicyService;

import org.eclipse.ditto.base.model.auth.AuthorizationContext;
import org.eclipse.ditto.base.model.exceptions.DittoJsonException;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.base.model.headers.entitytag.EntityTag;
import org.eclipse.ditto.base.model.signals.commands.exceptions.PathUnknownException;
import org.eclipse.ditto.json.JsonParseException;
import org.eclipse.ditto.json.JsonObject;
import org.eclipse.ditto.json.JsonPointer;
import org.eclipse.ditto.json.JsonValue;
import org.eclipse.ditto.policies.model.PolicyId;

/** {@code /api/2/policies/{policyId}}: PUT, GET and DELETE of whole policies. */
final class PoliciesRoute {

    static final String PREFIX = "/api/2/policies/";

    private final PolicyService policies;

    PoliciesRoute(PolicyService policies) {
        this.policies = policies;
    }

    void handle(HttpExchange exchange, AuthorizationContext subjects) throws IOException {
        String rest = exchange.getRequestURI().getRawPath().substring(PREFIX.length());
        if (rest.contains("/")) {
            throw PathUnknownException.newBuilder(JsonPointer.of(PREFIX + rest))
                    .description("The Ditto stand-in serves whole policies only.").build();
        }
        PolicyId id = PolicyId.of(Exchanges.decode(rest));
        DittoHeaders headers = Exchanges.dittoHeaders(exchange, subjects);
        Map<String, String> answer = new LinkedHashMap<>();
        headers.getCorrelationId().ifPresent(c -> answer.put("correlation-id", c));
        switch (exchange.getRequestMethod()) {
            case "PUT" -> put(exchange, id, headers, answer);
            case "GET" -> {
                JsonObject view = policies.get(id, headers);
                policies.stored(id).flatMap(EntityTag::fromEntity)
                        .ifPresent(t -> answer.put("ETag", t.toString()));
                Exchanges.send(exchange, 200, view, answer);
            }
            case "DELETE" -> {
                policies.delete(id, headers);
                Exchanges.send(exchange, 204, null, answer);
            }
            default -> throw GatewayException.methodNotAllowed(exchange.getRequestMethod(),
                    PREFIX + rest);
        }
    }

    private void put(HttpExchange exchange, PolicyId id, DittoHeaders headers,
            Map<String, String> answer) throws IOException {
        JsonValue body = Exchanges.jsonBody(exchange, headers);
        if (!body.isObject()) {
            throw new DittoJsonException(JsonParseException.newBuilder()
                    .message("A policy must be a JSON object.").build(), headers);
        }
        PolicyService.Put put = policies.put(id, body.asObject(), headers);
        EntityTag.fromEntity(put.policy()).ifPresent(t -> answer.put("ETag", t.toString()));
        if (put.created()) {
            answer.put("Location", PREFIX + id);
            Exchanges.send(exchange, 201, put.policy().toJson(), answer);
        } else {
            Exchanges.send(exchange, 204, null, answer);
        }
    }
}
