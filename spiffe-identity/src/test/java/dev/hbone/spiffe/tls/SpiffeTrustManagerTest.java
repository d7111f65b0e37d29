package dev.hbone.spiffe.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.svid.SvidValidationException;
import dev.hbone.spiffe.svid.SvidValidationException.Reason;
import dev.hbone.spiffe.testing.TestCertificates;
import dev.hbone.spiffe.testing.TestCertificates.Authority;
import io.spiffe.spiffeid.SpiffeId;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.Test;

class SpiffeTrustManagerTest {
    private static final SpiffeId CLIENT = SpiffeIds.kubernetes("cluster.local", "default", "client");
    private static final SpiffeId SERVER = SpiffeIds.kubernetes("cluster.local", "default", "server");
    private static final Authority root = TestCertificates.root("cluster.local");
    private static final X509Certificate[] clientChain = root.leaf(CLIENT).issue().chainArray();
    private static final X509Certificate[] serverChain = root.leaf(SERVER).issue().chainArray();

    private final HandshakeBindings bindings = new HandshakeBindings();
    private final SpiffeTrustManager tm = new SpiffeTrustManager(TrustBundles.of(root.bundle()), bindings);

    private static Reason refusal(ThrowingRunnable r) {
        CertificateException e = catchThrowableOfType(CertificateException.class, r::run);
        assertThat(e).as("refused").isNotNull();
        assertThat(e.getCause()).isInstanceOf(SvidValidationException.class);
        Reason reason = ((SvidValidationException) e.getCause()).reason();
        assertThat(e.getMessage()).startsWith(reason.name() + ": ");
        return reason;
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void serverSideAcceptsAnyTrustedClientAndRequiresACertificate() throws Exception {
        SSLEngine engine = SSLContext.getDefault().createSSLEngine();
        bindings.bind(engine, HandshakeBinding.server(SERVER));
        tm.checkClientTrusted(clientChain, "UNKNOWN", engine);
        assertThat(refusal(() -> tm.checkClientTrusted(new X509Certificate[0], "UNKNOWN", engine)))
                .isEqualTo(Reason.NO_CERTIFICATE);
        assertThat(refusal(() -> tm.checkClientTrusted(null, "UNKNOWN", engine))).isEqualTo(Reason.NO_CERTIFICATE);
        // An unbound engine on the server side: still any trusted client.
        tm.checkClientTrusted(clientChain, "UNKNOWN", SSLContext.getDefault().createSSLEngine());
    }

    @Test
    void serverSideRequiresClientAuthEku() throws Exception {
        X509Certificate[] serverOnly = root.leaf(CLIENT).serverOnly().issue().chainArray();
        assertThat(refusal(() -> tm.checkClientTrusted(serverOnly, "UNKNOWN", (SSLEngine) null)))
                .isEqualTo(Reason.WRONG_EKU);
    }

    @Test
    void serverSideHonoursExpectedPeersWhenGiven() throws Exception {
        SSLEngine engine = SSLContext.getDefault().createSSLEngine();
        bindings.bind(engine, new HandshakeBinding(SERVER, Set.of(SERVER)));
        assertThat(refusal(() -> tm.checkClientTrusted(clientChain, "UNKNOWN", engine)))
                .isEqualTo(Reason.UNEXPECTED_IDENTITY);
    }

    @Test
    void clientSideChecksTheExpectedServer() throws Exception {
        SSLEngine engine = SSLContext.getDefault().createSSLEngine();
        bindings.bind(engine, HandshakeBinding.client(CLIENT, Set.of(SERVER)));
        tm.checkServerTrusted(serverChain, "UNKNOWN", engine);
        assertThat(refusal(() -> tm.checkServerTrusted(clientChain, "UNKNOWN", engine)))
                .isEqualTo(Reason.UNEXPECTED_IDENTITY);
        X509Certificate[] clientOnlyServer = root.leaf(SERVER).clientOnly().issue().chainArray();
        assertThat(refusal(() -> tm.checkServerTrusted(clientOnlyServer, "UNKNOWN", engine)))
                .isEqualTo(Reason.WRONG_EKU);
    }

    @Test
    void clientSideFailsClosedWithoutExpectations() throws Exception {
        assertThat(refusal(() -> tm.checkServerTrusted(serverChain, "UNKNOWN", SSLContext.getDefault()
                .createSSLEngine()))).isEqualTo(Reason.UNEXPECTED_IDENTITY);
        assertThat(refusal(() -> tm.checkServerTrusted(serverChain, "UNKNOWN"))).isEqualTo(Reason.UNEXPECTED_IDENTITY);
    }

    @Test
    void socketOverloadsUseSocketBindingsThenTheDefault() throws Exception {
        HandshakeBindings withDefault = new HandshakeBindings(HandshakeBinding.client(CLIENT, Set.of(SERVER)));
        SpiffeTrustManager m = new SpiffeTrustManager(TrustBundles.of(root.bundle()), withDefault);
        m.checkServerTrusted(serverChain, "UNKNOWN");
        m.checkServerTrusted(serverChain, "UNKNOWN", new Socket());
        Socket s = new Socket();
        withDefault.bind(s, HandshakeBinding.client(CLIENT, Set.of(CLIENT)));
        assertThat(refusal(() -> m.checkServerTrusted(serverChain, "UNKNOWN", s)))
                .isEqualTo(Reason.UNEXPECTED_IDENTITY);
        // The default binding expects SERVER, and a server honours listed expectations too.
        assertThat(refusal(() -> m.checkClientTrusted(clientChain, "UNKNOWN", new Socket())))
                .isEqualTo(Reason.UNEXPECTED_IDENTITY);
        m.checkClientTrusted(serverChain, "UNKNOWN", new Socket());
        assertThat(m.getAcceptedIssuers()).isEmpty();
    }
}
