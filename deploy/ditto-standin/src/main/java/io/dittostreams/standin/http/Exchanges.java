package io.dittostreams.standin.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import com.sun.net.httpserver.HttpExchange;

import org.eclipse.ditto.base.model.auth.AuthorizationContext;
import org.eclipse.ditto.base.model.exceptions.DittoJsonException;
import org.eclipse.ditto.base.model.exceptions.DittoRuntimeException;
import org.eclipse.ditto.base.model.headers.DittoHeaderDefinition;
import org.eclipse.ditto.base.model.headers.DittoHeaders;
import org.eclipse.ditto.base.model.headers.DittoHeadersBuilder;
import org.eclipse.ditto.json.JsonFactory;
import org.eclipse.ditto.json.JsonRuntimeException;
import org.eclipse.ditto.json.JsonValue;
import org.eclipse.ditto.protocol.adapter.DittoProtocolAdapter;

/** Reading requests and writing Ditto's JSON answers on the JDK's HTTP server. */
final class Exchanges {

    /** Query parameters Ditto's HTTP API also takes as headers. */
    private static final List<String> HEADER_PARAMS = List.of("timeout", "response-required",
            "condition", "if-equal", "requested-acks", "allow-policy-lockout", "channel");

    /** Credentials and framing headers, which Ditto's gateway does not turn into headers. */
    private static final Set<String> DROPPED = Set.of("authorization", "content-length",
            "connection", "transfer-encoding");

    private Exchanges() {}

    static String body(HttpExchange exchange) throws IOException {
        try (InputStream in = exchange.getRequestBody()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static JsonValue jsonBody(HttpExchange exchange, DittoHeaders headers) throws IOException {
        String text = body(exchange);
        try {
            return JsonFactory.readFrom(text);
        } catch (JsonRuntimeException e) {
            throw new DittoJsonException(e, headers);
        }
    }

    static Map<String, String> query(HttpExchange exchange) {
        Map<String, String> params = new LinkedHashMap<>();
        String raw = exchange.getRequestURI().getRawQuery();
        if (raw == null || raw.isEmpty()) {
            return params;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : pair.substring(eq + 1);
            params.putIfAbsent(decode(key), decode(value));
        }
        return params;
    }

    static String decode(String text) {
        return URLDecoder.decode(text, StandardCharsets.UTF_8);
    }

    /**
     * The command headers of a request: its HTTP headers through Ditto's header translator
     * (credentials and framing left out), header-like query parameters, the caller's
     * subjects and a correlation id when the caller sent none.
     */
    static DittoHeaders dittoHeaders(HttpExchange exchange, AuthorizationContext subjects) {
        Map<String, String> external = new LinkedHashMap<>();
        exchange.getRequestHeaders().forEach((key, values) -> {
            String name = key.toLowerCase();
            if (!DROPPED.contains(name) && !values.isEmpty()) {
                external.put(name, values.get(0));
            }
        });
        Map<String, String> params = query(exchange);
        HEADER_PARAMS.forEach(p -> {
            if (params.containsKey(p)) {
                external.put(p, params.get(p));
            }
        });
        Map<String, String> known = DittoProtocolAdapter.getHeaderTranslator()
                .fromExternalHeaders(external);
        DittoHeadersBuilder<?, ?> builder = DittoHeaders.newBuilder(known)
                .authorizationContext(subjects);
        subjects.getFirstAuthorizationSubject()
                .ifPresent(s -> builder.putHeader(DittoHeaderDefinition.ORIGINATOR.getKey(),
                        s.getId()));
        if (!known.containsKey("correlation-id")) {
            builder.correlationId(UUID.randomUUID().toString());
        }
        return builder.build();
    }

    static void send(HttpExchange exchange, int status, JsonValue body,
            Map<String, String> headers) throws IOException {
        headers.forEach((k, v) -> exchange.getResponseHeaders().set(k, v));
        byte[] bytes = body == null ? new byte[0]
                : body.toString().getBytes(StandardCharsets.UTF_8);
        if (body != null) {
            exchange.getResponseHeaders().set("Content-Type", "application/json");
        }
        boolean empty = bytes.length == 0 || status == 204;
        exchange.sendResponseHeaders(status, empty ? -1 : bytes.length);
        if (!empty) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
        exchange.close();
    }

    /** Ditto's error JSON with its status; correlation id and entity tag as headers. */
    static void sendError(HttpExchange exchange, DittoRuntimeException error)
            throws IOException {
        Map<String, String> headers = new LinkedHashMap<>();
        DittoHeaders dittoHeaders = error.getDittoHeaders();
        dittoHeaders.getCorrelationId().ifPresent(c -> headers.put("correlation-id", c));
        dittoHeaders.getETag().ifPresent(t -> headers.put("ETag", t.toString()));
        if (error.getHttpStatus().getCode() == 401) {
            headers.put("WWW-Authenticate", "Basic realm=\"ditto\"");
        }
        send(exchange, error.getHttpStatus().getCode(), error.toJson(), headers);
    }
}
