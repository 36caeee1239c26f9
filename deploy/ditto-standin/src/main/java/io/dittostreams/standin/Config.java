package io.dittostreams.standin;

import java.util.Map;

/**
 * Settings from the environment, each with the default of Ditto's local quick start:
 * DITTO_HTTP_HOST (127.0.0.1), DITTO_HTTP_PORT (8080; also the first argument),
 * DITTO_USER / DITTO_PASSWORD (ditto / ditto), DITTO_DEVOPS_USER / DITTO_DEVOPS_PASSWORD
 * (devops / foobar).
 */
public record Config(String host, int port, String user, String password, String devopsUser,
        String devopsPassword) {

    public static Config from(Map<String, String> env, String[] args) {
        String port = args.length > 0 ? args[0] : env.getOrDefault("DITTO_HTTP_PORT", "8080");
        return new Config(
                env.getOrDefault("DITTO_HTTP_HOST", "127.0.0.1"),
                Integer.parseInt(port),
                env.getOrDefault("DITTO_USER", "ditto"),
                env.getOrDefault("DITTO_PASSWORD", "ditto"),
                env.getOrDefault("DITTO_DEVOPS_USER", "devops"),
                env.getOrDefault("DITTO_DEVOPS_PASSWORD", "foobar"));
    }
}
