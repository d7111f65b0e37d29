package dev.hbone.spiffe.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.net.InetAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.Test;

/** The socket-based JSSE callbacks, over real sockets on 127.0.0.1, with fixed (default) bindings. */
class SocketHandshakeTest {
    private static final SpiffeId CLIENT = SpiffeIds.kubernetes("cluster.local", "default", "client");
    private static final SpiffeId SERVER = SpiffeIds.kubernetes("cluster.local", "default", "server");

    @Test
    void socketsHandshakeWithDefaultBindings() throws Exception {
        CertificateAuthority ca = CertificateAuthority.builder(TrustDomain.parse("cluster.local")).build();
        TrustBundles bundles = TrustBundles.of(ca.bundle());
        try (IdentityStore store = IdentityStore.builder(SvidSources.localCa(ca, Duration.ofHours(1))).build()) {
            store.fetch(CLIENT).join();
            store.fetch(SERVER).join();
            SSLContext server = context(store, bundles, HandshakeBinding.server(SERVER));
            SSLContext client = context(store, bundles, HandshakeBinding.client(CLIENT, Set.of(SERVER)));
            SSLContext wrongExpectation = context(store, bundles, HandshakeBinding.client(CLIENT, Set.of(CLIENT)));
            try (SSLServerSocket listener = (SSLServerSocket) server.getServerSocketFactory()
                    .createServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
                listener.setNeedClientAuth(true);
                listener.setEnabledProtocols(new String[] {"TLSv1.3"});
                CompletableFuture<X509Certificate> accepted = CompletableFuture.supplyAsync(() -> {
                    try (SSLSocket s = (SSLSocket) listener.accept()) {
                        s.startHandshake();
                        X509Certificate peer = (X509Certificate) s.getSession().getPeerCertificates()[0];
                        s.getOutputStream().write(1);
                        return peer;
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                });
                try (SSLSocket s = (SSLSocket) client.getSocketFactory()
                        .createSocket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
                    s.startHandshake();
                    assertThat(s.getSession().getPeerCertificates()[0]).isEqualTo(store.current(SERVER).getLeaf());
                    assertThat(s.getInputStream().read()).isEqualTo(1);
                }
                assertThat(accepted.get(30, TimeUnit.SECONDS)).isEqualTo(store.current(CLIENT).getLeaf());

                CompletableFuture<Void> refused = CompletableFuture.runAsync(() -> {
                    try (SSLSocket s = (SSLSocket) listener.accept()) {
                        s.startHandshake();
                        s.getInputStream().read();
                    } catch (IOException expected) {
                        // the client aborts the handshake
                    }
                });
                try (SSLSocket s = (SSLSocket) wrongExpectation.getSocketFactory()
                        .createSocket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
                    assertThatThrownBy(s::startHandshake).hasStackTraceContaining("UNEXPECTED_IDENTITY");
                }
                refused.get(30, TimeUnit.SECONDS);
            }
        }
    }

    private static SSLContext context(IdentityStore store, TrustBundles bundles, HandshakeBinding binding)
            throws Exception {
        HandshakeBindings bindings = new HandshakeBindings(binding);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(new KeyManager[] {new SpiffeKeyManager(store, bindings)},
                new TrustManager[] {new SpiffeTrustManager(bundles, bindings)}, null);
        return ctx;
    }
}
