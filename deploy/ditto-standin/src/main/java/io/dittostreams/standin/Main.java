package io.dittostreams.standin;

import java.io.IOException;

import io.dittostreams.standin.connectivity.ConnectionRegistry;
import io.dittostreams.standin.http.HttpApi;
import io.dittostreams.standin.policy.PolicyService;
import io.dittostreams.standin.policy.PolicyStore;
import io.dittostreams.standin.twin.TwinService;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts the stand-in: twin store, policies, connections and the HTTP gateway. */
public final class Main {

    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private Main() {}

    public static void main(String[] args) throws IOException {
        long start = System.nanoTime();
        Config config = Config.from(System.getenv(), args);
        PolicyStore policies = new PolicyStore();
        TwinService twins = new TwinService(policies);
        ConnectionRegistry connections = new ConnectionRegistry(twins);
        HttpApi http = new HttpApi(config, twins, new PolicyService(policies), connections);
        http.start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.info("stopping");
            http.stop();
            connections.closeAll();
        }, "shutdown"));
        LOG.info("ready seconds={}", String.format("%.2f", (System.nanoTime() - start) / 1e9));
    }
}
