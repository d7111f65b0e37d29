package dev.hbone.ztunnel.hardening;

import static dev.hbone.ztunnel.hardening.Hardening.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.spiffe.testing.TestCertificates;
import dev.hbone.spiffe.testing.TestCertificates.Authority;
import dev.hbone.spiffe.testing.TestCertificates.Issued;
import dev.hbone.ztunnel.cli.ZtunnelMain;
import dev.hbone.ztunnel.lifecycle.NodeProxy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Certificate renewal fails, then recovers (security-tests.md "Faults"), against a running proxy with
 * {@code --ca-mode static} (files re-read at each renewal): the workload's certificate lives 12 s, so the proxy
 * renews it after about 6 s; the file is garbage by then, so renewal fails (counted in
 * {@code istio_certificate_fetch_failures_total}) and the still-valid old certificate keeps being served; once a
 * good file is back, a retry (back-off from 1 s) picks it up and the new certificate is served.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class CertificateRenewalFaultTest {
    static final String IP = "127.0.10.9";
    static final String APP = "spiffe://cluster.local/ns/default/sa/app";

    @TempDir
    Path dir;

    @Test
    void failedRenewalKeepsServingTheOldCertificateThenRecovers() throws Exception {
        Authority root = TestCertificates.root("cluster.local");
        Hardening.writeChain(dir.resolve("root.pem"), List.of(root.rootCertificate()));
        Instant now = Instant.now();
        Issued first = root.leaf(APP).validity(now.minusSeconds(1), now.plusSeconds(11)).issue();
        Hardening.writeChain(dir.resolve("app.pem"), first.chain());
        Hardening.writeKey(dir.resolve("app-key.pem"), first.privateKey());
        Issued client = root.leaf("spiffe://cluster.local/ns/default/sa/client").issue();
        Files.writeString(dir.resolve("mesh.yaml"), """
                workloads:
                - {uid: n1/app, name: app, namespace: default, serviceAccount: app, workloadIps: ["127.0.10.9"], protocol: HBONE, node: n1}
                """);
        try (NodeProxy node = NodeProxy.start(ZtunnelMain.parseConfig(new String[] {
            "--local-xds-path=" + dir.resolve("mesh.yaml"), "--node-name=n1", "--ca-mode=static",
            "--svid=" + APP + "=" + dir.resolve("app.pem") + "," + dir.resolve("app-key.pem"),
            "--trust-bundle=cluster.local=" + dir.resolve("root.pem"),
            "--inbound-address=" + IP + ":15008", "--inbound-plaintext-address=" + IP + ":0",
            "--outbound-address=" + IP + ":0", "--admin-address=" + IP + ":0", "--stats-address=" + IP + ":0",
            "--readiness-address=" + IP + ":0", "--connection-termination-deadline=1s"}, Map.of()))) {
            await("ready", 30, () -> node.readiness().isReady());
            assertThat(presentedSerial(client)).isEqualTo(first.leaf().getSerialNumber());

            replace(dir.resolve("app.pem"), "not a certificate\n");
            await("a failed renewal is counted", 30, () -> Hardening.metric(node.metrics().scrape(),
                    "istio_certificate_fetch_failures_total") >= 1);
            assertThat(Instant.now()).as("still inside the first certificate's validity").isBefore(
                    first.leaf().getNotAfter().toInstant());
            assertThat(presentedSerial(client)).as("the old, still valid certificate keeps serving")
                    .isEqualTo(first.leaf().getSerialNumber());

            Issued second = root.leaf(APP).validity(Instant.now().minusSeconds(1),
                    Instant.now().plus(Duration.ofHours(1))).issue();
            Path key = dir.resolve("app-key.pem.new");
            Hardening.writeKey(key, second.privateKey());
            Path chain = dir.resolve("app.pem.new");
            Hardening.writeChain(chain, second.chain());
            Files.move(key, dir.resolve("app-key.pem"), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            Files.move(chain, dir.resolve("app.pem"), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            await("the renewed certificate is served", 30, () -> second.leaf().getSerialNumber()
                    .equals(presentedSerialOrNull(client)));
        }
    }

    private static void replace(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static BigInteger presentedSerialOrNull(Issued client) {
        try {
            return presentedSerial(client);
        } catch (Exception e) {
            return null;
        }
    }

    /** The serial of the certificate the proxy presents on 15008, once it also accepted us (its SETTINGS came). */
    private static BigInteger presentedSerial(Issued client) throws Exception {
        AtomicReference<X509Certificate> seen = new AtomicReference<>();
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new X509ExtendedKeyManager[] {new MtlsRefusalMatrixTest.FixedKeyManager(client)},
                new TrustManager[] {new X509TrustManager() {
                    @Override
                    public void checkClientTrusted(X509Certificate[] chain, String authType) {
                    }

                    @Override
                    public void checkServerTrusted(X509Certificate[] chain, String authType) {
                        seen.set(chain[0]);
                    }

                    @Override
                    public X509Certificate[] getAcceptedIssuers() {
                        return new X509Certificate[0];
                    }
                }}, null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress(IP, 15008), 5000);
            s.setSoTimeout(10_000);
            var p = s.getSSLParameters();
            p.setProtocols(new String[] {"TLSv1.3"});
            p.setApplicationProtocols(new String[] {"h2"});
            s.setSSLParameters(p);
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
            out.flush();
            InputStream in = s.getInputStream();
            byte[] head = in.readNBytes(9);
            if (head.length != 9 || head[3] != 4) {
                throw new IOException("the proxy did not accept the connection");
            }
            return seen.get().getSerialNumber();
        }
    }
}
