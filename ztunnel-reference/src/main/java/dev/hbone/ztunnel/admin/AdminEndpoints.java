package dev.hbone.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import dev.hbone.ztunnel.internal.HttpEndpointServer;
import dev.hbone.ztunnel.internal.HttpEndpointServer.Response;
import dev.hbone.ztunnel.internal.HttpEndpointServer.Route;
import dev.hbone.ztunnel.internal.Json;
import dev.hbone.ztunnel.metrics.ProxyMetrics;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.http.HttpMethod;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ztunnel's three HTTP/1.1 endpoints:
 * <ul>
 *   <li>admin (loopback, 15000): {@code GET /config_dump} (workloads, services, policies, certificates without
 *       keys, settings), {@code GET /logging} (levels), {@code POST /logging?level=debug} or
 *       {@code ?level=dev.hbone:debug}, {@code POST /quitquitquit} (drain, then exit)</li>
 *   <li>stats (15020): {@code GET /metrics} and {@code GET /stats/prometheus}, Prometheus text format</li>
 *   <li>readiness (15021): {@code GET /healthz/ready}: 200 {@code ready}, or 500 listing what is pending</li>
 * </ul>
 * Unknown path → 404, wrong method → 405, request body above 8 KiB → 413.
 */
public final class AdminEndpoints implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminEndpoints.class);

    private final EventLoopGroup group;
    private final ExecutorService handlers;
    private final HttpEndpointServer admin;
    private final HttpEndpointServer stats;
    private final HttpEndpointServer readiness;

    private AdminEndpoints(EventLoopGroup group, ExecutorService handlers, HttpEndpointServer admin,
            HttpEndpointServer stats, HttpEndpointServer readiness) {
        this.group = group;
        this.handlers = handlers;
        this.admin = admin;
        this.stats = stats;
        this.readiness = readiness;
    }

    /**
     * Binds the three endpoints.
     *
     * @param adminAddress admin (should be loopback)
     * @param statsAddress metrics
     * @param readinessAddress readiness
     * @param metrics the metrics to expose
     * @param readinessState what is pending
     * @param configDump the {@code /config_dump} content (a JSON-able map)
     * @param quit starts the drain and exit; called once per {@code /quitquitquit}
     * @return the running endpoints
     * @throws IOException naming the address that cannot be bound
     * @throws InterruptedException if interrupted while binding
     */
    public static AdminEndpoints start(InetSocketAddress adminAddress, InetSocketAddress statsAddress,
            InetSocketAddress readinessAddress, ProxyMetrics metrics, Readiness readinessState,
            Supplier<Map<String, Object>> configDump, Runnable quit) throws IOException, InterruptedException {
        requireNonNull(adminAddress, "adminAddress");
        requireNonNull(statsAddress, "statsAddress");
        requireNonNull(readinessAddress, "readinessAddress");
        requireNonNull(metrics, "metrics");
        requireNonNull(readinessState, "readinessState");
        requireNonNull(configDump, "configDump");
        requireNonNull(quit, "quit");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, daemonThreads("admin-io"),
                NioIoHandler.newFactory());
        ExecutorService handlers = Executors.newSingleThreadExecutor(daemonThreads("admin-handler"));
        HttpEndpointServer admin = null;
        HttpEndpointServer stats = null;
        try {
            admin = HttpEndpointServer.start("admin", adminAddress, group, handlers,
                    adminRoutes(configDump, quit));
            Route metricsRoute = new Route(Set.of(HttpMethod.GET), r -> {
                ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
                metrics.writeTo(out);
                return new Response(200, metrics.contentType(), out.toByteArray());
            });
            stats = HttpEndpointServer.start("stats", statsAddress, group, handlers,
                    Map.of("/metrics", metricsRoute, "/stats/prometheus", metricsRoute));
            HttpEndpointServer ready = HttpEndpointServer.start("readiness", readinessAddress, group, handlers,
                    Map.of("/healthz/ready", new Route(Set.of(HttpMethod.GET), r -> {
                        Set<String> pending = readinessState.pending();
                        return pending.isEmpty() ? Response.text(200, "ready\n")
                                : Response.text(500, "not ready, pending: " + String.join(", ", pending) + "\n");
                    })));
            return new AdminEndpoints(group, handlers, admin, stats, ready);
        } catch (IOException | InterruptedException | RuntimeException e) {
            if (stats != null) {
                stats.close();
            }
            if (admin != null) {
                admin.close();
            }
            handlers.shutdownNow();
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
    }

    private static Map<String, Route> adminRoutes(Supplier<Map<String, Object>> configDump, Runnable quit) {
        Map<String, Route> routes = new LinkedHashMap<>();
        routes.put("/", new Route(Set.of(HttpMethod.GET), r -> Response.text(200,
                "GET  /config_dump\nGET  /logging\nPOST /logging?level=LEVEL|LOGGER:LEVEL\nPOST /quitquitquit\n")));
        routes.put("/config_dump", new Route(Set.of(HttpMethod.GET),
                r -> Response.json(200, Json.write(configDump.get()))));
        routes.put("/logging", new Route(Set.of(HttpMethod.GET, HttpMethod.POST), r -> {
            if (r.method().equals(HttpMethod.POST)) {
                String level = r.param("level");
                if (level == null) {
                    return Response.text(400, "missing ?level=: e.g. level=debug or level=dev.hbone:debug\n");
                }
                Map<String, String> applied = LogLevels.apply(level);
                log.info("log levels changed: {}", applied);
            }
            StringBuilder sb = new StringBuilder("current log levels:\n");
            LogLevels.current().forEach((k, v) -> sb.append(k).append(": ").append(v).append('\n'));
            return Response.text(200, sb.toString());
        }));
        routes.put("/quitquitquit", new Route(Set.of(HttpMethod.POST), r -> {
            log.info("shutdown requested by POST /quitquitquit");
            Thread t = new Thread(quit, "quitquitquit");
            t.setDaemon(true);
            t.start();
            return Response.text(200, "shutting down\n");
        }));
        return routes;
    }

    private static java.util.concurrent.ThreadFactory daemonThreads(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** Returns the admin endpoint's bound address. */
    public InetSocketAddress adminAddress() {
        return admin.localAddress();
    }

    /** Returns the stats endpoint's bound address. */
    public InetSocketAddress statsAddress() {
        return stats.localAddress();
    }

    /** Returns the readiness endpoint's bound address. */
    public InetSocketAddress readinessAddress() {
        return readiness.localAddress();
    }

    /** Stops the three endpoints. */
    @Override
    public void close() {
        admin.close();
        stats.close();
        readiness.close();
        handlers.shutdown();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
