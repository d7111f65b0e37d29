package dev.hbone.ztunnel.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.ztunnel.support.BackgroundProcess;
import dev.hbone.ztunnel.support.BlockingEcho;
import dev.hbone.ztunnel.support.Commands;
import dev.hbone.ztunnel.support.Socks5;
import dev.hbone.ztunnel.support.Ztunnel;
import io.spiffe.spiffeid.TrustDomain;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two proxy processes ({@code java -jar target/ztunnel.jar}) acting as two nodes on loopback addresses, sharing one
 * plug-in CA directory ({@code --ca-mode pem}), plus the Python h2 peer of the HBONE interop tests as a third
 * "node". Node A (127.0.5.1) serves the client workload {@code sleep} (127.0.5.3), which enters through A's
 * SOCKS5 listener; node B (127.0.5.2) serves {@code echo} (127.0.5.4, HBONE on 127.0.5.4:15008); the Python peer
 * serves {@code py} (127.0.5.5, HBONE on 127.0.5.5:15008). Everything is asserted from outside: application
 * bytes, {@code /metrics} and the access log in the processes' output.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class TwoProcessMeshIT {
    private static final String PYTHON = "/usr/bin/python3"; // python3-h2 installs for the system Python only
    private static final Path PEER_SCRIPT = Path.of("..", "hbone-netty", "src", "test", "python", "hbone_peer.py");
    private static final String A = "127.0.5.1";
    private static final String B = "127.0.5.2";
    private static final String SLEEP_IP = "127.0.5.3";
    private static final String ECHO_IP = "127.0.5.4";
    private static final String PY_IP = "127.0.5.5";
    private static final int ECHO_PORT = 8080;
    private static final int REFUSING_PORT = 8081; // nothing listens
    private static final int DENIED_PORT = 9999;
    private static final String SLEEP_ID = "spiffe://cluster.local/ns/default/sa/sleep";
    private static final String ECHO_ID = "spiffe://cluster.local/ns/default/sa/echo";
    private static final String PY_ID = "spiffe://cluster.local/ns/default/sa/py";
    private static final Duration START = Duration.ofSeconds(60);

    @TempDir
    static Path dir;

    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private CertificateAuthority ca;
    private BackgroundProcess nodeA;
    private BackgroundProcess nodeB;
    private Map<String, Integer> portsA;
    private Map<String, Integer> portsB;
    private int socksPort;
    private Path configB;

    @BeforeAll
    void startMesh() throws Exception {
        ca = Ztunnel.caDir(dir.resolve("ca"), "cluster.local");
        cleanup.add(new BlockingEcho(new InetSocketAddress(ECHO_IP, ECHO_PORT)));
        Path configA = dir.resolve("a.yaml");
        configB = dir.resolve("b.yaml");
        Files.writeString(configA, config(""));
        Files.writeString(configB, config(""));
        nodeA = track(Ztunnel.start("node-a", null, args("node-a", A, A + ":0", configA,
                "--enable-socks5", "--socks5-address=" + A + ":0"), Map.of()));
        nodeB = track(Ztunnel.start("node-b", null, args("node-b", B, ECHO_IP + ":15008", configB), Map.of()));
        portsA = Ztunnel.endpointPorts(nodeA, START);
        portsB = Ztunnel.endpointPorts(nodeB, START);
        Ztunnel.awaitReady(nodeA, A, portsA.get("readiness"), START);
        Ztunnel.awaitReady(nodeB, B, portsB.get("readiness"), START);
        socksPort = Integer.parseInt(nodeA.awaitLine(Pattern.compile("SOCKS5 " + Pattern.quote(A) + ":(\\d+)"),
                START).group(1));
    }

    @AfterAll
    void stopMesh() {
        for (int i = cleanup.size() - 1; i >= 0; i--) {
            try {
                cleanup.get(i).close();
            } catch (Exception e) {
                System.err.println("cleanup: " + e);
            }
        }
    }

    private <T extends AutoCloseable> T track(T resource) {
        cleanup.add(resource);
        return resource;
    }

    private static List<String> args(String node, String ip, String inbound, Path config, String... extra) {
        List<String> args = new ArrayList<>(List.of("--node-name=" + node, "--local-xds-path=" + config,
                "--ca-mode=pem", "--ca-dir=" + config.resolveSibling("ca"),
                "--admin-address=" + ip + ":0", "--stats-address=" + ip + ":0", "--readiness-address=" + ip + ":0",
                "--inbound-address=" + inbound, "--inbound-plaintext-address=" + ip + ":0",
                "--outbound-address=" + ip + ":0", "--connection-termination-deadline=2s"));
        args.addAll(List.of(extra));
        return args;
    }

    private static String config(String extraPolicies) {
        return """
                workloads:
                - uid: cluster1//v1/Pod/default/sleep
                  name: sleep
                  namespace: default
                  serviceAccount: sleep
                  workloadName: sleep
                  workloadIps: ["%s"]
                  protocol: HBONE
                  node: node-a
                - uid: cluster1//v1/Pod/default/echo
                  name: echo
                  namespace: default
                  serviceAccount: echo
                  workloadName: echo
                  workloadIps: ["%s"]
                  protocol: HBONE
                  node: node-b
                - uid: cluster1//v1/Pod/default/py
                  name: py
                  namespace: default
                  serviceAccount: py
                  workloadName: py
                  workloadIps: ["%s"]
                  protocol: HBONE
                  node: node-py
                policies:
                - name: deny-9999
                  namespace: default
                  scope: Namespace
                  action: Deny
                  rules:
                  - - - destinationPorts: [%d]
                - name: allow-default
                  namespace: default
                  scope: Namespace
                  action: Allow
                  rules:
                  - - - namespaces: [{exact: default}]
                """.formatted(SLEEP_IP, ECHO_IP, PY_IP, DENIED_PORT) + extraPolicies;
    }

    private Socket viaSocks(String ip, int port) throws IOException {
        return Socks5.connect(new InetSocketAddress(A, socksPort), InetAddress.getByName(SLEEP_IP),
                new InetSocketAddress(ip, port));
    }

    private String metrics(String ip, Map<String, Integer> ports) throws Exception {
        return Ztunnel.get("http://" + ip + ":" + ports.get("stats") + "/metrics").body();
    }

    private void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "\nnode B:\n" + nodeB.output()
                        + "\nnode B metrics:\n" + (quietly(() -> true) ? safeMetrics() : ""));
            }
            Thread.sleep(100);
        }
    }

    private String safeMetrics() {
        try {
            return metrics(B, portsB);
        } catch (Exception e) {
            return e.toString();
        }
    }

    private interface Check {
        boolean ok() throws Exception;
    }

    private static boolean quietly(Check c) {
        try {
            return c.ok();
        } catch (Exception e) {
            return false;
        }
    }

    /** Sends {@code bytes} on a long-lived connection and reads them back. */
    private static void roundTrip(Socket s, byte[] bytes) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(bytes);
        out.flush();
        byte[] back = new byte[bytes.length];
        new DataInputStream(s.getInputStream()).readFully(back);
        assertThat(back).isEqualTo(bytes);
    }

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return b;
    }

    @Test
    void aLongLivedConnectionKeepsFlowingWhileBadThingsHappenAroundIt() throws Exception {
        try (Socket longLived = viaSocks(ECHO_IP, ECHO_PORT)) {
            long sent = 0;
            byte[] chunk = random(64 * 1024);
            roundTrip(longLived, chunk);
            sent += chunk.length;

            // 1. payload integrity: 8 MiB through SOCKS5 → A → HBONE → B → echo, digest compared
            try (Socket bulk = viaSocks(ECHO_IP, ECHO_PORT)) {
                byte[] big = random(8 * 1024 * 1024);
                Thread writer = new Thread(() -> {
                    try {
                        bulk.getOutputStream().write(big);
                        bulk.shutdownOutput();
                    } catch (IOException e) {
                        // the read side reports
                    }
                });
                writer.start();
                byte[] back = bulk.getInputStream().readAllBytes();
                writer.join(30_000);
                assertThat(MessageDigest.getInstance("SHA-256").digest(back))
                        .isEqualTo(MessageDigest.getInstance("SHA-256").digest(big));
            }

            // 2. a denied connection: policy deny-9999 on B; the SOCKS5 client gets a refusal, B counts DENY
            assertThatThrownBy(() -> viaSocks(ECHO_IP, DENIED_PORT).close())
                    .isInstanceOf(Socks5.Socks5Exception.class);
            roundTrip(longLived, chunk);
            sent += chunk.length;

            // 3. an upstream that refuses: nothing listens on echo:8081; B answers 503, flag CONNECT
            assertThatThrownBy(() -> viaSocks(ECHO_IP, REFUSING_PORT).close())
                    .isInstanceOf(Socks5.Socks5Exception.class);
            roundTrip(longLived, chunk);
            sent += chunk.length;

            // 4. a bad configuration file on B: refused with the field named, counted, the previous one kept
            Files.writeString(configB, config("") + "- name: typo\n  namespace: default\n  acton: Deny\n");
            nodeB.awaitLine(l -> l.contains("b.yaml: policies[2]") && l.contains("acton"),
                    "the refused file's error", Duration.ofSeconds(30));
            await("reload error counted", Duration.ofSeconds(30), () -> quietly(() -> Ztunnel.metric(
                    metrics(B, portsB), "istio_local_config_reload_errors_total") == 1.0));
            roundTrip(longLived, chunk);
            sent += chunk.length;
            try (Socket fresh = viaSocks(ECHO_IP, ECHO_PORT)) {
                roundTrip(fresh, "still routed".getBytes(StandardCharsets.US_ASCII));
            }

            // 5. a peer with a certificate from another CA: B's handshake fails and is counted
            Path rogue = dir.resolve("rogue");
            Files.createDirectories(rogue);
            CertificateAuthority other = CertificateAuthority.builder(TrustDomain.parse("cluster.local")).build();
            Ztunnel.writeSvid(other, SLEEP_ID, rogue, "rogue");
            Files.writeString(rogue.resolve("ca.pem"), Ztunnel.pem("CERTIFICATE", ca.rootCertificate().getEncoded()));
            if (pythonH2()) {
                try (BackgroundProcess py = BackgroundProcess.start("rogue-peer", List.of(PYTHON,
                        PEER_SCRIPT.toString(), "client", "--cert", rogue.resolve("rogue-cert.pem").toString(),
                        "--key", rogue.resolve("rogue-key.pem").toString(), "--ca", rogue.resolve("ca.pem").toString(),
                        "--peer", ECHO_IP + ":15008", "--expect", ECHO_ID, "integrity",
                        ECHO_IP + ":" + ECHO_PORT, "1000"))) {
                    assertThat(py.awaitExit(Duration.ofSeconds(60))).as(py.output()).isNotZero();
                }
                await("inbound handshake failure counted", Duration.ofSeconds(30), () -> quietly(() ->
                        Ztunnel.metric(metrics(B, portsB), "istio_tls_handshake_failures_total",
                                "direction=\"inbound\"", "reason=\"untrusted_chain\"") >= 1.0));
                assertThat(nodeB.output()).contains("inbound HBONE handshake refused (untrusted_chain)");
            }
            roundTrip(longLived, chunk);
            sent += chunk.length;

            // 6. a peer that does not speak TLS at all: closed, counted with reason "handshake"
            try (Socket garbage = new Socket()) {
                garbage.setSoTimeout(30_000);
                garbage.connect(new InetSocketAddress(ECHO_IP, 15008), 10_000);
                garbage.getOutputStream().write("CONNECT 127.0.5.4:8080 HTTP/1.1\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                garbage.getOutputStream().flush();
                try {
                    garbage.getInputStream().readAllBytes(); // whatever alert comes, then the close
                } catch (IOException reset) {
                    // closed with a reset: as good
                }
            }
            await("non-TLS peer counted", Duration.ofSeconds(30), () -> quietly(() -> Ztunnel.metric(
                    metrics(B, portsB), "istio_tls_handshake_failures_total", "direction=\"inbound\"",
                    "reason=\"handshake\"") >= 1.0));
            roundTrip(longLived, chunk);
            sent += chunk.length;

            longLived.shutdownOutput();
            assertThat(longLived.getInputStream().read()).isEqualTo(-1);

            // The access logs tell the same story.
            final long total = sent;
            String flow = nodeB.awaitLine(l -> l.contains("connection complete") && l.contains("direction=inbound")
                    && l.contains("bytes_recv=" + total), "the long-lived connection's inbound line",
                    Duration.ofSeconds(30));
            assertThat(flow).contains("src.identity=\"" + SLEEP_ID + "\"", "dst.identity=\"" + ECHO_ID + "\"",
                    "dst.addr=" + ECHO_IP + ":" + ECHO_PORT, "authz=\"allow reason=allow-matched "
                            + "policy=default/allow-default", "response_flags=-");
            nodeA.awaitLine(l -> l.contains("connection complete") && l.contains("direction=outbound")
                    && l.contains("src.workload=sleep") && l.contains("bytes_sent=" + total)
                    && l.contains("response_flags=-"), "the long-lived connection's outbound line",
                    Duration.ofSeconds(30));
            String denied = nodeB.awaitLine(l -> l.contains("connection complete")
                    && l.contains("dst.addr=" + ECHO_IP + ":" + DENIED_PORT), "the denied line", Duration.ofSeconds(30));
            assertThat(denied).contains("policy=default/deny-9999", "response_flags=DENY");
            String refused = nodeB.awaitLine(l -> l.contains("connection complete")
                    && l.contains(ECHO_IP + ":" + REFUSING_PORT), "the refused upstream line", Duration.ofSeconds(30));
            assertThat(refused).contains("response_flags=CONNECT", "upstream connect to");

            // ... and so do the metrics, with Istio's labels.
            String b = metrics(B, portsB);
            String a = metrics(A, portsA);
            String[] mtlsFromSleep = {"reporter=\"destination\"", "source_principal=\"" + SLEEP_ID + "\"",
                    "destination_principal=\"" + ECHO_ID + "\"", "destination_workload=\"echo\"",
                    "connection_security_policy=\"mutual_tls\""};
            assertThat(Ztunnel.metric(b, "istio_tcp_connections_opened_total", mtlsFromSleep)).isGreaterThanOrEqualTo(5);
            assertThat(Ztunnel.metric(b, "istio_tcp_connections_closed_total", concat(mtlsFromSleep,
                    "response_flags=\"DENY\""))).isEqualTo(1.0);
            assertThat(Ztunnel.metric(b, "istio_tcp_connections_closed_total", concat(mtlsFromSleep,
                    "response_flags=\"CONNECT\""))).isEqualTo(1.0);
            assertThat(Ztunnel.metric(b, "istio_tcp_received_bytes_total", concat(mtlsFromSleep,
                    "response_flags=\"-\""))).isGreaterThanOrEqualTo(8 * 1024 * 1024 + total);
            assertThat(Ztunnel.metric(b, "istio_connection_failures_total", "direction=\"inbound\"",
                    "response_flags=\"DENY\"")).isEqualTo(1.0);
            assertThat(Ztunnel.metric(a, "istio_tcp_sent_bytes_total", "reporter=\"source\"",
                    "source_workload=\"sleep\"", "destination_principal=\"" + ECHO_ID + "\"",
                    "response_flags=\"-\"")).isGreaterThanOrEqualTo(8 * 1024 * 1024 + total);
            assertThat(Ztunnel.metric(a, "istio_connection_failures_total", "direction=\"outbound\""))
                    .isGreaterThanOrEqualTo(2.0);
            assertThat(Ztunnel.metric(b, "istio_local_config_reloads_total")).isEqualTo(1.0);
        } finally {
            Files.writeString(configB, config(""));
        }
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static boolean pythonH2() throws Exception {
        boolean present;
        try {
            Process p = new ProcessBuilder(PYTHON, "-c", "import h2").redirectErrorStream(true).start();
            present = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            present = false;
        }
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("python3-h2 is not installed for " + PYTHON + " (mandatory under CI=true)");
        }
        return present;
    }

    @Test
    void pythonH2PeerTunnelsIntoNodeBAndNodeAReachesItAsARemoteNode() throws Exception {
        Commands.require(pythonH2(), "python3-h2 is not installed for " + PYTHON + " (apt-get install python3-h2)");
        Path py = dir.resolve("py");
        Files.createDirectories(py);
        Ztunnel.writeSvid(ca, PY_ID, py, "py");
        Files.writeString(py.resolve("ca.pem"), Ztunnel.pem("CERTIFICATE", ca.rootCertificate().getEncoded()));

        // Python client → B's inbound (127.0.5.4:15008) → echo app: 4 MiB, digests compared by the peer.
        try (BackgroundProcess client = BackgroundProcess.start("python-client", List.of(PYTHON,
                PEER_SCRIPT.toString(), "client", "--cert", py.resolve("py-cert.pem").toString(),
                "--key", py.resolve("py-key.pem").toString(), "--ca", py.resolve("ca.pem").toString(),
                "--peer", ECHO_IP + ":15008", "--expect", ECHO_ID, "integrity", ECHO_IP + ":" + ECHO_PORT,
                Integer.toString(4 * 1024 * 1024)))) {
            assertThat(client.awaitExit(Duration.ofSeconds(120))).as(client.output()).isZero();
            String out = client.output();
            assertThat(out).contains("\"status\": \"200\"", "\"bytes\": " + 4 * 1024 * 1024);
            assertThat(field(out, "received")).isEqualTo(field(out, "sent"));
        }
        nodeB.awaitLine(l -> l.contains("connection complete") && l.contains("src.identity=\"" + PY_ID + "\"")
                && l.contains("response_flags=-"), "the Python tunnel's access log", Duration.ofSeconds(30));

        // A → the Python server as node "node-py" (127.0.5.5:15008): sleep dials py:7 (the peer's echo).
        try (BackgroundProcess server = BackgroundProcess.start("python-server", List.of(PYTHON,
                PEER_SCRIPT.toString(), "server", "--cert", py.resolve("py-cert.pem").toString(),
                "--key", py.resolve("py-key.pem").toString(), "--ca", py.resolve("ca.pem").toString(),
                "--listen", PY_IP + ":15008"))) {
            server.awaitLine(Pattern.compile("PORT 15008"), Duration.ofSeconds(30));
            try (Socket s = viaSocks(PY_IP, 7)) {
                byte[] payload = random(1024 * 1024);
                Thread writer = new Thread(() -> {
                    try {
                        s.getOutputStream().write(payload);
                        s.shutdownOutput();
                    } catch (IOException e) {
                        // the read side reports
                    }
                });
                writer.start();
                byte[] back = s.getInputStream().readAllBytes();
                writer.join(30_000);
                assertThat(back).isEqualTo(payload);
            }
            assertThat(server.awaitLine(Pattern.compile("PEER (\\S+)"), Duration.ofSeconds(30)).group(1))
                    .isEqualTo(SLEEP_ID);
        }
        nodeA.awaitLine(l -> l.contains("connection complete") && l.contains("dst.identity=\"" + PY_ID + "\"")
                && l.contains("bytes_sent=" + 1024 * 1024) && l.contains("response_flags=-"),
                "the outbound line to the Python node", Duration.ofSeconds(30));
    }

    private static String field(String json, String name) {
        var m = Pattern.compile("\"" + name + "\": \"?([^\",}]*)").matcher(json);
        assertThat(m.find()).as("%s in %s", name, json).isTrue();
        return m.group(1);
    }
}
