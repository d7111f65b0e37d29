package dev.hbone.ztunnel.proxy;

import static dev.hbone.ztunnel.proxy.TwoNodeMeshTest.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.ztunnel.cli.ProxyConfig;
import dev.hbone.ztunnel.cli.ZtunnelMain;
import dev.hbone.ztunnel.lifecycle.NodeProxy;
import dev.hbone.ztunnel.support.BlockingEcho;
import io.spiffe.spiffeid.TrustDomain;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SOCKS5 domain names (service hostnames of the local configuration, else DNS, reply 4 when nothing answers) and
 * byte metrics that move while a connection is still open. Two node proxies on loopback sharing one CA: the client
 * workload on 127.0.0.31 (node A), the server on 127.0.0.32 (node B), a service {@code echo.default.svc.cluster.local}
 * on VIP 127.10.0.31:80.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SocksNamesAndLiveBytesTest {
    static final String A_IP = "127.0.0.31";
    static final String B_IP = "127.0.0.32";
    static final String SERVICE = "echo.default.svc.cluster.local";

    @TempDir
    static Path dir;

    private BlockingEcho echo;
    private BlockingEcho localhostEcho;
    private NodeProxy nodeA;
    private NodeProxy nodeB;

    @BeforeAll
    void startMesh() throws Exception {
        echo = new BlockingEcho(new InetSocketAddress(B_IP, 0));
        localhostEcho = new BlockingEcho(new InetSocketAddress("127.0.0.1", 0));
        Path ca = dir.resolve("ca");
        CertificateAuthority.builder(TrustDomain.parse("cluster.local")).build().save(ca);
        Path config = dir.resolve("mesh.yaml");
        Files.writeString(config, """
                workloads:
                - uid: node-a/client
                  name: client
                  namespace: default
                  serviceAccount: client
                  workloadIps: ["127.0.0.31"]
                  protocol: HBONE
                  node: node-a
                - uid: node-b/echo
                  name: echo
                  namespace: default
                  serviceAccount: echo
                  workloadIps: ["127.0.0.32"]
                  protocol: HBONE
                  node: node-b
                  services: {"default/%1$s": {80: %2$d}}
                services:
                - name: echo
                  namespace: default
                  hostname: %1$s
                  vips: ["/127.10.0.31"]
                  ports: {80: %2$d}
                """.formatted(SERVICE, echo.port()));
        nodeA = NodeProxy.start(config("node-a", A_IP, config, ca));
        nodeB = NodeProxy.start(config("node-b", B_IP, config, ca));
        await("both nodes ready", () -> nodeA.readiness().isReady() && nodeB.readiness().isReady());
    }

    @AfterAll
    void stopMesh() throws Exception {
        for (NodeProxy n : new NodeProxy[] {nodeA, nodeB}) {
            if (n != null) {
                n.shutdown().get(30, TimeUnit.SECONDS);
            }
        }
        for (BlockingEcho e : new BlockingEcho[] {echo, localhostEcho}) {
            if (e != null) {
                e.close();
            }
        }
    }

    private static ProxyConfig config(String node, String ip, Path file, Path ca) throws Exception {
        String inbound = ip.equals(B_IP) ? ip + ":15008" : ip + ":0";
        return ZtunnelMain.parseConfig(new String[] {
            "--local-xds-path=" + file, "--node-name=" + node, "--ca-mode=pem", "--ca-dir=" + ca,
            "--inbound-address=" + inbound, "--inbound-plaintext-address=" + ip + ":0",
            "--outbound-address=" + ip + ":0", "--socks5-address=" + ip + ":0", "--enable-socks5",
            "--admin-address=" + ip + ":0", "--stats-address=" + ip + ":0", "--readiness-address=" + ip + ":0",
            "--connection-termination-deadline=2s", "--worker-threads=2"}, Map.of());
    }

    @Test
    void serviceHostnameResolvesToItsVipAndReachesTheEndpointThroughHbone() throws Exception {
        try (Socket s = socks5Name(nodeA, A_IP, SERVICE, 80)) {
            assertThat(roundTrip(s, "by name")).isEqualTo("by name");
        }
        // the tunnel went to the service's endpoint, reported with the service on both sides
        await("destination metrics name the service", () -> nodeB.metrics().scrape().lines().anyMatch(l ->
                l.startsWith("istio_tcp_connections_opened_total{") && l.contains("reporter=\"destination\"")
                        && l.contains("destination_service=\"" + SERVICE + "\"")));
        // a trailing dot (fully qualified) and upper case are the same name
        try (Socket s = socks5Name(nodeA, A_IP, "Echo.Default.svc.cluster.local.", 80)) {
            assertThat(roundTrip(s, "fqdn")).isEqualTo("fqdn");
        }
    }

    @Test
    void otherNamesAreLookedUpInDns() throws Exception {
        // localhost is no service: DNS (the hosts file) answers 127.0.0.1, outside the mesh: passthrough
        try (Socket s = socks5Name(nodeA, A_IP, "localhost", localhostEcho.port())) {
            assertThat(roundTrip(s, "via dns")).isEqualTo("via dns");
        }
    }

    @Test
    void unresolvableOrInvalidNamesGetHostUnreachable() throws Exception {
        long failuresBefore = bytes(nodeA, "istio_connection_failures_total", "response_flags=\"CONNECT\"");
        IOException unknown = assertThrows(IOException.class,
                () -> socks5Name(nodeA, A_IP, "no-such-host.invalid", 80));
        assertThat(unknown).hasMessage("SOCKS5 reply 4");
        IOException invalid = assertThrows(IOException.class,
                () -> socks5Name(nodeA, A_IP, "bad name!", 80));
        assertThat(invalid).hasMessage("SOCKS5 reply 4");
        IOException empty = assertThrows(IOException.class, () -> socks5Name(nodeA, A_IP, "", 80));
        assertThat(empty).hasMessage("SOCKS5 reply 4");
        // each refusal is counted where the proxy runs
        await("three outbound CONNECT failures", () -> bytes(nodeA, "istio_connection_failures_total",
                "response_flags=\"CONNECT\"") - failuresBefore == 3);
        assertThat(nodeA.metrics().scrape()).contains("direction=\"outbound\"");
    }

    @Test
    void byteMetricsMoveWhileTheConnectionIsOpen() throws Exception {
        String marker = "destination_service=\"" + SERVICE + "\"";
        long before = bytes(nodeB, "istio_tcp_received_bytes_total", "reporter=\"destination\"");
        long beforeA = bytes(nodeA, "istio_tcp_sent_bytes_total", "reporter=\"source\"");
        byte[] payload = new byte[100_000];
        try (Socket s = socks5Name(nodeA, A_IP, "127.10.0.31", 80)) {
            s.getOutputStream().write(payload);
            new DataInputStream(s.getInputStream()).readFully(new byte[payload.length]); // echoed: both ways done
            // still open: nothing has been closed, yet both proxies have counted every byte already
            await("destination counted the bytes of the open connection", () ->
                    bytes(nodeB, "istio_tcp_received_bytes_total", "reporter=\"destination\"") - before
                            >= payload.length);
            await("source counted the echo of the open connection", () ->
                    bytes(nodeA, "istio_tcp_sent_bytes_total", "reporter=\"source\"") - beforeA >= payload.length);
            assertThat(s.isClosed()).isFalse();
            assertThat(nodeB.metrics().scrape()).contains(marker);
            s.getOutputStream().write('x'); // the connection is still usable
            assertThat(s.getInputStream().read()).isEqualTo('x');
        }
        // at close the rest is added once: exactly the payload and the extra byte, never twice
        await("closed", () -> nodeB.metrics().scrape().lines().anyMatch(l ->
                l.startsWith("istio_tcp_connections_closed_total{") && l.contains("reporter=\"destination\"")));
        await("final count", () -> bytes(nodeB, "istio_tcp_received_bytes_total", "reporter=\"destination\"")
                - before == payload.length + 1);
        assertThat(bytes(nodeB, "istio_tcp_received_bytes_total", "reporter=\"destination\"") - before)
                .isEqualTo(payload.length + 1);
    }

    private static long bytes(NodeProxy node, String name, String fragment) {
        return (long) node.metrics().scrape().lines()
                .filter(l -> l.startsWith(name + "{") && l.contains(fragment))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private static String roundTrip(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
        s.shutdownOutput();
        return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    }

    /** A SOCKS5 CONNECT with a domain name (ATYP 3); throws with the reply code when refused. */
    static Socket socks5Name(NodeProxy node, String from, String host, int port) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(node.dataPath().socks5Address().orElseThrow(), 5000);
        s.setSoTimeout(30_000);
        try {
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            out.write(new byte[] {5, 1, 0});
            in.readFully(new byte[2]);
            byte[] name = host.getBytes(StandardCharsets.US_ASCII);
            byte[] req = new byte[7 + name.length];
            req[0] = 5;
            req[1] = 1;
            req[3] = 3;
            req[4] = (byte) name.length;
            System.arraycopy(name, 0, req, 5, name.length);
            req[5 + name.length] = (byte) (port >> 8);
            req[6 + name.length] = (byte) port;
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
}
