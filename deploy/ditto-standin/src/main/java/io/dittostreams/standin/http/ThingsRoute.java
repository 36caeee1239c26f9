package io.dittostreams.standin.http;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import com.sun.net.httpserver.HttpExchange;

import io.dittostreams.standin.twin.Signals;
import io.dittostreams.standin.twin.TwinService;

import org.eclipse.ditto.base.model.auth.AuthorizationContext;
import org.eclipse.ditto.base.model.exceptions.UnsupportedMediaTypeException;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.base.model.json.JsonSchemaVersion;
import org.eclipse.ditto.base.model.signals.WithOptionalEntity;
import org.eclipse.ditto.base.model.signals.commands.CommandResponse;
import org.eclipse.ditto.base.model.signals.commands.WithEntity;
import org.eclipse.ditto.json.JsonKey;
import org.eclipse.ditto.json.JsonPointer;
import org.eclipse.ditto.json.JsonValue;
import org.eclipse.ditto.things.model.Thing;
import org.eclipse.ditto.things.model.ThingId;
import org.eclipse.ditto.things.model.signals.commands.ThingCommand;
import org.eclipse.ditto.things.model.signals.commands.exceptions.*;

/**
 * {@code /api/2/things/{thingId}[/sub/path]}: GET, PUT, PATCH (merge) and DELETE, turned
 * into Ditto twin commands by the protocol adapter and answered from their responses.
 */
final class ThingsRoute {

    static final String PREFIX = "/api/2/things/";
    private static final String MERGE_PATCH = "application/merge-patch+json";

    private final TwinService twins;

    ThingsRoute(TwinService twins) {
        this.twins = twins;
    }

    void handle(HttpExchange exchange, AuthorizationContext subjects) throws IOException {
        String rest = exchange.getRequestURI().getRawPath().substring(PREFIX.length());
        int slash = rest.indexOf('/');
        ThingId id = ThingId.of(Exchanges.decode(slash < 0 ? rest : rest.substring(0, slash)));
        JsonPointer path = pointer(slash < 0 ? "" : rest.substring(slash));
        DittoHeaders headers = Exchanges.dittoHeaders(exchange, subjects);
        String method = exchange.getRequestMethod();
        ThingCommand<?> command = switch (method) {
            case "GET" -> Signals.command(id, "retrieve", path, null, headers,
                    Exchanges.query(exchange).get("fields"));
            case "PUT" -> Signals.command(id, "modify", path, putValue(exchange, id, path,
                    headers), headers, null);
            case "PATCH" -> Signals.command(id, "merge", path, patchValue(exchange, headers),
                    headers, null);
            case "DELETE" -> Signals.command(id, "delete", path, null, headers, null);
            default -> throw GatewayException.methodNotAllowed(method, PREFIX + rest);
        };
        CommandResponse<?> response = twins.handle(command);
        if (!headers.isResponseRequired()) {
            Exchanges.send(exchange, 202, null, Map.of());
            return;
        }
        send(exchange, id, path, response);
    }

    private static JsonValue putValue(HttpExchange exchange, ThingId id, JsonPointer path,
            DittoHeaders headers) throws IOException {
        JsonValue value = Exchanges.jsonBody(exchange, headers);
        if (!path.isEmpty() || !value.isObject()) {
            return value;
        }
        // The id is the URL's; a different one in the body is refused as Ditto does.
        JsonValue given = value.asObject().getValue(Thing.JsonFields.ID).map(JsonValue::of)
                .orElse(null);
        if (given != null && !given.asString().equals(id.toString())) {
            throw ThingIdNotExplicitlySettableException.forPutMethod()
                    .dittoHeaders(headers).build();
        }
        return value.asObject().setValue(Thing.JsonFields.ID.getPointer(), id.toString());
    }

    private static JsonValue patchValue(HttpExchange exchange, DittoHeaders headers)
            throws IOException {
        String type = headers.getContentType().orElse("");
        if (!type.toLowerCase().startsWith(MERGE_PATCH)) {
            throw UnsupportedMediaTypeException
                    .builderForMergePatchJsonMediaType(type, MERGE_PATCH)
                    .dittoHeaders(headers).build();
        }
        return Exchanges.jsonBody(exchange, headers);
    }

    private static void send(HttpExchange exchange, ThingId id, JsonPointer path,
            CommandResponse<?> response) throws IOException {
        int status = response.getHttpStatus().getCode();
        DittoHeaders answer = response.getDittoHeaders();
        Map<String, String> headers = new LinkedHashMap<>();
        answer.getCorrelationId().ifPresent(c -> headers.put("correlation-id", c));
        answer.getETag().ifPresent(t -> headers.put("ETag", t.toString()));
        String revision = answer.get("entity-revision");
        if (revision != null) {
            headers.put("entity-revision", revision);
        }
        if (status == 201) {
            headers.put("Location", PREFIX + id + (path.isEmpty() ? "" : path.toString()));
        }
        JsonValue body = null;
        if (status != 204 && response instanceof WithEntity<?> withEntity) {
            body = withEntity.getEntity(JsonSchemaVersion.V_2);
        } else if (status != 204 && response instanceof WithOptionalEntity<?> withEntity) {
            body = withEntity.getEntity(JsonSchemaVersion.V_2).orElse(null);
        }
        Exchanges.send(exchange, status, body, headers);
    }

    /** A JSON pointer from URL path segments, each segment decoded on its own. */
    private static JsonPointer pointer(String rawPath) {
        JsonPointer pointer = JsonPointer.empty();
        for (String segment : rawPath.split("/")) {
            if (!segment.isEmpty()) {
                pointer = pointer.addLeaf(JsonKey.of(Exchanges.decode(segment)));
            }
        }
        return pointer;
    }
}
