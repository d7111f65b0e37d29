package dev.hbone.ztunnel.hardening;

import static dev.hbone.ztunnel.hardening.Hardening.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.spiffe.testing.TestCertificates;
import dev.hbone.spiffe.testing.TestCertificates.Authority;
import dev.hbone.spiffe.testing.TestCertificates.Issued;
import dev.hbone.ztunnel.cli.ZtunnelMain;
import dev.hbone.ztunnel.lifecycle.NodeProxy;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CA root rotates (security-tests.md "Faults") on a running proxy: its {@code --trust-bundle} file first holds
 * the old root, then the old and the new (the overlap: peers with certificates of either are accepted, and a
 * connection established before keeps working), then the new root only (old certificates refused as
 * {@code untrusted_chain}, new ones accepted). No restart: the proxy re-reads changed bundle files.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class CaRotationTest {
    static final String IP = "127.0.10.17";
    static final String CLIENT = "spiffe://cluster.local/ns/default/sa/client";

    @TempDir
    Path dir;

    @Test
    void rootRotationIsPickedUpWithAnOverlap() throws Exception {
        Authority oldRoot = TestCertificates.root("cluster.local");
        Authority newRoot = TestCertificates.root("cluster.local");
        Path bundle = dir.resolve("bundle.pem");
        Hardening.writeChain(bundle, List.of(oldRoot.rootCertificate()));
        Issued app = oldRoot.leaf("spiffe://cluster.local/ns/default/sa/app").issue();
        Hardening.writeChain(dir.resolve("app.pem"), app.chain());
        Hardening.writeKey(dir.resolve("app-key.pem"), app.privateKey());
        Files.writeString(dir.resolve("mesh.yaml"), """
                workloads:
                - {uid: n1/app, name: app, namespace: default, serviceAccount: app, workloadIps: ["127.0.10.17"], protocol: HBONE, node: n1}
                """);
        Issued oldClient = oldRoot.leaf(CLIENT).issue();
        Issued newClient = newRoot.leaf(CLIENT).issue();
        try (NodeProxy node = NodeProxy.start(ZtunnelMain.parseConfig(new String[] {
            "--local-xds-path=" + dir.resolve("mesh.yaml"), "--node-name=n1", "--ca-mode=static",
            "--svid=spiffe://cluster.local/ns/default/sa/app=" + dir.resolve("app.pem") + ","
                    + dir.resolve("app-key.pem"),
            "--trust-bundle=cluster.local=" + bundle,
            "--inbound-address=" + IP + ":15008", "--inbound-plaintext-address=" + IP + ":0",
            "--outbound-address=" + IP + ":0", "--admin-address=" + IP + ":0", "--stats-address=" + IP + ":0",
            "--readiness-address=" + IP + ":0", "--connection-termination-deadline=1s"}, Map.of()))) {
            await("ready", 30, () -> node.readiness().isReady());
            assertThat(accepted(oldClient)).isTrue();
            assertThat(accepted(newClient)).as("new root not trusted yet").isFalse();

            try (SSLSocket established = connect(oldClient)) {
                assertThat(settings(established)).isTrue();
                replace(bundle, List.of(oldRoot.rootCertificate(), newRoot.rootCertificate()));
                await("the overlap bundle is picked up", 20, () -> accepted(newClient));
                assertThat(accepted(oldClient)).as("old certificates still accepted in the overlap").isTrue();

                replace(bundle, List.of(newRoot.rootCertificate()));
                await("the old root is dropped", 20, () -> !accepted(oldClient));
                assertThat(accepted(newClient)).isTrue();
                // the connection established with the old root is not cut: it still answers a PING
                OutputStream out = established.getOutputStream();
                out.write(new byte[] {0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8});
                out.flush();
                assertThat(readUntilPingAck(established.getInputStream())).isTrue();
            }
            double untrusted = Hardening.metric(node.metrics().scrape(), "istio_tls_handshake_failures_total",
                    "reason=\"untrusted_chain\"");
            assertThat(untrusted).as("refusals counted").isGreaterThanOrEqualTo(2);
        }
    }

    private static void replace(Path file, List<X509Certificate> roots) throws Exception {
        Path tmp = file.resolveSibling("bundle.tmp");
        Hardening.writeChain(tmp, roots);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static SSLSocket connect(Issued client) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new X509ExtendedKeyManager[] {new MtlsRefusalMatrixTest.FixedKeyManager(client)},
                new TrustManager[] {new MtlsRefusalMatrixTest.TrustAll()}, null);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket();
        s.connect(new InetSocketAddress(IP, 15008), 5000);
        s.setSoTimeout(10_000);
        SSLParameters p = s.getSSLParameters();
        p.setProtocols(new String[] {"TLSv1.3"});
        p.setApplicationProtocols(new String[] {"h2"});
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    /** Sends the HTTP/2 preface; true when the proxy answers with SETTINGS (it accepted the certificate). */
    private static boolean settings(SSLSocket s) {
        try {
            OutputStream out = s.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
            out.flush();
            byte[] head = s.getInputStream().readNBytes(9);
            if (head.length == 9 && head[3] == 4) {
                int len = ((head[0] & 0xff) << 16) | ((head[1] & 0xff) << 8) | (head[2] & 0xff);
                s.getInputStream().readNBytes(len);
                return true;
            }
            return false;
        } catch (Exception e) {
            return false;
        }
    }

    private static boolean accepted(Issued client) {
        try (SSLSocket s = connect(client)) {
            return settings(s);
        } catch (Exception e) {
            return false;
        }
    }

    private static boolean readUntilPingAck(InputStream in) throws Exception {
        while (true) {
            byte[] head = in.readNBytes(9);
            if (head.length < 9) {
                return false;
            }
            int len = ((head[0] & 0xff) << 16) | ((head[1] & 0xff) << 8) | (head[2] & 0xff);
            in.readNBytes(len);
            if (head[3] == 6 && (head[4] & 1) == 1) {
                return true;
            }
        }
    }
}
