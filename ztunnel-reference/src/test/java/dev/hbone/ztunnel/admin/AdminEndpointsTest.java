package dev.hbone.ztunnel.admin;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import dev.hbone.ztunnel.metrics.ProxyMetrics;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

@Timeout(30)
class AdminEndpointsTest {
    private static final InetSocketAddress ANY_PORT = new InetSocketAddress("127.0.0.1", 0);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ProxyMetrics metrics = new ProxyMetrics("test");
    private final Readiness readiness = new Readiness();
    private final CountDownLatch quit = new CountDownLatch(1);
    private AdminEndpoints endpoints;

    @BeforeEach
    void start() throws Exception {
        endpoints = AdminEndpoints.start(ANY_PORT, ANY_PORT, ANY_PORT, metrics, readiness,
                () -> Map.of("workloads", java.util.List.of(), "note", "a \"quoted\" value"), quit::countDown);
    }

    @AfterEach
    void stop() {
        endpoints.close();
        ((Logger) LoggerFactory.getLogger("dev.hbone.test")).setLevel(null);
    }

    private HttpResponse<String> send(InetSocketAddress to, String method, String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + to.getPort() + path))
                .timeout(Duration.ofSeconds(5))
                .method(method, HttpRequest.BodyPublishers.noBody()).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void readinessListsWhatIsPendingThenTurnsReady() throws Exception {
        readiness.register("config");
        java.util.Set<String> missing = new java.util.concurrent.ConcurrentSkipListSet<>(
                java.util.Set.of("spiffe://cluster.local/ns/a/sa/b"));
        readiness.addSource("certificate ", () -> missing);
        HttpResponse<String> notReady = send(endpoints.readinessAddress(), "GET", "/healthz/ready");
        assertThat(notReady.statusCode()).isEqualTo(500);
        assertThat(notReady.body())
                .isEqualTo("not ready, pending: certificate spiffe://cluster.local/ns/a/sa/b, config\n");
        readiness.complete("config");
        missing.clear();
        HttpResponse<String> ready = send(endpoints.readinessAddress(), "GET", "/healthz/ready");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(ready.body()).isEqualTo("ready\n");
    }

    @Test
    void metricsOnBothPaths() throws Exception {
        metrics.configReloadFailed();
        for (String path : new String[] {"/metrics", "/stats/prometheus"}) {
            HttpResponse<String> r = send(endpoints.statsAddress(), "GET", path);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(
                    v -> assertThat(v).startsWith("text/plain; version=0.0.4"));
            assertThat(r.body()).contains("istio_local_config_reload_errors_total 1.0",
                    "# TYPE istio_build gauge");
        }
    }

    @Test
    void unknownPathIs404AndWrongMethodIs405() throws Exception {
        assertThat(send(endpoints.adminAddress(), "GET", "/nope").statusCode()).isEqualTo(404);
        assertThat(send(endpoints.statsAddress(), "GET", "/healthz/ready").statusCode()).isEqualTo(404);
        HttpResponse<String> r = send(endpoints.statsAddress(), "POST", "/metrics");
        assertThat(r.statusCode()).isEqualTo(405);
        assertThat(r.headers().firstValue("allow")).contains("GET");
        assertThat(send(endpoints.adminAddress(), "GET", "/quitquitquit").statusCode()).isEqualTo(405);
        assertThat(send(endpoints.readinessAddress(), "DELETE", "/healthz/ready").statusCode()).isEqualTo(405);
        assertThat(quit.getCount()).isEqualTo(1);
    }

    @Test
    void oversizedRequestIsRefused() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + endpoints.adminAddress().getPort() + "/logging?level=info"))
                .POST(HttpRequest.BodyPublishers.ofString("x".repeat(64 * 1024))).build();
        assertThat(http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(413);
    }

    @Test
    void configDumpIsJson() throws Exception {
        HttpResponse<String> r = send(endpoints.adminAddress(), "GET", "/config_dump");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).contains("application/json");
        assertThat(r.body()).contains("\"workloads\": []", "\"note\": \"a \\\"quoted\\\" value\"");
    }

    @Test
    void loggingShowsAndChangesLevels() throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger("dev.hbone.test");
        HttpResponse<String> set = send(endpoints.adminAddress(), "POST", "/logging?level=dev.hbone.test:debug");
        assertThat(set.statusCode()).isEqualTo(200);
        assertThat(logger.getLevel()).isEqualTo(Level.DEBUG);
        assertThat(set.body()).contains("dev.hbone.test: debug");
        HttpResponse<String> get = send(endpoints.adminAddress(), "GET", "/logging");
        assertThat(get.body()).startsWith("current log levels:\nROOT: ").contains("dev.hbone.test: debug");
        HttpResponse<String> bad = send(endpoints.adminAddress(), "POST", "/logging?level=dev.hbone.test:loud");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).startsWith("invalid level \"dev.hbone.test:loud\"");
        assertThat(send(endpoints.adminAddress(), "POST", "/logging").statusCode()).isEqualTo(400);
        assertThat(logger.getLevel()).isEqualTo(Level.DEBUG);
    }

    @Test
    void quitquitquitStartsShutdown() throws Exception {
        HttpResponse<String> r = send(endpoints.adminAddress(), "POST", "/quitquitquit");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(quit.await(10, TimeUnit.SECONDS)).isTrue();
    }
}
