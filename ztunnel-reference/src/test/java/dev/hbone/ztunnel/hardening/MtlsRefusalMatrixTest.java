package dev.hbone.ztunnel.hardening;

import static dev.hbone.ztunnel.hardening.Hardening.await;
import static dev.hbone.ztunnel.hardening.Hardening.metric;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.hbone.netty.TlsProvider;
import dev.hbone.spiffe.testing.TestCertificates;
import dev.hbone.spiffe.testing.TestCertificates.Authority;
import dev.hbone.spiffe.testing.TestCertificates.Issued;
import dev.hbone.ztunnel.cli.ZtunnelMain;
import dev.hbone.ztunnel.lifecycle.NodeProxy;
import dev.hbone.ztunnel.support.BlockingEcho;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509TrustManager;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * security-tests.md's refusal list, end to end against a running node proxy (in this JVM, real sockets and TLS):
 * every bad certificate (built by spiffe-identity's {@code TestCertificates}, signed by a root the proxy trusts so
 * that only the broken rule fails), TLS 1.2, an ALPN other than {@code h2} and a missing client certificate are
 * presented to its inbound 15008 as a <em>client</em>, and — from fake remote nodes the proxy's outbound dials — as a
 * <em>server</em>. Each is refused, logged with the rule's name and counted in
 * {@code istio_tls_handshake_failures_total{direction, reason}}; good connections keep working.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MtlsRefusalMatrixTest {
    static final String TD = "cluster.local";
    static final String SERVER_IP = "127.0.6.100";
    static final String CLIENT_IP = "127.0.6.101";
    static final String CLIENT_ID = "spiffe://cluster.local/ns/default/sa/client";
    static final String REMOTE_ID = "spiffe://cluster.local/ns/default/sa/remote";
    static final String METRIC = "istio_tls_handshake_failures_total";

    @TempDir
    static Path dir;

    private final Authority root = TestCertificates.root(TD);
    private final Authority other = TestCertificates.root("other.org");
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final ListAppender<ILoggingEvent> logLines = new ListAppender<>();
    private NodeProxy node;
    private BlockingEcho echo;
    private List<Case> serverCases;

    /** One bad peer: the reason label it must be counted under, its certificate, its TLS versions and ALPN. */
    record Case(String name, String reason, Supplier<Issued> cert, String[] protocols, String[] alpn) {
        Case(String name, String reason, Supplier<Issued> cert) {
            this(name, reason, cert, new String[] {"TLSv1.3"}, new String[] {"h2"});
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private List<Case> certificateCases(String id) {
        Instant now = Instant.now();
        return List.of(
                new Case("expired", "expired", () -> root.leaf(id)
                        .validity(now.minus(Duration.ofDays(2)), now.minus(Duration.ofDays(1))).issue()),
                new Case("not yet valid", "not_yet_valid", () -> root.leaf(id)
                        .validity(now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(2))).issue()),
                new Case("another trust domain's root (not trusted)", "untrusted_chain",
                        () -> TestCertificates.root(TD).leaf(id).issue()),
                new Case("impostor CA (same name, other key)", "untrusted_chain",
                        () -> root.impostor().leaf(id).issue()),
                new Case("trust domain differs from the bundle it chains to", "trust_domain_mismatch",
                        () -> other.leaf(id).issue()),
                new Case("no URI SAN", "no_uri_san", () -> root.leaf(id).uriSans().dnsSans("client.example").issue()),
                new Case("two URI SANs", "multiple_uri_sans", () -> root.leaf(id).uriSans(id, id + "2").issue()),
                new Case("URI SAN not spiffe://", "not_spiffe_uri",
                        () -> root.leaf("https://cluster.local/ns/default/sa/client").issue()),
                new Case("SPIFFE ID without a path", "invalid_spiffe_id",
                        () -> root.leaf("spiffe://cluster.local").issue()),
                new Case("SPIFFE ID with a dot segment", "invalid_spiffe_id",
                        () -> root.leaf("spiffe://cluster.local/ns/../sa/client").issue()),
                new Case("SPIFFE ID with percent-encoding", "invalid_spiffe_id",
                        () -> root.leaf("spiffe://cluster.local/ns/default/sa/cl%69ent").issue()),
                new Case("SPIFFE ID with a port", "invalid_spiffe_id",
                        () -> root.leaf("spiffe://cluster.local:8443/ns/default/sa/client").issue()),
                new Case("SPIFFE ID with a user part", "invalid_spiffe_id",
                        () -> root.leaf("spiffe://user@cluster.local/ns/default/sa/client").issue()),
                new Case("SPIFFE ID with upper case trust domain", "invalid_spiffe_id",
                        () -> root.leaf("spiffe://Cluster.local/ns/default/sa/client").issue()),
                new Case("leaf is a CA", "leaf_is_ca", () -> root.leaf(id).ca(true).issue()),
                new Case("leaf has keyCertSign", "leaf_key_cert_sign",
                        () -> root.leaf(id).keyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign).issue()),
                new Case("leaf has cRLSign", "leaf_crl_sign",
                        () -> root.leaf(id).keyUsage(KeyUsage.digitalSignature | KeyUsage.cRLSign).issue()),
                new Case("leaf without digitalSignature", "no_digital_signature",
                        () -> root.leaf(id).keyUsage(KeyUsage.keyAgreement).issue()),
                new Case("RSA 1024", "unsupported_key", () -> root.leaf(id).key("RSA:1024").issue()),
                // With OpenSSL (BoringSSL) the proxy offers no ecdsa_secp521r1_sha512 signature scheme, so such a
                // peer cannot prove its key and aborts the handshake itself (internal_error alert) before the
                // certificate is judged; with the JDK provider the certificate reaches the SVID rules.
                new Case("curve P-521", TlsProvider.defaultProvider() == TlsProvider.OPENSSL ? "handshake"
                        : "unsupported_key", () -> root.leaf(id).key("EC:secp521r1").issue()));
    }

    @BeforeAll
    void start() throws Exception {
        ((Logger) LoggerFactory.getLogger("dev.hbone.ztunnel")).addAppender(logLines);
        logLines.start();
        echo = new BlockingEcho(new InetSocketAddress(SERVER_IP, 0));
        closeables.add(echo);
        Hardening.writeChain(dir.resolve("root.pem"), List.of(root.rootCertificate()));
        Hardening.writeChain(dir.resolve("other.pem"), List.of(other.rootCertificate()));
        List<String> args = new ArrayList<>(List.of("--local-xds-path=" + dir.resolve("mesh.yaml"),
                "--node-name=n1", "--ca-mode=static",
                "--trust-bundle=cluster.local=" + dir.resolve("root.pem"),
                "--trust-bundle=other.org=" + dir.resolve("other.pem"),
                "--inbound-address=" + SERVER_IP + ":15008", "--inbound-plaintext-address=" + SERVER_IP + ":0",
                "--outbound-address=" + SERVER_IP + ":0", "--socks5-address=" + SERVER_IP + ":0", "--enable-socks5",
                "--admin-address=" + SERVER_IP + ":0", "--stats-address=" + SERVER_IP + ":0",
                "--readiness-address=" + SERVER_IP + ":0", "--connection-termination-deadline=1s"));
        for (String sa : List.of("server", "client")) {
            Issued svid = root.leaf("spiffe://cluster.local/ns/default/sa/" + sa).issue();
            Hardening.writeChain(dir.resolve(sa + ".pem"), svid.chain());
            Hardening.writeKey(dir.resolve(sa + "-key.pem"), svid.privateKey());
            args.add("--svid=spiffe://cluster.local/ns/default/sa/" + sa + "=" + dir.resolve(sa + ".pem") + ","
                    + dir.resolve(sa + "-key.pem"));
        }
        serverCases = new ArrayList<>(certificateCases(REMOTE_ID));
        serverCases.add(new Case("server certificate without the serverAuth EKU", "wrong_eku",
                () -> root.leaf(REMOTE_ID).clientOnly().issue()));
        serverCases.add(new Case("server identity not among the expected", "unexpected_identity",
                () -> root.leaf("spiffe://cluster.local/ns/default/sa/someone-else").issue()));
        serverCases.add(new Case("server offers only TLS 1.2", "protocol_version",
                () -> root.leaf(REMOTE_ID).issue(), new String[] {"TLSv1.2"}, new String[] {"h2"}));
        serverCases.add(new Case("server selects ALPN http/1.1", "alpn",
                () -> root.leaf(REMOTE_ID).issue(), new String[] {"TLSv1.3"}, new String[] {"http/1.1"}));
        serverCases.add(new Case("good remote (control)", null, () -> root.leaf(REMOTE_ID).issue()));
        StringBuilder yaml = new StringBuilder("""
                workloads:
                - {uid: n1/server, name: server, namespace: default, serviceAccount: server, workloadIps: ["127.0.6.100"], protocol: HBONE, node: n1}
                - {uid: n1/client, name: client, namespace: default, serviceAccount: client, workloadIps: ["127.0.6.101"], protocol: HBONE, node: n1}
                """);
        for (int i = 0; i < serverCases.size(); i++) {
            yaml.append("- {uid: n2/remote-").append(i).append(", name: remote-").append(i)
                    .append(", namespace: default, serviceAccount: remote, workloadIps: [\"").append(remoteIp(i))
                    .append("\"], protocol: HBONE, node: n2}\n");
        }
        Files.writeString(dir.resolve("mesh.yaml"), yaml.toString());
        node = NodeProxy.start(ZtunnelMain.parseConfig(args.toArray(String[]::new), Map.of()));
        await("ready", 30, () -> node.readiness().isReady());
    }

    private static String remoteIp(int i) {
        return "127.0.6." + (10 + i);
    }

    @AfterAll
    void stop() throws Exception {
        ((Logger) LoggerFactory.getLogger("dev.hbone.ztunnel")).detachAppender(logLines);
        if (node != null) {
            node.shutdown().get(30, TimeUnit.SECONDS);
        }
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    // ------------------------------------------------------------------------------- the proxy as a server (15008)

    @Test
    void everyBadClientIsRefusedLoggedAndCountedAndGoodClientsStillWork() throws Exception {
        List<Case> cases = new ArrayList<>(certificateCases(CLIENT_ID));
        cases.add(new Case("client certificate without the clientAuth EKU", "wrong_eku",
                () -> root.leaf(CLIENT_ID).serverOnly().issue()));
        cases.add(new Case("no client certificate", "no_certificate", () -> null));
        cases.add(new Case("TLS 1.2 only", "protocol_version", () -> root.leaf(CLIENT_ID).issue(),
                new String[] {"TLSv1.2"}, new String[] {"h2"}));
        cases.add(new Case("ALPN http/1.1", "alpn", () -> root.leaf(CLIENT_ID).issue(),
                new String[] {"TLSv1.3"}, new String[] {"http/1.1"}));
        cases.add(new Case("no ALPN", "alpn", () -> root.leaf(CLIENT_ID).issue(),
                new String[] {"TLSv1.3"}, new String[0]));
        List<String> report = new ArrayList<>();
        for (Case c : cases) {
            double before = failures("inbound", c.reason());
            Issued cert = c.cert().get();
            assertThat(clientSpeaksHttp2(cert, c.protocols(), c.alpn())).as("%s accepted", c).isFalse();
            await(() -> c + ": " + METRIC + "{direction=inbound,reason=" + c.reason() + "} not counted; scrape:\n"
                    + node.metrics().scrape().lines().filter(l -> l.startsWith(METRIC)).toList(), 10,
                    () -> failures("inbound", c.reason()) > before);
            report.add(c + " -> " + c.reason());
            // a good client right after: the bad one harmed nothing
            assertThat(clientSpeaksHttp2(root.leaf(CLIENT_ID).issue(), new String[] {"TLSv1.3"},
                    new String[] {"h2"})).as("good client after %s", c).isTrue();
        }
        assertThat(logged("inbound HBONE handshake refused (expired)")).isTrue();
        assertThat(logged("inbound HBONE handshake refused (multiple_uri_sans)")).isTrue();
        System.out.println("inbound refusals:\n  " + String.join("\n  ", report));
    }

    /**
     * TLS to 15008 presenting {@code cert} (null: none), then the HTTP/2 preface: true when the proxy answers with
     * its SETTINGS frame (accepted), false when the handshake or the connection fails or is closed.
     */
    private static boolean clientSpeaksHttp2(Issued cert, String[] protocols, String[] alpn) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new X509ExtendedKeyManager[] {new FixedKeyManager(cert)}, new TrustManager[] {new TrustAll()}, null);
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress(SERVER_IP, 15008), 5000);
            s.setSoTimeout(10_000);
            SSLParameters p = s.getSSLParameters();
            p.setProtocols(protocols);
            p.setApplicationProtocols(alpn);
            s.setSSLParameters(p);
            s.startHandshake();
            OutputStream out = s.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0}); // empty SETTINGS
            out.flush();
            InputStream in = s.getInputStream();
            byte[] head = in.readNBytes(9);
            return head.length == 9 && head[3] == 4; // the server's SETTINGS
        } catch (IOException e) {
            return false;
        }
    }

    // ------------------------------------------------------------------------ the proxy as a client (outbound)

    @Test
    void everyBadServerIsRefusedLoggedAndCountedAndAGoodOneWorks() throws Exception {
        List<String> report = new ArrayList<>();
        for (int i = 0; i < serverCases.size(); i++) {
            Case c = serverCases.get(i);
            FakeNode fake = new FakeNode(new InetSocketAddress(remoteIp(i), 15008), c);
            closeables.add(fake);
            InetSocketAddress socks = node.dataPath().socks5Address().orElseThrow();
            InetSocketAddress target = new InetSocketAddress(remoteIp(i), 80);
            if (c.reason() == null) {
                // the fake node speaks no HTTP/2 beyond reading the preface, so the tunnel itself fails later; what
                // matters is that TLS was accepted (the preface arrived) and nothing was counted as a TLS failure
                String tlsBefore = tlsFailureLines();
                try (Socket s = Hardening.socks5(socks, CLIENT_IP, target)) {
                    s.close();
                } catch (IOException alsoFine) {
                    // CONNECT was not answered
                }
                await("the good fake node got the HTTP/2 preface", 10, () -> fake.http2Connections() > 0);
                assertThat(tlsFailureLines()).isEqualTo(tlsBefore);
                continue;
            }
            double before = failures("outbound", c.reason());
            try (Socket s = Hardening.socks5(socks, CLIENT_IP, target)) {
                throw new AssertionError(c + ": the proxy accepted the server");
            } catch (IOException expected) {
                assertThat(expected).as(c.toString()).hasMessageContaining("SOCKS5 reply");
            }
            await(() -> c + ": " + METRIC + "{direction=outbound,reason=" + c.reason() + "} not counted; scrape:\n"
                    + node.metrics().scrape().lines().filter(l -> l.startsWith(METRIC)).toList(), 10,
                    () -> failures("outbound", c.reason()) > before);
            assertThat(fake.http2Connections()).as("%s: no HTTP/2 spoken", c).isZero();
            report.add(c + " -> " + c.reason());
        }
        assertThat(logged("outbound HBONE handshake refused (unexpected_identity)")).isTrue();
        System.out.println("outbound refusals:\n  " + String.join("\n  ", report));
    }

    private String tlsFailureLines() {
        return String.join("\n", node.metrics().scrape().lines().filter(l -> l.startsWith(METRIC)).toList());
    }

    private double failures(String direction, String reason) {
        return metric(node.metrics().scrape(), METRIC, "direction=\"" + direction + "\"", "reason=\"" + reason + "\"");
    }

    private boolean logged(String fragment) {
        return List.copyOf(logLines.list).stream().anyMatch(e -> e.getFormattedMessage().contains(fragment));
    }

    /** A remote node's 15008 presenting a chosen certificate; counts connections that got past TLS. */
    static final class FakeNode implements AutoCloseable {
        private final SSLServerSocket server;
        private final java.util.concurrent.atomic.AtomicInteger http2 = new java.util.concurrent.atomic.AtomicInteger();

        FakeNode(InetSocketAddress address, Case c) throws Exception {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(new X509ExtendedKeyManager[] {new FixedKeyManager(c.cert().get())},
                    new TrustManager[] {new TrustAll()}, null);
            server = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket();
            server.bind(address);
            SSLParameters p = server.getSSLParameters();
            p.setProtocols(c.protocols());
            p.setWantClientAuth(true);
            server.setSSLParameters(p);
            String[] alpn = c.alpn();
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        SSLSocket s = (SSLSocket) server.accept();
                        s.setHandshakeApplicationProtocolSelector((sock, offered) -> alpn[0]);
                        Thread h = new Thread(() -> serve(s), "fake-node-conn");
                        h.setDaemon(true);
                        h.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "fake-node-" + address);
            t.setDaemon(true);
            t.start();
        }

        private void serve(SSLSocket s) {
            try (s) {
                s.setSoTimeout(15_000);
                s.startHandshake();
                byte[] preface = s.getInputStream().readNBytes(24);
                if (new String(preface, StandardCharsets.US_ASCII).startsWith("PRI * HTTP/2.0")) {
                    http2.incrementAndGet();
                }
            } catch (IOException e) {
                // refused by the proxy: expected
            }
        }

        int http2Connections() {
            return http2.get();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /** Presents one fixed chain whatever is asked (even chains a careful key manager would not choose). */
    static final class FixedKeyManager extends X509ExtendedKeyManager {
        private final Issued cert;

        FixedKeyManager(Issued cert) {
            this.cert = cert;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return cert == null ? null : new String[] {"k"};
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return cert == null ? null : "k";
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return cert == null ? null : "k";
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return new String[] {"k"};
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return "k";
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return cert == null ? null : cert.chainArray();
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return cert == null ? null : cert.privateKey();
        }
    }

    /** The test checks the proxy, not the proxy's certificate. */
    static final class TrustAll implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
