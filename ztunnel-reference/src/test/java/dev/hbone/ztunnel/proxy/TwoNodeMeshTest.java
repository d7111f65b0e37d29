package dev.hbone.ztunnel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.ztunnel.accesslog.AccessLog;
import dev.hbone.ztunnel.cli.ProxyConfig;
import dev.hbone.ztunnel.cli.ZtunnelMain;
import dev.hbone.ztunnel.lifecycle.NodeProxy;
import dev.hbone.ztunnel.support.BlockingEcho;
import io.spiffe.spiffeid.TrustDomain;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Two node proxies in one JVM, on distinct loopback addresses, sharing one CA: node A serves the client workload
 * (127.0.0.21), node B the server workload (127.0.0.22, HBONE on 127.0.0.22:15008) and a plain-TCP workload
 * (127.0.0.23). Applications are blocking echo servers; traffic enters through A's SOCKS5 listener.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TwoNodeMeshTest {
    static final String A_IP = "127.0.0.21";
    static final String B_IP = "127.0.0.22";
    static final String TCP_IP = "127.0.0.23";
    static final String OUTSIDE_IP = "127.0.0.24";
    static final String STRICT = """
            - name: istio_converted_static_strict
              namespace: default
              scope: Namespace
              action: Deny
              rules:
              - - - notPrincipals: [{presence: {}}]
            """;

    @TempDir
    static Path dir;

    private final List<BlockingEcho> echoes = new ArrayList<>();
    private final ListAppender<ILoggingEvent> accessLines = new ListAppender<>();
    private final AtomicReference<InetSocketAddress> capturedDestination = new AtomicReference<>();
    private BlockingEcho echoB;
    private BlockingEcho echoTcp;
    private BlockingEcho echoOutside;
    private Path configA;
    private Path configB;
    private NodeProxy nodeA;
    private NodeProxy nodeB;

    @BeforeAll
    void startMesh() throws Exception {
        ((Logger) LoggerFactory.getLogger(AccessLog.LOGGER_NAME)).addAppender(accessLines);
        accessLines.start();
        echoB = echo(B_IP);
        echoTcp = echo(TCP_IP);
        echoOutside = echo(OUTSIDE_IP);
        Path ca = dir.resolve("ca");
        CertificateAuthority.builder(TrustDomain.parse("cluster.local")).build().save(ca);
        configA = dir.resolve("a.yaml");
        configB = dir.resolve("b.yaml");
        write(configA, "");
        write(configB, "");
        OriginalDestination seam = ch -> capturedDestination.get();
        nodeA = NodeProxy.start(config("node-a", A_IP, configA, ca), DataPathOptions.testOriginalDestination(seam));
        nodeB = NodeProxy.start(config("node-b", B_IP, configB, ca), DataPathOptions.testOriginalDestination(seam));
        await("both nodes ready", () -> nodeA.readiness().isReady() && nodeB.readiness().isReady());
    }

    @AfterAll
    void stopMesh() throws Exception {
        ((Logger) LoggerFactory.getLogger(AccessLog.LOGGER_NAME)).detachAppender(accessLines);
        for (NodeProxy n : new NodeProxy[] {nodeA, nodeB}) {
            if (n != null) {
                n.shutdown().get(30, TimeUnit.SECONDS);
            }
        }
        for (BlockingEcho e : echoes) {
            e.close();
        }
    }

    @BeforeEach
    void noPolicies() throws Exception {
        setPolicies("");
        accessLines.list.clear();
    }

    private ProxyConfig config(String node, String ip, Path file, Path ca) throws Exception {
        String inbound = ip.equals(B_IP) ? ip + ":15008" : ip + ":0";
        return ZtunnelMain.parseConfig(new String[] {
            "--local-xds-path=" + file, "--node-name=" + node, "--ca-mode=pem", "--ca-dir=" + ca,
            "--inbound-address=" + inbound, "--inbound-plaintext-address=" + ip + ":0",
            "--outbound-address=" + ip + ":0", "--socks5-address=" + ip + ":0", "--enable-socks5",
            "--admin-address=" + ip + ":0", "--stats-address=" + ip + ":0", "--readiness-address=" + ip + ":0",
            "--connection-termination-deadline=2s", "--worker-threads=2"}, Map.of());
    }

    private static String mesh(String policies) {
        return """
                workloads:
                - uid: node-a/client
                  name: client-7d4
                  namespace: default
                  serviceAccount: client
                  workloadIps: ["127.0.0.21"]
                  protocol: HBONE
                  node: node-a
                  canonicalName: client
                  workloadName: client
                - uid: node-b/server
                  name: server-5f9
                  namespace: default
                  serviceAccount: server
                  workloadIps: ["127.0.0.22"]
                  protocol: HBONE
                  node: node-b
                  canonicalName: server
                  canonicalRevision: v1
                  workloadName: server
                - uid: node-b/legacy
                  name: legacy-1
                  namespace: legacy
                  workloadIps: ["127.0.0.23"]
                  protocol: TCP
                  node: node-b
                  workloadName: legacy
                """ + (policies.isEmpty() ? "" : "policies:\n" + policies);
    }

    private void setPolicies(String policies) throws Exception {
        String text = mesh(policies);
        for (Path file : new Path[] {configA, configB}) {
            if (!Files.exists(file) || !Files.readString(file).equals(text)) {
                write(file, text);
            }
        }
        int expected = policies.isEmpty() ? 0 : (int) policies.lines().filter(l -> l.startsWith("- name:")).count();
        await("policies applied", () -> nodeB.localConfig().policies().size() == expected
                && nodeB.localConfig().workloads().size() == 3 && nodeA.localConfig().workloads().size() == 3);
        await("certificates", () -> nodeA.readiness().isReady() && nodeB.readiness().isReady());
    }

    private static void write(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static String denyPort(String name, int port) {
        return "- name: " + name + "\n  namespace: default\n  scope: Namespace\n  action: Deny\n  rules:\n"
                + "  - - - destinationPorts: [" + port + "]\n";
    }

    private static String allowClient(String name) {
        return "- name: " + name + "\n  namespace: default\n  scope: Namespace\n  action: Allow\n  rules:\n"
                + "  - - - principals: [{exact: cluster.local/ns/default/sa/client}]\n";
    }

    // --- tests

    @Test
    void socks5ThroughHboneToTheApplicationKeepsEveryByteAndHalfClose() throws Exception {
        setPolicies(allowClient("allow-client"));
        byte[] payload = new byte[3 * 1024 * 1024 + 17];
        new Random(7).nextBytes(payload);
        try (Socket s = socks5(nodeA, A_IP, new InetSocketAddress(B_IP, echoB.port()))) {
            CompletableFuture<byte[]> echoed = CompletableFuture.supplyAsync(() -> readAll(s));
            s.getOutputStream().write(payload);
            s.shutdownOutput(); // half-close: the echo server answers all of it, then closes its side
            byte[] back = echoed.get(30, TimeUnit.SECONDS);
            assertThat(sha256(back)).isEqualTo(sha256(payload));
        }
        // the closed counter, not the opened one: bytes are reported just before it, at the close
        String b = scrapeWhen(nodeB, "istio_tcp_connections_closed_total", "reporter=\"destination\"",
                "response_flags=\"-\"");
        assertThat(metric(b, "istio_tcp_received_bytes_total", "reporter=\"destination\"")).isEqualTo(payload.length);
        assertThat(metric(b, "istio_tcp_sent_bytes_total", "reporter=\"destination\"")).isEqualTo(payload.length);
        assertThat(b).contains("source_principal=\"spiffe://cluster.local/ns/default/sa/client\"")
                .contains("destination_workload=\"server\"").contains("connection_security_policy=\"mutual_tls\"");
        String a = scrapeWhen(nodeA, "istio_tcp_connections_closed_total", "reporter=\"source\"");
        assertThat(metric(a, "istio_tcp_received_bytes_total", "reporter=\"source\"")).isEqualTo(payload.length);
        await("access log lines", () -> lines("direction=inbound").size() == 1
                && lines("direction=outbound").size() == 1);
        assertThat(lines("direction=inbound").get(0)).contains("allow-client").contains("bytes_recv=" + payload.length);
    }

    @Test
    void denyPolicyClosesTheClientAndIsCountedAndLogged() throws Exception {
        setPolicies(denyPort("deny-echo", echoB.port()));
        IOException refused = assertThrows(IOException.class,
                () -> socks5(nodeA, A_IP, new InetSocketAddress(B_IP, echoB.port())));
        assertThat(refused).hasMessageContaining("SOCKS5 reply 5");
        String b = scrapeWhen(nodeB, "response_flags=\"DENY\"");
        assertThat(b).contains("reporter=\"destination\"");
        scrapeWhen(nodeA, "response_flags=\"DENY\"", "reporter=\"source\"");
        await("access log names the policy", () -> lines("default/deny-echo").size() >= 1);
    }

    @Test
    void strictRefusesPlaintextFromOutsideTheMeshButAllowsItOtherwise() throws Exception {
        capturedDestination.set(new InetSocketAddress(B_IP, echoB.port()));
        // PERMISSIVE: a plaintext client reaches the application
        try (Socket s = plain(OUTSIDE_IP, nodeB.dataPath().inboundPlaintextAddress())) {
            s.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertThat(new String(readAll(s), StandardCharsets.US_ASCII)).isEqualTo("hello");
        }
        setPolicies(STRICT);
        assertRefused(OUTSIDE_IP, nodeB.dataPath().inboundPlaintextAddress());
        scrapeWhen(nodeB, "response_flags=\"DENY\"", "connection_security_policy=\"unknown\"");
        await("access log names the converted policy",
                () -> lines("istio_converted_static_strict").size() >= 1);
    }

    @Test
    void tcpWorkloadGetsPlainTcpAndUnknownDestinationPassesThrough() throws Exception {
        for (InetSocketAddress to : List.of(new InetSocketAddress(TCP_IP, echoTcp.port()),
                new InetSocketAddress(OUTSIDE_IP, echoOutside.port()))) {
            try (Socket s = socks5(nodeA, A_IP, to)) {
                s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput();
                assertThat(new String(readAll(s), StandardCharsets.US_ASCII)).isEqualTo("ping");
            }
        }
        String a = scrapeWhen(nodeA, "destination_workload=\"legacy\"");
        assertThat(a).contains("connection_security_policy=\"unknown\"");
        assertThat(nodeB.metrics().scrape()).doesNotContain("destination_workload=\"legacy\"");
    }

    @Test
    void smallPayloadAndImmediateHalfCloseThroughHbone() throws Exception {
        try (Socket s = socks5(nodeA, A_IP, new InetSocketAddress(B_IP, echoB.port()))) {
            s.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertThat(new String(readAll(s), StandardCharsets.US_ASCII)).isEqualTo("ping");
        }
    }

    @Test
    void upstreamRefusedAnswers503AndClosesTheClient() throws Exception {
        int closedPort;
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getByName(B_IP))) {
            closedPort = ss.getLocalPort();
        }
        IOException e = assertThrows(IOException.class,
                () -> socks5(nodeA, A_IP, new InetSocketAddress(B_IP, closedPort)));
        assertThat(e).hasMessageContaining("SOCKS5 reply 5");
        scrapeWhen(nodeB, "response_flags=\"CONNECT\"", "reporter=\"destination\"");
        scrapeWhen(nodeA, "response_flags=\"CONNECT\"", "reporter=\"source\"");
    }

    @Test
    void callsToTheProxysOwnPortsAreRefused() throws Exception {
        IOException e = assertThrows(IOException.class,
                () -> socks5(nodeA, A_IP, new InetSocketAddress(B_IP, 15008)));
        assertThat(e).hasMessageContaining("SOCKS5 reply");
    }

    @Test
    void unknownSourceIsRefusedBySocks5() throws Exception {
        IOException e = assertThrows(IOException.class,
                () -> socks5(nodeA, OUTSIDE_IP, new InetSocketAddress(B_IP, echoB.port())));
        assertThat(e).hasMessageContaining("SOCKS5 reply 2");
    }

    @Test
    void policyChangeClosesALiveConnection() throws Exception {
        try (Socket s = socks5(nodeA, A_IP, new InetSocketAddress(B_IP, echoB.port()))) {
            s.getOutputStream().write('x');
            assertThat(s.getInputStream().read()).isEqualTo('x');
            await("registered", () -> nodeB.dataPath().liveInboundConnections() == 1);
            setPolicies(denyPort("deny-now", echoB.port()));
            assertClosed(s);
        }
        await("access log says why", () -> lines("policy changed").size() == 1);
        assertThat(lines("policy changed").get(0)).contains("default/deny-now");
        scrapeWhen(nodeB, "response_flags=\"DENY\"");
    }

    @Test
    void capturedConnectionIsRoutedByItsOriginalDestination() throws Exception {
        capturedDestination.set(new InetSocketAddress(B_IP, echoB.port())); // test seam instead of TPROXY
        try (Socket s = plain(A_IP, nodeA.dataPath().outboundAddress())) {
            s.getOutputStream().write("captured".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertThat(new String(readAll(s), StandardCharsets.US_ASCII)).isEqualTo("captured");
        }
        assertRefused(OUTSIDE_IP, nodeA.dataPath().outboundAddress()); // not a workload of node A
    }

    // --- helpers

    private BlockingEcho echo(String ip) throws IOException {
        BlockingEcho e = new BlockingEcho(new InetSocketAddress(ip, 0));
        echoes.add(e);
        return e;
    }

    private static Socket plain(String from, InetSocketAddress to) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(to, 5000);
        s.setSoTimeout(20_000);
        return s;
    }

    /** A SOCKS5 CONNECT through {@code node}'s listener; throws with the reply code when refused. */
    static Socket socks5(NodeProxy node, String from, InetSocketAddress to) throws IOException {
        Socket s = plain(from, node.dataPath().socks5Address().orElseThrow());
        try {
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            out.write(new byte[] {5, 1, 0});
            byte[] greeting = new byte[2];
            in.readFully(greeting);
            byte[] ip = to.getAddress().getAddress();
            byte[] req = new byte[10];
            req[0] = 5;
            req[1] = 1;
            req[3] = 1;
            System.arraycopy(ip, 0, req, 4, 4);
            req[8] = (byte) (to.getPort() >> 8);
            req[9] = (byte) to.getPort();
            out.write(req);
            byte[] reply = new byte[10];
            in.readFully(reply);
            if (reply[1] != 0) {
                throw new IOException("SOCKS5 reply " + reply[1]);
            }
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    private static byte[] readAll(Socket s) {
        try {
            return s.getInputStream().readAllBytes();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The connection is reset or closed without a byte (a reset may already hit the connect). */
    private static void assertRefused(String from, InetSocketAddress to) throws IOException {
        try (Socket s = plain(from, to)) {
            assertClosed(s);
        } catch (SocketException e) {
            // reset
        }
    }

    private static void assertClosed(Socket s) throws IOException {
        try {
            InputStream in = s.getInputStream();
            int r;
            do {
                r = in.read();
            } while (r >= 0);
        } catch (SocketException e) {
            // reset: closed as well
        }
    }

    private static byte[] sha256(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    private List<String> lines(String containing) {
        List<String> out = new ArrayList<>();
        for (ILoggingEvent e : List.copyOf(accessLines.list)) {
            if (e.getFormattedMessage().contains(containing)) {
                out.add(e.getFormattedMessage());
            }
        }
        return out;
    }

    /** Waits until one sample line of the scrape contains every fragment; returns the scrape. */
    private static String scrapeWhen(NodeProxy node, String... fragments) throws InterruptedException {
        String[] last = new String[1];
        await("metrics with " + String.join(", ", fragments), () -> {
            last[0] = node.metrics().scrape();
            return last[0].lines().anyMatch(l -> {
                for (String f : fragments) {
                    if (!l.contains(f)) {
                        return false;
                    }
                }
                return true;
            });
        });
        return last[0];
    }

    private static long metric(String scrape, String name, String fragment) {
        return (long) scrape.lines().filter(l -> l.startsWith(name + "{") && l.contains(fragment))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10); // polling a condition, not timing
        }
    }
}
