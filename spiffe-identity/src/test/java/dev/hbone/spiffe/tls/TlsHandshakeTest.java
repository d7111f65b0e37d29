package dev.hbone.spiffe.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.svid.SvidValidationException;
import dev.hbone.spiffe.svid.SvidValidationException.Reason;
import dev.hbone.spiffe.testing.EngineHandshake;
import dev.hbone.spiffe.testing.TestCertificates;
import dev.hbone.spiffe.testing.TestCertificates.Authority;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.svid.x509svid.X509Svid;
import java.security.cert.CertificateException;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Real TLS 1.3 handshakes over in-memory SSLEngine pairs, on the JDK and the OpenSSL (BoringSSL) providers. */
class TlsHandshakeTest {
    static final SpiffeId CLIENT = SpiffeIds.kubernetes("cluster.local", "default", "client");
    static final SpiffeId SERVER = SpiffeIds.kubernetes("cluster.local", "default", "server");
    static final SpiffeId OTHER_SERVER = SpiffeIds.kubernetes("cluster.local", "other", "server");

    private static TlsFixture fixture(TlsFixture.Provider provider) {
        TlsFixture f = new TlsFixture(provider);
        f.store.fetch(CLIENT).join();
        f.store.fetch(SERVER).join();
        f.store.fetch(OTHER_SERVER).join();
        return f;
    }

    @ParameterizedTest
    @EnumSource(TlsFixture.Provider.class)
    void mutualTlsPresentsTheBoundIdentities(TlsFixture.Provider provider) {
        try (TlsFixture f = fixture(provider)) {
            EngineHandshake.Result r = f.handshake(HandshakeBinding.client(CLIENT, Set.of(SERVER)),
                    HandshakeBinding.server(SERVER));
            assertThat(r.succeeded()).as("%s", r.anyError()).isTrue();
            assertThat(r.protocol()).isEqualTo("TLSv1.3");
            assertThat(r.serverChainSeenByClient()[0]).isEqualTo(f.store.current(SERVER).getLeaf());
            assertThat(r.clientChainSeenByServer()[0]).isEqualTo(f.store.current(CLIENT).getLeaf());
            assertThat(r.serverChainSeenByClient()).hasSize(2).as("leaf + intermediate");

            // Same contexts, another engine bound to another identity: the server picks its certificate per engine.
            EngineHandshake.Result other = f.handshake(HandshakeBinding.client(CLIENT, Set.of(OTHER_SERVER)),
                    HandshakeBinding.server(OTHER_SERVER));
            assertThat(other.succeeded()).as("%s", other.anyError()).isTrue();
            assertThat(other.serverChainSeenByClient()[0]).isEqualTo(f.store.current(OTHER_SERVER).getLeaf());
            assertThat(f.bindings.size()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(TlsFixture.Provider.class)
    void clientRefusesAServerItDoesNotExpect(TlsFixture.Provider provider) {
        try (TlsFixture f = fixture(provider)) {
            EngineHandshake.Result r = f.handshake(HandshakeBinding.client(CLIENT, Set.of(SERVER)),
                    HandshakeBinding.server(OTHER_SERVER));
            assertThat(r.succeeded()).isFalse();
            assertThat(r.clientError()).isNotNull();
            assertThat(reasonIn(r.clientError())).isEqualTo(Reason.UNEXPECTED_IDENTITY);
            assertThat(f.trustManager.validator().refusals(Reason.UNEXPECTED_IDENTITY)).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @EnumSource(TlsFixture.Provider.class)
    void clientWithoutABindingFailsClosed(TlsFixture.Provider provider) {
        try (TlsFixture f = fixture(provider)) {
            EngineHandshake.Result r = f.handshake(null, HandshakeBinding.server(SERVER));
            assertThat(r.succeeded()).isFalse();
        }
    }

    @ParameterizedTest
    @EnumSource(TlsFixture.Provider.class)
    void serverRefusesAClientSignedByAnUntrustedRoot(TlsFixture.Provider provider) {
        Authority foreign = TestCertificates.root("cluster.local");
        try (TlsFixture f = new TlsFixture(provider, Map.of(CLIENT, foreign.leaf(CLIENT).issue().toSvid()))) {
            f.store.fetch(CLIENT).join();
            f.store.fetch(SERVER).join();
            EngineHandshake.Result r = f.handshake(HandshakeBinding.client(CLIENT, Set.of(SERVER)),
                    HandshakeBinding.server(SERVER));
            assertThat(r.succeeded()).isFalse();
            assertThat(r.serverError()).isNotNull();
            assertThat(f.trustManager.validator().refusals(Reason.UNTRUSTED_CHAIN)).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @EnumSource(TlsFixture.Provider.class)
    void serverRefusesAClientCertificateWithoutClientAuth(TlsFixture.Provider provider) {
        Authority root = TestCertificates.root("cluster.local");
        try (TlsFixture f = new TlsFixture(provider, Map.of(CLIENT, root.leaf(CLIENT).serverOnly().issue().toSvid()))) {
            f.trustAlso(root.certificate());
            f.store.fetch(CLIENT).join();
            f.store.fetch(SERVER).join();
            EngineHandshake.Result r = f.handshake(HandshakeBinding.client(CLIENT, Set.of(SERVER)),
                    HandshakeBinding.server(SERVER));
            assertThat(r.succeeded()).isFalse();
            assertThat(r.serverError()).isNotNull();
            assertThat(f.trustManager.validator().refusals(Reason.WRONG_EKU)).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @EnumSource(TlsFixture.Provider.class)
    void clientRefusesAServerCertificateWithoutServerAuth(TlsFixture.Provider provider) {
        Authority root = TestCertificates.root("cluster.local");
        try (TlsFixture f = new TlsFixture(provider, Map.of(SERVER, root.leaf(SERVER).clientOnly().issue().toSvid()))) {
            f.trustAlso(root.certificate());
            f.store.fetch(CLIENT).join();
            f.store.fetch(SERVER).join();
            EngineHandshake.Result r = f.handshake(HandshakeBinding.client(CLIENT, Set.of(SERVER)),
                    HandshakeBinding.server(SERVER));
            assertThat(r.succeeded()).isFalse();
            assertThat(reasonIn(r.clientError())).isEqualTo(Reason.WRONG_EKU);
        }
    }

    @ParameterizedTest
    @EnumSource(TlsFixture.Provider.class)
    void acceptsRsaPeers(TlsFixture.Provider provider) {
        Authority root = TestCertificates.root("cluster.local");
        try (TlsFixture f = new TlsFixture(provider, Map.of(
                CLIENT, root.leaf(CLIENT).key("RSA:2048").issue().toSvid(),
                SERVER, root.leaf(SERVER).key("RSA:2048").issue().toSvid()))) {
            f.trustAlso(root.certificate());
            f.store.fetch(CLIENT).join();
            f.store.fetch(SERVER).join();
            EngineHandshake.Result r = f.handshake(HandshakeBinding.client(CLIENT, Set.of(SERVER)),
                    HandshakeBinding.server(SERVER));
            assertThat(r.succeeded()).as("%s", r.anyError()).isTrue();
            assertThat(r.serverChainSeenByClient()[0].getPublicKey().getAlgorithm()).isEqualTo("RSA");
            assertThat(r.clientChainSeenByServer()[0].getPublicKey().getAlgorithm()).isEqualTo("RSA");
        }
    }

    @ParameterizedTest
    @EnumSource(TlsFixture.Provider.class)
    void rotationAppliesToTheNextHandshakeWithoutANewContext(TlsFixture.Provider provider) {
        try (TlsFixture f = fixture(provider)) {
            EngineHandshake.Result before = f.handshake(HandshakeBinding.client(CLIENT, Set.of(SERVER)),
                    HandshakeBinding.server(SERVER));
            X509Svid renewed = f.store.renew(SERVER).join();
            EngineHandshake.Result after = f.handshake(HandshakeBinding.client(CLIENT, Set.of(SERVER)),
                    HandshakeBinding.server(SERVER));
            assertThat(before.succeeded()).isTrue();
            assertThat(after.succeeded()).isTrue();
            assertThat(after.serverChainSeenByClient()[0]).isEqualTo(renewed.getLeaf())
                    .isNotEqualTo(before.serverChainSeenByClient()[0]);
        }
    }

    @ParameterizedTest
    @EnumSource(TlsFixture.Provider.class)
    void bundleRotationAppliesToTheNextHandshake(TlsFixture.Provider provider) {
        try (TlsFixture f = fixture(provider)) {
            f.bundles.replace(TestCertificates.root("cluster.local").bundle());
            EngineHandshake.Result r = f.handshake(HandshakeBinding.client(CLIENT, Set.of(SERVER)),
                    HandshakeBinding.server(SERVER));
            assertThat(r.succeeded()).isFalse();
            assertThat(reasonIn(r.clientError())).isEqualTo(Reason.UNTRUSTED_CHAIN);
            f.bundles.replace(f.ca.bundle());
            assertThat(f.handshake(HandshakeBinding.client(CLIENT, Set.of(SERVER)), HandshakeBinding.server(SERVER))
                    .succeeded()).isTrue();
        }
    }

    /** Finds the SvidValidationException behind a handshake failure (providers wrap it differently). */
    static Reason reasonIn(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SvidValidationException) {
                return ((SvidValidationException) c).reason();
            }
            if (c instanceof CertificateException && c.getMessage() != null) {
                for (Reason reason : Reason.values()) {
                    if (c.getMessage().startsWith(reason.name() + ":")) {
                        return reason;
                    }
                }
            }
        }
        throw new AssertionError("no SVID refusal in " + t, t);
    }
}
