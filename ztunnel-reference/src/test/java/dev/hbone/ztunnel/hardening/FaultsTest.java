package dev.hbone.ztunnel.hardening;

import static dev.hbone.ztunnel.hardening.Hardening.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.spiffe.testing.TestCertificates;
import dev.hbone.spiffe.testing.TestCertificates.Authority;
import dev.hbone.spiffe.testing.TestCertificates.Issued;
import dev.hbone.ztunnel.cli.ZtunnelMain;
import dev.hbone.ztunnel.lifecycle.NodeProxy;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * security-tests.md's faults against a running node proxy (in this JVM; the peer is the Python HTTP/2 client, a
 * separate process that can be killed): an upstream that never answers the TCP handshake (503 within the connect
 * timeout), a peer that dies mid-stream (the upstream connection is closed, not left hanging) and an upstream that
 * dies mid-stream (the peer sees its stream end or reset, not a hang). Covered elsewhere: an upstream refusing
 * (TwoNodeMeshTest), policy change under live traffic (TwoNodeMeshTest), drain (DrainTest; SIGTERM of the process
 * with an open tunnel in AbuseIT), slow readers (AbuseIT zero_window / slow_read), idle tunnels (IdleTunnelsIT),
 * certificate renewal failure (CertificateRenewalFaultTest).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class FaultsTest {
    static final String IP = "127.0.10.1";

    @TempDir
    static Path dir;

    private final Authority root = TestCertificates.root("cluster.local");
    private NodeProxy node;
    private final List<Process> processes = new ArrayList<>();

    @BeforeAll
    void start() throws Exception {
        PythonPeer.requireH2();
        Hardening.writeChain(dir.resolve("root.pem"), List.of(root.rootCertificate()));
        Issued app = root.leaf("spiffe://cluster.local/ns/default/sa/app").issue();
        Hardening.writeChain(dir.resolve("app.pem"), app.chain());
        Hardening.writeKey(dir.resolve("app-key.pem"), app.privateKey());
        Issued client = root.leaf("spiffe://cluster.local/ns/default/sa/client").issue();
        Hardening.writeChain(dir.resolve("client.pem"), client.chain());
        Hardening.writeKey(dir.resolve("client-key.pem"), client.privateKey());
        Files.writeString(dir.resolve("mesh.yaml"), """
                workloads:
                - {uid: n1/app, name: app, namespace: default, serviceAccount: app, workloadIps: ["127.0.10.1"], protocol: HBONE, node: n1}
                """);
        node = NodeProxy.start(ZtunnelMain.parseConfig(new String[] {
            "--local-xds-path=" + dir.resolve("mesh.yaml"), "--node-name=n1", "--ca-mode=static",
            "--svid=spiffe://cluster.local/ns/default/sa/app=" + dir.resolve("app.pem") + ","
                    + dir.resolve("app-key.pem"),
            "--trust-bundle=cluster.local=" + dir.resolve("root.pem"),
            "--inbound-address=" + IP + ":15008", "--inbound-plaintext-address=" + IP + ":0",
            "--outbound-address=" + IP + ":0", "--admin-address=" + IP + ":0", "--stats-address=" + IP + ":0",
            "--readiness-address=" + IP + ":0", "--connection-termination-deadline=1s"}, Map.of()));
        await("ready", 30, () -> node.readiness().isReady());
    }

    @AfterAll
    void stop() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (node != null) {
            node.shutdown().get(30, TimeUnit.SECONDS);
        }
    }

    private List<String> peer(String authority, String scenario) {
        return List.of(PythonPeer.PYTHON, PythonPeer.script().toString(), "--cert", dir.resolve("client.pem")
                .toString(), "--key", dir.resolve("client-key.pem").toString(), "--peer", IP + ":15008",
                "--authority", authority, scenario);
    }

    @Test
    void upstreamThatNeverAcceptsAnswers503WithinTheConnectTimeout() throws Exception {
        // A listener whose accept queue is full: the kernel drops further SYNs, so connecting hangs (a black hole).
        try (ServerSocket blackHole = new ServerSocket(0, 1, InetAddress.getByName(IP))) {
            List<Socket> fillers = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    Socket s = new Socket();
                    s.connect(new InetSocketAddress(IP, blackHole.getLocalPort()), 1000);
                    fillers.add(s);
                }
            } catch (IOException queueFull) {
                // already full: what we want
            }
            List<String> cmd = peer(IP + ":" + blackHole.getLocalPort(), "plain_connect");
            Map<String, String> r = PythonPeer.run(cmd.subList(2, cmd.size()), 60);
            for (Socket s : fillers) {
                s.close();
            }
            assertThat(r.get("statuses")).as(r.get("json")).isEqualTo("[\"503\"]");
            // the proxy's upstream connect timeout is 10 s: the answer comes then, not never
            assertThat(Double.parseDouble(r.get("seconds"))).as(r.get("json")).isLessThan(30);
            System.out.println("black-holed upstream: " + r.get("json"));
        }
    }

    @Test
    void peerDyingMidStreamClosesTheUpstreamConnection() throws Exception {
        try (ServerSocket upstream = new ServerSocket(0, 10, InetAddress.getByName(IP))) {
            Process p = new ProcessBuilder(peer(IP + ":" + upstream.getLocalPort(), "hold"))
                    .redirectErrorStream(true).start();
            processes.add(p);
            upstream.setSoTimeout(30_000);
            try (Socket app = upstream.accept()) {
                app.setSoTimeout(30_000);
                byte[] hello = app.getInputStream().readNBytes(5);
                assertThat(new String(hello, StandardCharsets.US_ASCII)).isEqualTo("hello");
                p.destroyForcibly(); // SIGKILL: the peer's kernel closes its TCP connection, nothing more
                assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
                // the proxy closes the upstream side: EOF or reset, within the read timeout (not a hang)
                int r;
                try {
                    r = app.getInputStream().read();
                } catch (java.net.SocketException reset) {
                    r = -1;
                }
                assertThat(r).as("upstream sees the end of the tunnel").isEqualTo(-1);
            }
        }
    }

    @Test
    void upstreamDyingMidStreamEndsThePeersStream() throws Exception {
        try (ServerSocket upstream = new ServerSocket(0, 10, InetAddress.getByName(IP))) {
            Process p = new ProcessBuilder(peer(IP + ":" + upstream.getLocalPort(), "hold"))
                    .redirectErrorStream(true).start();
            processes.add(p);
            CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    StringBuilder b = new StringBuilder();
                    for (String line; (line = r.readLine()) != null; ) {
                        b.append(line).append('\n');
                    }
                    return b.toString();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            upstream.setSoTimeout(30_000);
            Socket app = upstream.accept();
            app.setSoTimeout(30_000);
            assertThat(app.getInputStream().readNBytes(5)).hasSize(5);
            app.setSoLinger(true, 0);
            app.close(); // the application crashes: TCP reset
            assertThat(p.waitFor(45, TimeUnit.SECONDS)).as("the peer saw the end (not a hang)").isTrue();
            String out = output.get(10, TimeUnit.SECONDS);
            assertThat(out).contains("ESTABLISHED").contains("\"ended\": true");
            System.out.println("upstream reset mid-stream, peer saw: " + out.lines().reduce((a, b) -> b).orElse(""));
        }
    }
}
