package io.dittostreams.standin.http;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.dittostreams.standin.Config;
import io.dittostreams.standin.connectivity.ConnectionRegistry;
import io.dittostreams.standin.policy.PolicyService;
import io.dittostreams.standin.twin.TwinService;

import org.eclipse.ditto.base.model.auth.AuthorizationContext;
import org.eclipse.ditto.base.model.auth.AuthorizationModelFactory;
import org.eclipse.ditto.base.model.auth.DittoAuthorizationContextType;
import org.eclipse.ditto.base.model.exceptions.DittoInternalErrorException;
import org.eclipse.ditto.base.model.exceptions.DittoRuntimeException;
import org.eclipse.ditto.base.model.signals.commands.exceptions.PathUnknownException;
import org.eclipse.ditto.json.JsonObject;
import org.eclipse.ditto.json.JsonPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway: basic authentication (the user becomes subject "nginx:<user>", as behind
 * Ditto's nginx), routing, and every refusal as Ditto's error JSON with its status.
 */
public final class HttpApi {

    private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);

    private final Config config;
    private final ThingsRoute things;
    private final PoliciesRoute policies;
    private final ConnectionsRoute connections;
    private HttpServer server;
    private ExecutorService executor;

    public HttpApi(Config config, TwinService twins, PolicyService policyService,
            ConnectionRegistry registry) {
        this.config = config;
        this.things = new ThingsRoute(twins);
        this.policies = new PoliciesRoute(policyService);
        this.connections = new ConnectionsRoute(registry);
    }

    public void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 64);
        executor = Executors.newFixedThreadPool(8);
        server.setExecutor(executor);
        server.createContext("/", this::dispatch);
        server.start();
        LOG.info("http listening host={} port={}", config.host(), config.port());
    }

    public void stop() {
        server.stop(1);
        executor.shutdownNow();
    }

    private void dispatch(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getRawPath();
        try {
            route(exchange, path);
        } catch (DittoRuntimeException e) {
            Exchanges.sendError(exchange, e);
        } catch (RuntimeException e) {
            LOG.error("request failed method={} path={}", exchange.getRequestMethod(), path, e);
            Exchanges.sendError(exchange, DittoInternalErrorException.newBuilder().cause(e)
                    .build());
        }
    }

    private void route(HttpExchange exchange, String path) throws IOException {
        if (path.equals("/health") || path.equals("/alive") || path.equals("/status/health")) {
            Exchanges.send(exchange, 200, JsonObject.newBuilder().set("status", "UP").build(),
                    Map.of());
        } else if (path.startsWith(ThingsRoute.PREFIX)) {
            things.handle(exchange, user(exchange));
        } else if (path.startsWith(PoliciesRoute.PREFIX)) {
            policies.handle(exchange, user(exchange));
        } else if (path.startsWith(ConnectionsRoute.PREFIX)) {
            connections.handle(exchange, devops(exchange));
        } else {
            throw PathUnknownException.newBuilder(JsonPointer.of(path)).build();
        }
    }

    private AuthorizationContext user(HttpExchange exchange) {
        String user = credentials(exchange)
                .filter(c -> matches(c, config.user(), config.password()))
                .map(c -> c[0])
                .orElseThrow(() -> GatewayException.authenticationFailed(
                        "Send HTTP basic auth with the stand-in's user (DITTO_USER)."));
        return subjects("nginx:" + user);
    }

    /** Connection management needs Ditto's devops user, not an API user. */
    private AuthorizationContext devops(HttpExchange exchange) {
        String user = credentials(exchange)
                .filter(c -> matches(c, config.devopsUser(), config.devopsPassword()))
                .map(c -> c[0])
                .orElseThrow(() -> GatewayException.authenticationFailed(
                        "Connections need the devops user (DITTO_DEVOPS_USER)."));
        return subjects("nginx:" + user);
    }

    private static AuthorizationContext subjects(String subject) {
        return AuthorizationModelFactory.newAuthContext(
                DittoAuthorizationContextType.PRE_AUTHENTICATED_HTTP,
                AuthorizationModelFactory.newAuthSubject(subject));
    }

    private static Optional<String[]> credentials(HttpExchange exchange) {
        String header = exchange.getRequestHeaders().getFirst("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
            return Optional.empty();
        }
        try {
            String pair = new String(Base64.getDecoder().decode(header.substring(6).trim()),
                    StandardCharsets.UTF_8);
            int colon = pair.indexOf(':');
            return colon < 0 ? Optional.empty()
                    : Optional.of(new String[] {pair.substring(0, colon),
                        pair.substring(colon + 1)});
        } catch (IllegalArgumentException notBase64) {
            return Optional.empty();
        }
    }

    private static boolean matches(String[] given, String user, String password) {
        return MessageDigest.isEqual(bytes(given[0]), bytes(user))
                & MessageDigest.isEqual(bytes(given[1]), bytes(password));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
