package dev.hbone.ztunnel.metrics;

import static java.util.Objects.requireNonNull;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The node proxy's Prometheus metrics, in its own registry.
 *
 * <p>Istio's connection metrics (labels: {@link ConnectionLabels#LABEL_NAMES}):
 * <ul>
 *   <li>{@code istio_tcp_connections_opened_total}, {@code istio_tcp_connections_closed_total}</li>
 *   <li>{@code istio_tcp_received_bytes_total} (client → server), {@code istio_tcp_sent_bytes_total}
 *       (server → client)</li>
 * </ul>
 * The proxy's own (ztunnel-style, {@code istio_} prefix):
 * <ul>
 *   <li>{@code istio_build{component, tag}} = 1</li>
 *   <li>{@code istio_connection_failures_total{direction, response_flags}}: connections closed with a flag</li>
 *   <li>{@code istio_tls_handshake_failures_total{direction, reason}}</li>
 *   <li>{@code istio_local_config_reloads_total}, {@code istio_local_config_reload_errors_total}</li>
 *   <li>{@code istio_authorization_policy_errors_total{reason}}: policies refused or failing to compile</li>
 *   <li>{@code istio_certificate_fetch_failures_total}: certificate issue or renewal failures</li>
 * </ul>
 * {@link #opened(ConnectionLabels)} caches counter handles per label set, so a connection costs a map lookup.
 */
public final class ProxyMetrics {
    private static final int MAX_CACHED_LABEL_SETS = 10_000;

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter opened;
    private final Counter closed;
    private final Counter receivedBytes;
    private final Counter sentBytes;
    private final Counter connectionFailures;
    private final Counter tlsHandshakeFailures;
    private final Counter protocolErrors;
    private final Counter configReloads;
    private final Counter configReloadErrors;
    private final Counter policyErrors;
    private final Counter certificateFailures;
    private final Map<ConnectionLabels, Handles> handles = new ConcurrentHashMap<>();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

    /**
     * Creates the metrics.
     *
     * @param version the proxy's version, for {@code istio_build}
     */
    public ProxyMetrics(String version) {
        requireNonNull(version, "version");
        String[] labels = ConnectionLabels.LABEL_NAMES.toArray(String[]::new);
        opened = Counter.builder().name("istio_tcp_connections_opened_total")
                .help("The total number of TCP connections opened").labelNames(labels).register(registry);
        closed = Counter.builder().name("istio_tcp_connections_closed_total")
                .help("The total number of TCP connections closed").labelNames(labels).register(registry);
        receivedBytes = Counter.builder().name("istio_tcp_received_bytes_total")
                .help("The size of total bytes received during request in case of a TCP connection")
                .labelNames(labels).register(registry);
        sentBytes = Counter.builder().name("istio_tcp_sent_bytes_total")
                .help("The size of total bytes sent during response in case of a TCP connection")
                .labelNames(labels).register(registry);
        connectionFailures = Counter.builder().name("istio_connection_failures_total")
                .help("Connections closed with a response flag, by direction and flag")
                .labelNames("direction", "response_flags").register(registry);
        tlsHandshakeFailures = Counter.builder().name("istio_tls_handshake_failures_total")
                .help("TLS handshakes that failed, by direction and reason")
                .labelNames("direction", "reason").register(registry);
        protocolErrors = Counter.builder().name("istio_hbone_protocol_errors_total")
                .help("HBONE peers that broke HTTP/2 or HBONE: a connection closed with GOAWAY (scope connection: a "
                        + "flood or another abuse limit, a frame too large...) or a request reset (scope stream: a "
                        + "malformed request), by direction and HTTP/2 error")
                .labelNames("direction", "scope", "error").register(registry);
        configReloads = Counter.builder().name("istio_local_config_reloads_total")
                .help("Local configuration files loaded and applied").register(registry);
        configReloadErrors = Counter.builder().name("istio_local_config_reload_errors_total")
                .help("Local configuration files refused; the previous configuration stays in effect")
                .register(registry);
        policyErrors = Counter.builder().name("istio_authorization_policy_errors_total")
                .help("Authorization policy errors, by reason").labelNames("reason").register(registry);
        certificateFailures = Counter.builder().name("istio_certificate_fetch_failures_total")
                .help("Workload certificate issue or renewal failures").register(registry);
        Gauge build = Gauge.builder().name("istio_build").help("Istio component build info")
                .labelNames("component", "tag").register(registry);
        build.labelValues("ztunnel", version).set(1);
    }

    /**
     * Counts a connection as opened and returns its telemetry handle.
     *
     * @param labels the connection's labels
     * @return the handle the data path reports bytes and the close to
     */
    public ConnectionTelemetry opened(ConnectionLabels labels) {
        requireNonNull(labels, "labels");
        Handles h = handles(labels);
        h.opened.inc();
        return new Connection(h);
    }

    /** Counts a failed TLS handshake; {@code reason} should be a small fixed set (e.g. a validation reason). */
    public void tlsHandshakeFailed(Reporter direction, String reason) {
        requireNonNull(direction, "direction");
        requireNonNull(reason, "reason");
        tlsHandshakeFailures.labelValues(direction.direction(), reason).inc();
    }

    /**
     * Counts a peer that broke HTTP/2 or HBONE.
     *
     * @param direction the side that noticed
     * @param connection whether the whole connection was closed (GOAWAY), else one stream was reset
     * @param error the HTTP/2 error's name, e.g. {@code ENHANCE_YOUR_CALM}
     */
    public void protocolError(Reporter direction, boolean connection, String error) {
        requireNonNull(direction, "direction");
        requireNonNull(error, "error");
        protocolErrors.labelValues(direction.direction(), connection ? "connection" : "stream", error).inc();
    }

    /** Counts a local configuration file applied. */
    public void configReloaded() {
        configReloads.inc();
    }

    /** Counts a local configuration file refused. */
    public void configReloadFailed() {
        configReloadErrors.inc();
    }

    /** Counts an authorization policy error; {@code reason} should be a small fixed set. */
    public void policyError(String reason) {
        requireNonNull(reason, "reason");
        policyErrors.labelValues(reason).inc();
    }

    /** Counts a certificate issue or renewal failure. */
    public void certificateFetchFailed() {
        certificateFailures.inc();
    }

    /** Returns the registry (for tests and extra collectors). */
    public PrometheusRegistry registry() {
        return registry;
    }

    /** Returns the Prometheus text format's content type. */
    public String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }

    /**
     * Writes every metric in Prometheus text format.
     *
     * @param out where to write
     * @throws IOException if writing fails
     */
    public void writeTo(OutputStream out) throws IOException {
        requireNonNull(out, "out");
        writer.write(out, registry.scrape());
    }

    /** Returns every metric in Prometheus text format. */
    public String scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            writeTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private Handles handles(ConnectionLabels labels) {
        Handles h = handles.get(labels);
        if (h == null) {
            if (handles.size() >= MAX_CACHED_LABEL_SETS) {
                handles.clear(); // label sets follow workloads; a full cache means churn, start over
            }
            h = handles.computeIfAbsent(labels, Handles::new);
        }
        return h;
    }

    /** Counter handles of one label set; the flagged variants are made on first use. */
    private final class Handles {
        final ConnectionLabels labels;
        final CounterDataPoint opened;
        final CounterDataPoint received;
        final CounterDataPoint sent;
        final Map<ResponseFlag, CounterDataPoint> closedByFlag = new EnumMap<>(ResponseFlag.class);

        Handles(ConnectionLabels labels) {
            this.labels = labels;
            String[] values = labels.values(ResponseFlag.NONE);
            opened = ProxyMetrics.this.opened.labelValues(values);
            received = receivedBytes.labelValues(values);
            sent = sentBytes.labelValues(values);
        }

        CounterDataPoint closed(ResponseFlag flag) {
            synchronized (closedByFlag) {
                return closedByFlag.computeIfAbsent(flag, f -> ProxyMetrics.this.closed.labelValues(labels.values(f)));
            }
        }
    }

    private final class Connection implements ConnectionTelemetry {
        private final Handles handles;
        private final AtomicBoolean closedOnce = new AtomicBoolean();

        Connection(Handles handles) {
            this.handles = handles;
        }

        @Override
        public void bytes(long clientToServer, long serverToClient) {
            if (clientToServer < 0 || serverToClient < 0) {
                throw new IllegalArgumentException("negative byte count: " + clientToServer + ", " + serverToClient);
            }
            if (clientToServer > 0) {
                handles.received.inc(clientToServer);
            }
            if (serverToClient > 0) {
                handles.sent.inc(serverToClient);
            }
        }

        @Override
        public void closed(ResponseFlag flag) {
            requireNonNull(flag, "flag");
            if (!closedOnce.compareAndSet(false, true)) {
                return;
            }
            handles.closed(flag).inc();
            if (flag != ResponseFlag.NONE) {
                connectionFailures.labelValues(handles.labels.reporter().direction(), flag.labelValue()).inc();
            }
        }
    }
}
