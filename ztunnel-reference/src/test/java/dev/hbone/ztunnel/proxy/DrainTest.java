package dev.hbone.ztunnel.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.hbone.ztunnel.cli.ZtunnelMain;
import dev.hbone.ztunnel.lifecycle.NodeProxy;
import dev.hbone.ztunnel.support.BlockingEcho;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Shutdown drains the data path: no new connections, open ones carry on, the rest is closed at the deadline. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DrainTest {
    @TempDir
    Path dir;

    @Test
    void drainStopsAcceptingLetsConnectionsFinishAndForceClosesAtTheDeadline() throws Exception {
        Path config = dir.resolve("node.yaml");
        Files.writeString(config, """
                workloads:
                - uid: c
                  name: client
                  namespace: default
                  workloadIps: ["127.0.0.31"]
                  protocol: HBONE
                  node: n
                """);
        try (BlockingEcho outside = new BlockingEcho(
                new InetSocketAddress("127.0.0.35", 0))) {
            String ip = "127.0.0.31";
            NodeProxy node = NodeProxy.start(ZtunnelMain.parseConfig(new String[] {
                "--local-xds-path=" + config, "--node-name=n", "--inbound-address=" + ip + ":0",
                "--inbound-plaintext-address=" + ip + ":0", "--outbound-address=" + ip + ":0",
                "--socks5-address=" + ip + ":0", "--enable-socks5", "--admin-address=" + ip + ":0",
                "--stats-address=" + ip + ":0",
                "--readiness-address=" + ip + ":0", "--connection-termination-deadline=1s"}, Map.of()),
                DataPathOptions.defaults());
            TwoNodeMeshTest.await("ready", () -> node.readiness().isReady());
            InetSocketAddress socks = node.dataPath().socks5Address().orElseThrow();
            InetSocketAddress target = new InetSocketAddress("127.0.0.35", outside.port());
            try (Socket open = socks5(ip, socks, target)) {
                echo(open, 'a');
                node.shutdown();
                TwoNodeMeshTest.await("listener closed", () -> {
                    try (Socket s = new Socket()) {
                        s.bind(new InetSocketAddress(ip, 0));
                        s.connect(socks, 1000);
                        return false;
                    } catch (IOException e) {
                        return true;
                    }
                });
                echo(open, 'b'); // the open connection still works while draining
                assertThat(node.awaitTermination(java.time.Duration.ofSeconds(10))).isTrue();
                assertClosedOrReset(open); // force-closed at the deadline
            }
            assertThat(node.metrics().scrape()).contains("istio_tcp_connections_closed_total");
        }
    }

    private static void echo(Socket s, char c) throws IOException {
        s.getOutputStream().write(c);
        assertThat(s.getInputStream().read()).isEqualTo(c);
    }

    private static void assertClosedOrReset(Socket s) throws IOException {
        try {
            InputStream in = s.getInputStream();
            while (in.read() >= 0) {
                // drain
            }
        } catch (SocketException e) {
            // reset
        }
    }

    private static Socket socks5(String from, InetSocketAddress proxy, InetSocketAddress to) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(proxy, 5000);
        s.setSoTimeout(10_000);
        s.getOutputStream().write(new byte[] {5, 1, 0});
        DataInputStream in = new DataInputStream(s.getInputStream());
        in.readFully(new byte[2]);
        byte[] ip = to.getAddress().getAddress();
        s.getOutputStream().write(new byte[] {5, 1, 0, 1, ip[0], ip[1], ip[2], ip[3], (byte) (to.getPort() >> 8),
            (byte) to.getPort()});
        byte[] reply = new byte[10];
        in.readFully(reply);
        assertThat(reply[1]).isEqualTo((byte) 0);
        return s;
    }
}
