package dev.hbone.ztunnel.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import org.junit.jupiter.api.Test;

class ProxyMetricsTest {

    private static final Workload CLIENT = Workload.builder().uid("c").name("sleep-1").namespace("client-ns")
            .serviceAccount("sleep").workloadName("sleep").canonicalName("sleep").canonicalRevision("v1")
            .clusterId("cluster1").build();
    private static final Workload SERVER = Workload.builder().uid("s").name("echo-1").namespace("server-ns")
            .serviceAccount("echo").workloadName("echo").canonicalName("echo-svc").canonicalRevision("v2")
            .build();

    private static String line(String scrape, String metric) {
        return scrape.lines().filter(l -> l.startsWith(metric + "{")).findFirst()
                .orElseThrow(() -> new AssertionError("no " + metric + " in\n" + scrape));
    }

    @Test
    void istioConnectionMetricsWithIstioLabels() {
        ProxyMetrics metrics = new ProxyMetrics("1.2.3");
        Service service = Service.builder().name("echo").namespace("server-ns").hostname("echo.server-ns.svc")
                .build();
        ConnectionLabels labels = ConnectionLabels.of(Reporter.DESTINATION, CLIENT, SERVER, service,
                SecurityPolicy.MUTUAL_TLS);
        ConnectionTelemetry c = metrics.opened(labels);
        c.bytes(100, 7);
        c.bytes(1, 0);
        c.closed(ResponseFlag.NONE);
        c.closed(ResponseFlag.CONNECT); // only the first close counts

        String scrape = metrics.scrape();
        String opened = line(scrape, "istio_tcp_connections_opened_total");
        assertThat(opened).endsWith(" 1.0").contains(
                "reporter=\"destination\"",
                "source_workload=\"sleep\"",
                "source_canonical_service=\"sleep\"",
                "source_canonical_revision=\"v1\"",
                "source_workload_namespace=\"client-ns\"",
                "source_principal=\"spiffe://cluster.local/ns/client-ns/sa/sleep\"",
                "source_app=\"sleep\"",
                "source_version=\"v1\"",
                "source_cluster=\"cluster1\"",
                "destination_service=\"echo.server-ns.svc\"",
                "destination_service_namespace=\"server-ns\"",
                "destination_service_name=\"echo\"",
                "destination_workload=\"echo\"",
                "destination_canonical_service=\"echo-svc\"",
                "destination_canonical_revision=\"v2\"",
                "destination_workload_namespace=\"server-ns\"",
                "destination_principal=\"spiffe://cluster.local/ns/server-ns/sa/echo\"",
                "destination_app=\"echo-svc\"",
                "destination_version=\"v2\"",
                "destination_cluster=\"Kubernetes\"",
                "request_protocol=\"tcp\"",
                "response_flags=\"-\"",
                "connection_security_policy=\"mutual_tls\"");
        assertThat(opened.chars().filter(ch -> ch == '=').count()).isEqualTo(23);
        assertThat(line(scrape, "istio_tcp_connections_closed_total")).endsWith(" 1.0");
        assertThat(line(scrape, "istio_tcp_received_bytes_total")).endsWith(" 101.0");
        assertThat(line(scrape, "istio_tcp_sent_bytes_total")).endsWith(" 7.0");
        assertThat(scrape).contains("# TYPE istio_tcp_connections_opened_total counter")
                .contains("istio_build{component=\"ztunnel\",tag=\"1.2.3\"} 1.0")
                .doesNotContain("istio_connection_failures_total{");
        assertThat(ConnectionLabels.LABEL_NAMES).hasSize(23);
    }

    @Test
    void unknownPeersAreUnknownAndFailuresAreCounted() {
        ProxyMetrics metrics = new ProxyMetrics("dev");
        ConnectionLabels labels = ConnectionLabels.of(Reporter.SOURCE, CLIENT, null, null, SecurityPolicy.UNKNOWN);
        metrics.opened(labels).closed(ResponseFlag.DENY);
        metrics.opened(labels).closed(ResponseFlag.DENY);
        metrics.opened(labels).closed(ResponseFlag.NONE);
        String scrape = metrics.scrape();
        assertThat(line(scrape, "istio_tcp_connections_opened_total")).endsWith(" 3.0")
                .contains("destination_workload=\"unknown\"", "destination_principal=\"unknown\"",
                        "destination_service=\"unknown\"", "connection_security_policy=\"unknown\"",
                        "reporter=\"source\"");
        assertThat(scrape.lines().filter(l -> l.startsWith("istio_tcp_connections_closed_total{")))
                .anySatisfy(l -> assertThat(l).contains("response_flags=\"DENY\"").endsWith(" 2.0"))
                .anySatisfy(l -> assertThat(l).contains("response_flags=\"-\"").endsWith(" 1.0"));
        assertThat(scrape).contains(
                "istio_connection_failures_total{direction=\"outbound\",response_flags=\"DENY\"} 2.0");
        // no bytes, no byte series values beyond zero
        assertThat(line(scrape, "istio_tcp_received_bytes_total")).endsWith(" 0.0");
    }

    @Test
    void proxyOwnCounters() {
        ProxyMetrics metrics = new ProxyMetrics("dev");
        metrics.tlsHandshakeFailed(Reporter.DESTINATION, "UNTRUSTED_CHAIN");
        metrics.configReloaded();
        metrics.configReloadFailed();
        metrics.configReloadFailed();
        metrics.policyError("compile");
        metrics.certificateFetchFailed();
        assertThat(metrics.scrape()).contains(
                "istio_tls_handshake_failures_total{direction=\"inbound\",reason=\"UNTRUSTED_CHAIN\"} 1.0",
                "istio_local_config_reloads_total 1.0",
                "istio_local_config_reload_errors_total 2.0",
                "istio_authorization_policy_errors_total{reason=\"compile\"} 1.0",
                "istio_certificate_fetch_failures_total 1.0");
        assertThat(metrics.contentType()).startsWith("text/plain; version=0.0.4");
    }

    @Test
    void labelValuesAreEscapedInTheTextFormat() {
        ProxyMetrics metrics = new ProxyMetrics("dev");
        ConnectionLabels labels = new ConnectionLabels(Reporter.SOURCE, "a\"b", null, null, null, null, null, null,
                null, null, null, null, "x\\y", null, null, null, null, null, null, null, SecurityPolicy.UNKNOWN);
        metrics.opened(labels);
        assertThat(line(metrics.scrape(), "istio_tcp_connections_opened_total"))
                .contains("source_workload=\"a\\\"b\"", "destination_workload=\"x\\\\y\"");
    }

    @Test
    void equalLabelSetsShareOneSeries() {
        ProxyMetrics metrics = new ProxyMetrics("dev");
        for (int i = 0; i < 1000; i++) {
            ConnectionTelemetry c = metrics.opened(ConnectionLabels.of(Reporter.SOURCE, CLIENT, SERVER, null,
                    SecurityPolicy.MUTUAL_TLS));
            c.bytes(1, 2);
            c.closed(ResponseFlag.NONE);
        }
        String scrape = metrics.scrape();
        assertThat(scrape.lines().filter(l -> l.startsWith("istio_tcp_connections_opened_total{"))).hasSize(1);
        assertThat(line(scrape, "istio_tcp_connections_opened_total")).endsWith(" 1000.0");
        assertThat(line(scrape, "istio_tcp_sent_bytes_total")).endsWith(" 2000.0");
    }

    @Test
    void withSourcePrincipalForAnUnknownPeer() {
        ConnectionLabels l = ConnectionLabels.of(Reporter.DESTINATION, null, SERVER, null, SecurityPolicy.MUTUAL_TLS)
                .withSourcePrincipal("spiffe://other.org/ns/x/sa/y");
        assertThat(l.sourcePrincipal()).isEqualTo("spiffe://other.org/ns/x/sa/y");
        assertThat(l.sourceWorkload()).isEqualTo(ConnectionLabels.UNKNOWN);
    }
}
