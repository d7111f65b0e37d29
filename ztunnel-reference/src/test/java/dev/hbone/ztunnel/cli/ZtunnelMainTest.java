package dev.hbone.ztunnel.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hbone.ztunnel.internal.GoDurations;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ZtunnelMainTest {

    private static ProxyConfig parse(Map<String, String> env, String... args) throws InvalidSettingException {
        return ZtunnelMain.parseConfig(args, env);
    }

    private static InvalidSettingException refused(Map<String, String> env, String... args) {
        try {
            parse(env, args);
        } catch (InvalidSettingException e) {
            return e;
        }
        throw new AssertionError("accepted: " + String.join(" ", args) + " " + env);
    }

    @Test
    void keepsNettysBufferPoolOnUnlessTheOperatorChose() {
        String key = "io.netty.allocator.lowMemory";
        String before = System.getProperty(key);
        try {
            System.clearProperty(key);
            ZtunnelMain.poolLargeBuffers();
            assertThat(System.getProperty(key)).isEqualTo("false");
            System.setProperty(key, "true");
            ZtunnelMain.poolLargeBuffers();
            assertThat(System.getProperty(key)).as("an explicit -D wins").isEqualTo("true");
        } finally {
            if (before == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, before);
            }
        }
    }

    @Test
    void defaultsAreZtunnels() throws Exception {
        ProxyConfig c = parse(Map.of());
        assertThat(c.localXdsPath()).isEmpty();
        assertThat(c.clusterId()).isEqualTo("Kubernetes");
        assertThat(c.clusterDomain()).isEqualTo("cluster.local");
        assertThat(c.trustDomain().getName()).isEqualTo("cluster.local");
        assertThat(c.nodeName()).isEmpty();
        assertThat(c.inboundAddress()).isEqualTo(new InetSocketAddress("0.0.0.0", 15008));
        assertThat(c.inboundPlaintextAddress().getPort()).isEqualTo(15006);
        assertThat(c.outboundAddress().getPort()).isEqualTo(15001);
        assertThat(c.socks5Address()).isEqualTo(new InetSocketAddress("127.0.0.1", 15080));
        assertThat(c.adminAddress()).isEqualTo(new InetSocketAddress("127.0.0.1", 15000));
        assertThat(c.statsAddress().getPort()).isEqualTo(15020);
        assertThat(c.readinessAddress().getPort()).isEqualTo(15021);
        assertThat(c.connectionTerminationDeadline()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.secretTtl()).isEqualTo(Duration.ofHours(24));
        assertThat(c.caMode()).isEqualTo(CaMode.EMBEDDED);
        assertThat(c.accessLogFormat()).isEqualTo(AccessLogFormat.TEXT);
        assertThat(c.logLevel()).isEqualTo("info");
        assertThat(c.workerThreads()).isEqualTo(2);
        assertThat(c.dnsCapture()).isFalse();
    }

    @Test
    void ztunnelEnvironmentVariablesAreRead() throws Exception {
        ProxyConfig c = parse(Map.of(
                "LOCAL_XDS_PATH", "/etc/ztunnel/local.yaml",
                "CLUSTER_ID", "cluster1",
                "CLUSTER_DOMAIN", "example.local",
                "NODE_NAME", "node-a",
                "NETWORK", "net1",
                "TERMINATION_GRACE_PERIOD_SECONDS", "30",
                "SECRET_TTL", "1h30m",
                "RUST_LOG", "info,access=off",
                "LOG_FORMAT", "json",
                "ISTIO_META_DNS_CAPTURE", "true"));
        assertThat(c.localXdsPath()).contains(Path.of("/etc/ztunnel/local.yaml"));
        assertThat(c.clusterId()).isEqualTo("cluster1");
        assertThat(c.clusterDomain()).isEqualTo("example.local");
        assertThat(c.nodeName()).isEqualTo("node-a");
        assertThat(c.network()).isEqualTo("net1");
        assertThat(c.connectionTerminationDeadline()).isEqualTo(Duration.ofSeconds(25)); // ztunnel: 30 s - 5 s
        assertThat(c.secretTtl()).isEqualTo(Duration.ofMinutes(90));
        assertThat(c.logLevel()).isEqualTo("info,access=off");
        assertThat(c.accessLogFormat()).isEqualTo(AccessLogFormat.JSON);
        assertThat(c.dnsCapture()).isTrue();
        assertThat(c.origins()).containsEntry("cluster-id", "CLUSTER_ID").containsEntry("secret-ttl", "SECRET_TTL");
    }

    @Test
    void flagsWinOverEnvironmentWhichWinsOverDefaults() throws Exception {
        Map<String, String> env = Map.of("CLUSTER_ID", "from-env", "NODE_NAME", "env-node", "SECRET_TTL", "2h");
        ProxyConfig c = parse(env, "--cluster-id", "from-flag", "--connection-termination-deadline=1500ms");
        assertThat(c.clusterId()).isEqualTo("from-flag");
        assertThat(c.nodeName()).isEqualTo("env-node");
        assertThat(c.secretTtl()).isEqualTo(Duration.ofHours(2));
        assertThat(c.connectionTerminationDeadline()).isEqualTo(Duration.ofMillis(1500));
        assertThat(c.describe())
                .contains("cluster-id = from-flag (--cluster-id)", "node-name = env-node (NODE_NAME)",
                        "cluster-domain = cluster.local (default)");
    }

    @Test
    void ztunnelPrecedenceRulesBetweenVariables() throws Exception {
        assertThat(parse(Map.of("CLUSTER_ID", "a", "ISTIO_META_CLUSTER_ID", "b")).clusterId()).isEqualTo("b");
        assertThat(parse(Map.of("ISTIO_META_CLUSTER_ID", "b"), "--cluster-id=c").clusterId()).isEqualTo("c");
        assertThat(parse(Map.of("CONNECTION_TERMINATION_DEADLINE", "7s", "TERMINATION_GRACE_PERIOD_SECONDS", "60"))
                .connectionTerminationDeadline()).isEqualTo(Duration.ofSeconds(7));
        assertThat(parse(Map.of("TERMINATION_GRACE_PERIOD_SECONDS", "3")).connectionTerminationDeadline())
                .isEqualTo(Duration.ofSeconds(2));
        assertThat(parse(Map.of("TERMINATION_GRACE_PERIOD_SECONDS", "1")).connectionTerminationDeadline())
                .isEqualTo(Duration.ofSeconds(1));
        assertThat(parse(Map.of("UNSTABLE_ENABLE_SOCKS5", "true")).socks5Enabled()).isTrue();
        assertThat(parse(Map.of()).socks5Enabled()).isFalse();
        assertThat(parse(Map.of(), "--enable-socks5").socks5Enabled()).isTrue();
        assertThat(parse(Map.of("ZTUNNEL_WORKER_THREADS", "100%")).workerThreads())
                .isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(refused(Map.of("ZTUNNEL_WORKER_THREADS", "150%")))
                .hasMessage("ZTUNNEL_WORKER_THREADS \"150%\": percentage must be in (0, 100]");
        assertThat(refused(Map.of("CONNECTION_TERMINATION_DEADLINE", "5")))
                .hasMessageStartingWith("CONNECTION_TERMINATION_DEADLINE \"5\": not a duration");
    }

    @Test
    void everyListenerIsConfigurableForSeveralProxiesOnOneMachine() throws Exception {
        ProxyConfig c = parse(Map.of(),
                "--inbound-address=127.0.0.5:15008", "--inbound-plaintext-address=127.0.0.5:15006",
                "--outbound-address=127.0.0.5:15001", "--socks5-address=127.0.0.5:15080", "--enable-socks5",
                "--admin-address=127.0.0.5:15000", "--stats-address=127.0.0.5:15020",
                "--readiness-address=[::1]:15021");
        assertThat(c.inboundAddress()).isEqualTo(new InetSocketAddress("127.0.0.5", 15008));
        assertThat(c.adminAddress()).isEqualTo(new InetSocketAddress("127.0.0.5", 15000));
        assertThat(c.readinessAddress()).isEqualTo(new InetSocketAddress("::1", 15021));
        assertThat(ProxyConfig.format(c.readinessAddress())).isEqualTo("[0:0:0:0:0:0:0:1]:15021");
    }

    @Test
    void badValuesNameTheirSourceValueAndReason() {
        assertThat(refused(Map.of(), "--admin-address", "127.0.0.1:99999"))
                .hasMessage("--admin-address \"127.0.0.1:99999\": port 99999 is not in 0..65535");
        assertThat(refused(Map.of(), "--stats-address", "localhost:15020"))
                .hasMessage("--stats-address \"localhost:15020\": \"localhost\" is not an IP address");
        assertThat(refused(Map.of(), "--inbound-address", "15008"))
                .hasMessageStartingWith("--inbound-address \"15008\": expected IP:PORT");
        assertThat(refused(Map.of("TERMINATION_GRACE_PERIOD_SECONDS", "5s")))
                .hasMessage("TERMINATION_GRACE_PERIOD_SECONDS \"5s\": not a whole number of seconds");
        assertThat(refused(Map.of("SECRET_TTL", "tomorrow")))
                .hasMessageStartingWith("SECRET_TTL \"tomorrow\": not a duration");
        assertThat(refused(Map.of("SECRET_TTL", "10s")))
                .hasMessage("SECRET_TTL \"10s\": must be at least 1m");
        assertThat(refused(Map.of("ZTUNNEL_WORKER_THREADS", "0")))
                .hasMessage("ZTUNNEL_WORKER_THREADS \"0\": must be in 1..1024");
        assertThat(refused(Map.of("RUST_LOG", "info,dev.hbone=loud")))
                .hasMessageStartingWith("RUST_LOG \"info,dev.hbone=loud\": \"dev.hbone=loud\" is not LEVEL");
        assertThat(refused(Map.of("LOG_FORMAT", "xml")))
                .hasMessage("LOG_FORMAT \"xml\": expected text or json");
        assertThat(refused(Map.of("CLUSTER_ID", "")))
                .hasMessage("CLUSTER_ID \"\": must not be empty");
        assertThat(refused(Map.of("TRUST_DOMAIN", "Bad Domain")))
                .hasMessageStartingWith("TRUST_DOMAIN \"Bad Domain\": not a valid trust domain");
        assertThat(refused(Map.of("ISTIO_META_DNS_CAPTURE", "maybe")))
                .hasMessage("ISTIO_META_DNS_CAPTURE \"maybe\": expected true or false");
    }

    @Test
    void caModeCombinationsAreChecked() {
        assertThat(refused(Map.of(), "--ca-mode", "vault"))
                .hasMessage("--ca-mode \"vault\": expected one of: embedded, pem, static");
        assertThat(refused(Map.of(), "--ca-mode", "pem"))
                .hasMessage("--ca-mode \"pem\": needs --ca-dir (the CA's PEM files)");
        assertThat(refused(Map.of(), "--ca-mode", "static"))
                .hasMessage("--ca-mode \"static\": needs at least one --svid");
        assertThat(refused(Map.of(), "--ca-mode", "static", "--svid",
                "spiffe://cluster.local/ns/a/sa/b=/c.pem,/k.pem"))
                .hasMessageStartingWith("--ca-mode \"static\": needs --trust-bundle");
        assertThat(refused(Map.of(), "--ca-dir", "/etc/cacerts"))
                .hasMessage("--ca-dir \"/etc/cacerts\": only used with --ca-mode=pem");
        assertThat(refused(Map.of(), "--ca-mode=pem", "--ca-dir=/x", "--ca-root-out=/r.pem"))
                .hasMessage("--ca-root-out \"/r.pem\": only used with --ca-mode=embedded");
        assertThat(refused(Map.of(), "--ca-mode=static", "--svid", "not-an-id=/c.pem,/k.pem",
                "--trust-bundle", "cluster.local=/root.pem"))
                .hasMessageStartingWith("--svid \"not-an-id=/c.pem,/k.pem\": not a SPIFFE ID");
        assertThat(refused(Map.of(), "--ca-mode=static", "--svid", "spiffe://cluster.local/ns/a/sa/b=/c.pem",
                "--trust-bundle", "cluster.local=/root.pem"))
                .hasMessage("--svid \"spiffe://cluster.local/ns/a/sa/b=/c.pem\": expected SPIFFE_ID=CERT_PEM,KEY_PEM");
        assertThat(refused(Map.of(), "--trust-bundle", "/root.pem"))
                .hasMessage("--trust-bundle \"/root.pem\": expected TRUST_DOMAIN=PEM_FILE");
    }

    @Test
    void staticAndPemModesParse() throws Exception {
        ProxyConfig s = parse(Map.of(), "--ca-mode=static",
                "--svid", "spiffe://cluster.local/ns/a/sa/b=/certs/b.pem,/certs/b-key.pem",
                "--trust-bundle", "cluster.local=/certs/root.pem", "--trust-bundle", "other.org=/certs/other.pem");
        assertThat(s.caMode()).isEqualTo(CaMode.STATIC);
        assertThat(s.staticSvids()).singleElement().satisfies(f -> {
            assertThat(f.identity().toString()).isEqualTo("spiffe://cluster.local/ns/a/sa/b");
            assertThat(f.certificateChain()).isEqualTo(Path.of("/certs/b.pem"));
            assertThat(f.privateKey()).isEqualTo(Path.of("/certs/b-key.pem"));
        });
        assertThat(s.trustBundles()).extracting(b -> b.trustDomain().getName()).containsExactly("cluster.local",
                "other.org");
        ProxyConfig p = parse(Map.of(), "--ca-mode=PEM", "--ca-dir=/etc/cacerts");
        assertThat(p.caMode()).isEqualTo(CaMode.PEM);
        assertThat(p.caDirectory()).contains(Path.of("/etc/cacerts"));
    }

    @Test
    void collidingListenersAreRefused() {
        assertThat(refused(Map.of(), "--admin-address=127.0.0.1:15020"))
                .hasMessage("--admin-address \"127.0.0.1:15020\": same port as --stats-address (default)"
                        + " 0.0.0.0:15020");
        assertThat(refused(Map.of(), "--admin-address=127.0.0.9:7000", "--readiness-address=127.0.0.9:7000"))
                .hasMessageContaining("--readiness-address \"127.0.0.9:7000\": same port as --admin-address");
    }

    @Test
    void unknownFlagIsRefused() {
        assertThat(refused(Map.of(), "--admin-adress=127.0.0.1:1"))
                .hasMessageContaining("Unknown option: '--admin-adress=127.0.0.1:1'");
    }

    @Test
    void helpListsFlagsAndEnvironmentVariables() {
        StringWriter out = new StringWriter();
        CommandLine cmd = new CommandLine(new ZtunnelMain());
        cmd.setOut(new PrintWriter(out));
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream warnings = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(warnings, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            assertThat(cmd.execute("--help")).isZero();
        } finally {
            System.setErr(err);
        }
        // picocli formats descriptions: an unescaped '%' makes it warn on every --help.
        assertThat(warnings.toString(java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("picocli WARN");
        assertThat(out.toString()).contains("N or P% of the CPUs");
        assertThat(out.toString()).contains("--local-xds-path", "LOCAL_XDS_PATH", "--admin-address",
                "TERMINATION_GRACE_PERIOD_SECONDS", "CONNECTION_TERMINATION_DEADLINE", "RUST_LOG", "--ca-mode",
                "--svid", "UNSTABLE_ENABLE_SOCKS5");
        StringWriter version = new StringWriter();
        cmd.setOut(new PrintWriter(version));
        assertThat(cmd.execute("--version")).isZero();
        assertThat(version.toString()).startsWith("ztunnel (hbone-java) ");
    }

    @Test
    void goDurations() {
        assertThat(GoDurations.parse("24h")).isEqualTo(Duration.ofHours(24));
        assertThat(GoDurations.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(GoDurations.parse("1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(GoDurations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(GoDurations.parse("0")).isEqualTo(Duration.ZERO);
        assertThatThrownBy(() -> GoDurations.parse("5")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GoDurations.parse("5 s")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GoDurations.parse("")).isInstanceOf(IllegalArgumentException.class);
    }
}
