package dev.hbone.ztunnel.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.ztunnel.cli.ProxyConfig;
import dev.hbone.ztunnel.cli.ZtunnelMain;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class NodeProxyTest {
    private static final String BAD = "workloads:\n- {uid: a, namespace: ns, workloadIps: [\"10.0.0.300\"]}\n";

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private NodeProxy proxy;

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.shutdown().get(20, TimeUnit.SECONDS);
        }
    }

    private Path exampleConfig() throws Exception {
        Path file = dir.resolve("localhost.yaml");
        try (InputStream in = getClass().getResourceAsStream("/examples/localhost.yaml")) {
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        return file;
    }

    private NodeProxy start(String... extra) throws Exception {
        String[] base = {"--admin-address=127.0.0.1:0", "--stats-address=127.0.0.1:0",
                "--readiness-address=127.0.0.1:0", "--inbound-address=127.0.0.1:0",
                "--inbound-plaintext-address=127.0.0.1:0", "--outbound-address=127.0.0.1:0"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        ProxyConfig config = ZtunnelMain.parseConfig(args, Map.of());
        proxy = NodeProxy.start(config);
        return proxy;
    }

    private HttpResponse<String> get(InetSocketAddress to, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + to.getPort() + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void readyOnceConfigIsLoadedAndCertificatesAreIssued() throws Exception {
        Path root = dir.resolve("root-cert.pem");
        NodeProxy p = start("--local-xds-path=" + exampleConfig(), "--ca-root-out=" + root);
        await("certificates", () -> p.readiness().isReady());
        HttpResponse<String> ready = get(p.endpoints().readinessAddress(), "/healthz/ready");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(Files.exists(root)).isTrue();
        assertThat(p.state().current().workloads()).hasSize(2);
        assertThat(p.certificates().certificates()).extracting(c -> c.identity())
                .contains("spiffe://cluster.local/ns/default/sa/default");
        HttpResponse<String> dump = get(p.endpoints().adminAddress(), "/config_dump");
        assertThat(dump.statusCode()).isEqualTo(200);
        assertThat(dump.body()).contains("\"workloads\"", "\"services\"", "\"policies\"", "\"certificates\"",
                "\"serialNumber\"", "\"notAfter\"", "\"spiffe://cluster.local/ns/default/sa/default\"",
                "deny-9999", "example.com").doesNotContain("PRIVATE KEY", "privateKey");
        assertThat(get(p.endpoints().statsAddress(), "/metrics").body())
                .contains("istio_local_config_reloads_total 1.0", "istio_build{component=\"ztunnel\"");
    }

    @Test
    void portInUseIsNamed() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getByName("127.0.0.1"))) {
            ProxyConfig config = ZtunnelMain.parseConfig(new String[] {"--admin-address=127.0.0.1:0",
                    "--stats-address=127.0.0.1:" + taken.getLocalPort(), "--readiness-address=127.0.0.1:0",
                    "--inbound-address=127.0.0.1:0", "--inbound-plaintext-address=127.0.0.1:0",
                    "--outbound-address=127.0.0.1:0"},
                    Map.of());
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> NodeProxy.start(config))
                    .isInstanceOf(java.io.IOException.class)
                    .hasMessageStartingWith("stats endpoint cannot listen on 127.0.0.1:" + taken.getLocalPort()
                            + ": ");
        }
    }

    @Test
    void notReadyWhileTheConfigurationIsMissing() throws Exception {
        Path file = dir.resolve("later.yaml");
        NodeProxy p = start("--local-xds-path=" + file);
        HttpResponse<String> r = get(p.endpoints().readinessAddress(), "/healthz/ready");
        assertThat(r.statusCode()).isEqualTo(500);
        assertThat(r.body()).contains("config");
        Files.copy(exampleConfig(), file, StandardCopyOption.REPLACE_EXISTING);
        await("ready", () -> p.readiness().isReady());
        assertThat(get(p.endpoints().readinessAddress(), "/healthz/ready").statusCode()).isEqualTo(200);
    }

    @Test
    void badReloadKeepsTheOldConfigurationAndIsCounted() throws Exception {
        Path file = exampleConfig();
        NodeProxy p = start("--local-xds-path=" + file);
        await("first config", () -> p.state().current().workloads().size() == 2);
        Path tmp = dir.resolve("tmp.yaml");
        Files.writeString(tmp, BAD);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        await("reload error counted",
                () -> p.metrics().scrape().contains("istio_local_config_reload_errors_total 1.0"));
        assertThat(p.state().current().workloads()).hasSize(2);
        assertThat(p.localConfig().policies()).hasSize(2);
        assertThat(p.readiness().isReady()).isTrue();
    }

    @Test
    void quitquitquitDrainsThenForceClosesAfterTheDeadline() throws Exception {
        NodeProxy p = start("--connection-termination-deadline=200ms");
        CountDownLatch drained = new CountDownLatch(1);
        CountDownLatch forced = new CountDownLatch(1);
        p.addDrainable(new Drainable() {
            @Override
            public String name() {
                return "stuck listener";
            }

            @Override
            public CompletableFuture<Void> drain() {
                drained.countDown();
                return new CompletableFuture<>(); // a connection that never finishes
            }

            @Override
            public void forceClose() {
                forced.countDown();
            }
        });
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + p.endpoints().adminAddress().getPort() + "/quitquitquit"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(drained.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(forced.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.awaitTermination(Duration.ofSeconds(10))).isTrue();
        assertThat(p.isShuttingDown()).isTrue();
    }

    @Test
    void drainedComponentsAreNotForceClosed() throws Exception {
        NodeProxy p = start("--connection-termination-deadline=10s");
        CountDownLatch forced = new CountDownLatch(1);
        p.addDrainable(new Drainable() {
            @Override
            public String name() {
                return "idle listener";
            }

            @Override
            public CompletableFuture<Void> drain() {
                return CompletableFuture.completedFuture(null);
            }

            @Override
            public void forceClose() {
                forced.countDown();
            }
        });
        long start = System.nanoTime();
        p.shutdown().get(10, TimeUnit.SECONDS);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(forced.getCount()).isEqualTo(1);
        assertThat(p.shutdown()).isDone();
    }
}
