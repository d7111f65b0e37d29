package dev.hbone.spiffe.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSource;
import dev.hbone.spiffe.store.SvidSources;
import dev.hbone.spiffe.svid.SvidValidator;
import dev.hbone.spiffe.testing.EngineHandshake;
import dev.hbone.spiffe.testing.ManualScheduler;
import dev.hbone.spiffe.testing.MutableClock;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCounted;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;

/**
 * One mesh for TLS tests: a CA, its bundle, an identity store fed by the CA, shared bindings, and the key and trust
 * managers, plus engines from the JDK provider or Netty's OpenSSL (BoringSSL) provider. The store renews only when a
 * test says so (a manual scheduler that is never advanced).
 */
final class TlsFixture implements AutoCloseable {
    /** JDK: plain JSSE engines; NETTY_JDK: Netty's JdkSslContext (no ALPN, so engines are not wrapped); OPENSSL. */
    enum Provider { JDK, NETTY_JDK, OPENSSL }

    static final TrustDomain TD = TrustDomain.parse("cluster.local");

    final CertificateAuthority ca = CertificateAuthority.builder(TD).intermediate(Duration.ofDays(30)).build();
    final TrustBundles bundles = TrustBundles.of(ca.bundle());
    final IdentityStore store;
    final HandshakeBindings bindings = new HandshakeBindings();
    final SpiffeKeyManager keyManager;
    final SpiffeTrustManager trustManager;
    private final Provider provider;
    private SSLContext jdk;
    private SslContext nettyClient;
    private SslContext nettyServer;

    TlsFixture(Provider provider) {
        this(provider, Map.of());
    }

    /** Also trusts {@code extraRoot} for the fixture's trust domain. */
    void trustAlso(X509Certificate extraRoot) {
        bundles.put(new X509Bundle(TD, Set.of(ca.rootCertificate(), extraRoot)));
    }

    /**
     * A fixture whose store serves {@code overrides} for the identities they name (e.g. deliberately bad SVIDs)
     * and SVIDs of the fixture's CA for the others.
     */
    /** Generations the fixture's store keeps resolvable (see the constructor). */
    static final int RETAINED_GENERATIONS = 4096;

    TlsFixture(Provider provider, Map<SpiffeId, X509Svid> overrides) {
        this.provider = provider;
        MutableClock clock = new MutableClock(Instant.now());
        SvidSource local = SvidSources.localCa(ca, Duration.ofHours(1));
        Map<SpiffeId, X509Svid> fixed = overrides == null ? Map.of() : Map.copyOf(overrides);
        SvidSource source = id -> fixed.containsKey(id) ? CompletableFuture.completedFuture(fixed.get(id))
                : local.fetch(id);
        // A real store renews hours apart, so its default of 4 retained generations spans any handshake. The
        // rotation test renews in a tight loop on shared cores, where a descheduled handshake can see more than 4
        // rotations between choosing its alias and reading chain and key: keep enough generations for that pace.
        this.store = IdentityStore.builder(source).scheduler(new ManualScheduler(clock))
                .retainedGenerations(RETAINED_GENERATIONS).build();
        this.keyManager = new SpiffeKeyManager(store, bindings);
        this.trustManager = new SpiffeTrustManager(new SvidValidator(bundles), bindings);
        try {
            if (provider == Provider.JDK) {
                jdk = SSLContext.getInstance("TLSv1.3");
                jdk.init(new KeyManager[] {keyManager}, new TrustManager[] {trustManager}, null);
            } else {
                SslProvider netty = provider == Provider.OPENSSL ? SslProvider.OPENSSL : SslProvider.JDK;
                if (netty == SslProvider.OPENSSL) {
                    assertThat(OpenSsl.isAvailable()).as("netty-tcnative: %s", OpenSsl.unavailabilityCause())
                            .isTrue();
                }
                nettyClient = SslContextBuilder.forClient().sslProvider(netty)
                        .keyManager(keyManager).trustManager(trustManager).protocols("TLSv1.3")
                        .endpointIdentificationAlgorithm(null).build();
                nettyServer = SslContextBuilder.forServer(keyManager).sslProvider(netty)
                        .trustManager(trustManager).protocols("TLSv1.3").clientAuth(ClientAuth.REQUIRE).build();
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    SSLEngine clientEngine(HandshakeBinding binding) {
        SSLEngine e;
        if (provider == Provider.JDK) {
            e = jdk.createSSLEngine();
            e.setUseClientMode(true);
            e.setEnabledProtocols(new String[] {"TLSv1.3"});
        } else {
            e = nettyClient.newEngine(ByteBufAllocator.DEFAULT);
        }
        if (binding != null) {
            bindings.bind(e, binding);
        }
        return e;
    }

    SSLEngine serverEngine(HandshakeBinding binding) {
        SSLEngine e;
        if (provider == Provider.JDK) {
            e = jdk.createSSLEngine();
            e.setUseClientMode(false);
            e.setNeedClientAuth(true);
            e.setEnabledProtocols(new String[] {"TLSv1.3"});
        } else {
            e = nettyServer.newEngine(ByteBufAllocator.DEFAULT);
        }
        if (binding != null) {
            bindings.bind(e, binding);
        }
        return e;
    }

    /** Handshakes a fresh engine pair, then unbinds and frees them. */
    EngineHandshake.Result handshake(HandshakeBinding client, HandshakeBinding server) {
        SSLEngine c = clientEngine(client);
        SSLEngine s = serverEngine(server);
        try {
            return EngineHandshake.run(c, s);
        } finally {
            release(c);
            release(s);
        }
    }

    void release(SSLEngine e) {
        bindings.unbind(e);
        e.closeOutbound();
        try {
            e.closeInbound();
        } catch (SSLException ignored) {
            // closing before the peer's close_notify: expected here
        }
        if (e instanceof ReferenceCounted && ((ReferenceCounted) e).refCnt() > 0) {
            ((ReferenceCounted) e).release();
        }
    }

    @Override
    public void close() {
        store.close();
    }
}
