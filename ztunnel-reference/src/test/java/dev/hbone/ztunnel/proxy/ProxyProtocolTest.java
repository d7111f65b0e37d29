package dev.hbone.ztunnel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.ztunnel.cli.ZtunnelMain;
import dev.hbone.ztunnel.lifecycle.NodeProxy;
import io.spiffe.spiffeid.TrustDomain;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A destination workload with {@code applicationTunnel: {protocol: PROXY}}: the receiving proxy connects to the
 * tunnel port on loopback and writes a PROXY v2 header (original client, HBONE target, the client's SPIFFE ID in
 * TLV 0xD0) before the client's bytes.
 */
@Timeout(value = 40, unit = TimeUnit.SECONDS)
class ProxyProtocolTest {
    @TempDir
    Path dir;

    @Test
    void applicationTunnelGetsAProxyV2HeaderWithTheClientsIdentity() throws Exception {
        try (ServerSocket app = new ServerSocket(0, 10, InetAddress.getByName("127.0.0.1"))) {
            Path ca = dir.resolve("ca");
            CertificateAuthority.builder(TrustDomain.parse("cluster.local")).build().save(ca);
            Path file = dir.resolve("mesh.yaml");
            Files.writeString(file, """
                    workloads:
                    - uid: c
                      name: client
                      namespace: default
                      serviceAccount: client
                      workloadIps: ["127.0.0.41"]
                      protocol: HBONE
                      node: a
                    - uid: w
                      name: sandwich
                      namespace: default
                      serviceAccount: sandwich
                      workloadIps: ["127.0.0.42"]
                      protocol: HBONE
                      node: b
                      applicationTunnel: {protocol: PROXY, port: %d}
                    """.formatted(app.getLocalPort()));
            CompletableFuture<String> seen = CompletableFuture.supplyAsync(() -> serveOnce(app));
            try (NodeProxy a = start("a", "127.0.0.41", "127.0.0.41:0", file, ca);
                    NodeProxy b = start("b", "127.0.0.42", "127.0.0.42:15008", file, ca)) {
                TwoNodeMeshTest.await("ready", () -> a.readiness().isReady() && b.readiness().isReady());
                try (Socket s = TwoNodeMeshTest.socks5(a, "127.0.0.41",
                        new InetSocketAddress("127.0.0.42", 8080))) {
                    s.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
                    s.shutdownOutput();
                    assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                            .isEqualTo("hi");
                }
                assertThat(seen.get(20, TimeUnit.SECONDS)).isEqualTo(
                        "127.0.0.41 -> 127.0.0.42:8080 spiffe://cluster.local/ns/default/sa/client");
            }
        }
    }

    private NodeProxy start(String node, String ip, String inbound, Path file, Path ca) throws Exception {
        return NodeProxy.start(ZtunnelMain.parseConfig(new String[] {
            "--local-xds-path=" + file, "--node-name=" + node, "--ca-mode=pem", "--ca-dir=" + ca,
            "--inbound-address=" + inbound, "--inbound-plaintext-address=" + ip + ":0",
            "--outbound-address=" + ip + ":0", "--socks5-address=" + ip + ":0", "--enable-socks5",
            "--admin-address=" + ip + ":0",
            "--stats-address=" + ip + ":0", "--readiness-address=" + ip + ":0",
            "--connection-termination-deadline=1s"}, Map.of()), DataPathOptions.defaults());
    }

    /** Accepts one connection, parses the PROXY v2 header, echoes the rest; returns "src -> dst:port id". */
    private static String serveOnce(ServerSocket app) {
        try (Socket s = app.accept()) {
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] fixed = new byte[16];
            in.readFully(fixed);
            ByteBuffer h = ByteBuffer.wrap(fixed);
            byte[] sig = new byte[12];
            h.get(sig);
            assertThat(sig).isEqualTo(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54,
                0x0A});
            assertThat(h.get()).isEqualTo((byte) 0x21);
            assertThat(h.get()).isEqualTo((byte) 0x11);
            byte[] rest = new byte[h.getShort() & 0xFFFF];
            in.readFully(rest);
            ByteBuffer r = ByteBuffer.wrap(rest);
            byte[] src = new byte[4];
            byte[] dst = new byte[4];
            r.get(src).get(dst);
            r.getShort();
            int dstPort = r.getShort() & 0xFFFF;
            String id = "";
            while (r.remaining() >= 3) {
                int type = r.get() & 0xFF;
                byte[] v = new byte[r.getShort() & 0xFFFF];
                r.get(v);
                if (type == 0xD0) {
                    id = new String(v, StandardCharsets.UTF_8);
                }
            }
            byte[] payload = in.readAllBytes();
            s.getOutputStream().write(payload);
            s.shutdownOutput();
            return InetAddress.getByAddress(src).getHostAddress() + " -> "
                    + InetAddress.getByAddress(dst).getHostAddress() + ":" + dstPort + " " + id;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
