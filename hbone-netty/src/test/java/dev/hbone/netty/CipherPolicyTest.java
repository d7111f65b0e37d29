package dev.hbone.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelListener;
import dev.hbone.netty.testing.HboneTestEnv;
import io.spiffe.svid.x509svid.X509Svid;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS rule 1 of hbone-wire.md against a peer nobody on the project wrote (the {@code openssl s_client} command):
 * TLS 1.3 with AES-GCM only. BoringSSL cannot restrict its TLS 1.3 suites, so a client that offers nothing but
 * CHACHA20-POLY1305 must still be refused, with the reason reported; AES-GCM with ALPN h2 is accepted.
 */
class CipherPolicyTest {
    private HboneTestEnv env;
    private NettyHboneServer server;
    private final CompletableFuture<TunnelException> refused = new CompletableFuture<>();
    @TempDir Path dir;

    @BeforeEach
    void setUp() throws Exception {
        if (!Files.isExecutable(Path.of("/usr/bin/openssl"))) {
            if ("true".equals(System.getenv("CI"))) {
                fail("/usr/bin/openssl is missing: this interop test is mandatory under CI=true");
            }
            Assumptions.abort("/usr/bin/openssl is missing (apt-get install openssl)");
        }
        env = new HboneTestEnv();
        server = env.server(TcpForwarder.builder().build(), new TunnelListener() {
            @Override
            public void onFailed(String authority, TunnelException failure) {
                refused.complete(failure);
            }
        });
        X509Svid svid = env.clientSvid();
        Files.writeString(dir.resolve("chain.pem"), pem("CERTIFICATE", svid.getChainArray()));
        Files.writeString(dir.resolve("key.pem"), pem("PRIVATE KEY", svid.getPrivateKey().getEncoded()));
        Files.writeString(dir.resolve("root.pem"),
                          pem("CERTIFICATE", env.ca.bundle().getX509Authorities().toArray(new X509Certificate[0])));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    @Test
    void aesGcmWithAlpnH2IsAccepted() throws Exception {
        String out = sClient("TLS_AES_128_GCM_SHA256");
        assertThat(out).contains("TLSv1.3").contains("TLS_AES_128_GCM_SHA256").contains("ALPN protocol: h2");
    }

    @Test
    void chacha20OnlyClientIsRefusedWithAReason() throws Exception {
        String out = sClient("TLS_CHACHA20_POLY1305_SHA256");
        TunnelException failure = refused.get(20, TimeUnit.SECONDS);
        assertThat(failure.reason()).isEqualTo(TunnelException.Reason.TLS_HANDSHAKE);
        if (HboneTestEnv.provider() == TlsProvider.OPENSSL) {
            // BoringSSL negotiated it; the session check refuses it by name.
            assertThat(failure.getMessage()).contains("TLS_CHACHA20_POLY1305_SHA256 is not allowed (AES-GCM only)");
        } else {
            // The JDK engine never offers it, so there is no shared suite at all.
            assertThat(out).doesNotContain("Cipher is TLS_CHACHA20_POLY1305_SHA256");
        }
    }

    private String sClient(String suite) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(
                "/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:" + server.localAddress().getPort(),
                "-tls1_3", "-ciphersuites", suite, "-alpn", "h2", "-noservername",
                "-cert", dir.resolve("chain.pem").toString(), "-key", dir.resolve("key.pem").toString(),
                "-CAfile", dir.resolve("root.pem").toString()))
                .redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("openssl s_client did not finish");
        }
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    private static String pem(String type, X509Certificate[] certs) {
        StringBuilder sb = new StringBuilder();
        for (X509Certificate c : certs) {
            try {
                sb.append(pem(type, c.getEncoded()));
            } catch (java.security.cert.CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
        }
        return sb.toString();
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
               + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
               + "\n-----END " + type + "-----\n";
    }
}
