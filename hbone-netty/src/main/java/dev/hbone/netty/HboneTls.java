package dev.hbone.netty;

import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.tls.HandshakeBinding;
import dev.hbone.spiffe.tls.HandshakeBindings;
import dev.hbone.spiffe.tls.SpiffeKeyManager;
import dev.hbone.spiffe.tls.SpiffeTrustManager;
import io.spiffe.spiffeid.SpiffeId;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

import static java.util.Objects.requireNonNull;

/**
 * The mutual-TLS setup of an HBONE client or server: key and trust managers that answer per connection through
 * {@link TlsBindings}, the {@link TlsProvider}, whether TLS 1.2 is allowed (off by default; HBONE is TLS 1.3) and
 * whether the hybrid post-quantum key exchange is offered (off by default). Ciphers are AES-GCM only, ALPN is exactly
 * {@code h2}, the client sends no SNI and never resumes sessions.
 */
public final class HboneTls {
    private final X509ExtendedKeyManager keyManager;
    private final X509ExtendedTrustManager trustManager;
    private final TlsBindings bindings;
    private final TlsProvider provider;
    private final boolean allowTls12;
    private final boolean postQuantumKeyExchange;
    private final Function<SpiffeId, CompletableFuture<?>> identityLoader;

    private HboneTls(Builder b) {
        this.keyManager = requireNonNull(b.keyManager, "keyManager");
        this.trustManager = requireNonNull(b.trustManager, "trustManager");
        this.bindings = requireNonNull(b.bindings, "bindings");
        this.provider = b.provider != null ? b.provider : TlsProvider.defaultProvider();
        this.allowTls12 = b.allowTls12;
        this.postQuantumKeyExchange = b.postQuantumKeyExchange != null ? b.postQuantumKeyExchange
                : Boolean.getBoolean(POST_QUANTUM_PROPERTY);
        if (postQuantumKeyExchange && provider != TlsProvider.OPENSSL) {
            throw new IllegalArgumentException("the post-quantum key exchange (X25519MLKEM768) needs the OPENSSL "
                    + "provider (BoringSSL); the JDK provider offers the JDK's own groups (jdk.tls.namedGroups)");
        }
        this.identityLoader = b.identityLoader;
    }

    /**
     * The system property that turns the post-quantum key exchange on when the builder does not say
     * ({@code -Dhbone.tls.postQuantum=true}).
     */
    public static final String POST_QUANTUM_PROPERTY = "hbone.tls.postQuantum";

    /** A new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The usual setup: certificates from spiffe-identity's {@link IdentityStore}, peers validated against
     * {@link TrustBundles}, with the default provider.
     */
    public static HboneTls spiffe(IdentityStore store, TrustBundles bundles) {
        return builder().spiffe(store, bundles).build();
    }

    /** Makes sure the certificate of {@code identity} is loaded before a handshake needs it. */
    public CompletableFuture<?> loadIdentity(SpiffeId identity) {
        return identityLoader.apply(identity);
    }

    /** Chooses this side's certificate for the identity bound to the engine. */
    public X509ExtendedKeyManager keyManager() {
        return keyManager;
    }

    /** Validates the peer's SVID (and, on a client, that it is one of the expected identities). */
    public X509ExtendedTrustManager trustManager() {
        return trustManager;
    }

    /** Where the transport registers each engine's identities. */
    public TlsBindings bindings() {
        return bindings;
    }

    /** The TLS implementation. */
    public TlsProvider provider() {
        return provider;
    }

    /** Whether TLS 1.2 is offered and accepted besides TLS 1.3. */
    public boolean allowTls12() {
        return allowTls12;
    }

    /**
     * Whether the hybrid post-quantum group X25519MLKEM768 is offered first (then X25519, P-256, P-384); else the
     * classical groups only.
     */
    public boolean postQuantumKeyExchange() {
        return postQuantumKeyExchange;
    }

    /** Builds {@link HboneTls}. Key manager, trust manager and bindings are required. */
    public static final class Builder {
        private X509ExtendedKeyManager keyManager;
        private X509ExtendedTrustManager trustManager;
        private TlsBindings bindings;
        private TlsProvider provider;
        private boolean allowTls12;
        private Boolean postQuantumKeyExchange;
        private Function<SpiffeId, CompletableFuture<?>> identityLoader = id -> CompletableFuture.completedFuture(null);

        private Builder() { }

        /**
         * Uses spiffe-identity: {@link SpiffeKeyManager} over {@code store}, {@link SpiffeTrustManager} over
         * {@code bundles}, and {@link HandshakeBindings} between them; identities are fetched into the store before
         * the first handshake that needs them.
         */
        public Builder spiffe(IdentityStore store, TrustBundles bundles) {
            requireNonNull(store, "store");
            requireNonNull(bundles, "bundles");
            HandshakeBindings handshakes = new HandshakeBindings();
            this.keyManager = new SpiffeKeyManager(store, handshakes);
            this.trustManager = new SpiffeTrustManager(bundles, handshakes);
            this.bindings = new SpiffeBindings(handshakes);
            this.identityLoader = store::fetch;
            return this;
        }

        /** Called before a connection presents {@code identity} (e.g. to fetch its SVID); default: nothing. */
        public Builder identityLoader(Function<SpiffeId, CompletableFuture<?>> identityLoader) {
            this.identityLoader = requireNonNull(identityLoader, "identityLoader");
            return this;
        }

        /** The key manager (spiffe-identity's {@code SpiffeKeyManager}). */
        public Builder keyManager(X509ExtendedKeyManager keyManager) {
            this.keyManager = requireNonNull(keyManager, "keyManager");
            return this;
        }

        /** The trust manager (spiffe-identity's {@code SpiffeTrustManager}). */
        public Builder trustManager(X509ExtendedTrustManager trustManager) {
            this.trustManager = requireNonNull(trustManager, "trustManager");
            return this;
        }

        /** The per-engine bindings both managers read. */
        public Builder bindings(TlsBindings bindings) {
            this.bindings = requireNonNull(bindings, "bindings");
            return this;
        }

        /** The TLS implementation; default {@link TlsProvider#defaultProvider()}. */
        public Builder provider(TlsProvider provider) {
            this.provider = requireNonNull(provider, "provider");
            return this;
        }

        /** Also offer and accept TLS 1.2 (a compatibility switch; off by default). */
        public Builder allowTls12(boolean allowTls12) {
            this.allowTls12 = allowTls12;
            return this;
        }

        /**
         * Offer and prefer the hybrid post-quantum key exchange X25519MLKEM768 (ML-KEM-768 with X25519), keeping
         * X25519, P-256 and P-384 for peers without it. Off by default (classical groups only, so the client's
         * first key share is X25519): the hybrid group costs about 0.2 ms more CPU per handshake pair and 1.1 KB more
         * in each ClientHello (see {@code benchmarks/RESULTS.md}). Unset, the system property
         * {@value HboneTls#POST_QUANTUM_PROPERTY} decides. BoringSSL ({@link TlsProvider#OPENSSL}) only: {@link #build()}
         * refuses it with the JDK provider.
         */
        public Builder postQuantumKeyExchange(boolean enabled) {
            this.postQuantumKeyExchange = enabled;
            return this;
        }

        /** Builds. */
        public HboneTls build() {
            return new HboneTls(this);
        }
    }

    /** {@link TlsBindings} over spiffe-identity's {@link HandshakeBindings}. */
    private static final class SpiffeBindings implements TlsBindings {
        private final HandshakeBindings handshakes;

        SpiffeBindings(HandshakeBindings handshakes) {
            this.handshakes = handshakes;
        }

        @Override
        public void bind(SSLEngine engine, SpiffeId localIdentity, Set<SpiffeId> expectedPeers) {
            handshakes.bind(engine, expectedPeers.isEmpty() ? HandshakeBinding.server(localIdentity)
                                                            : HandshakeBinding.client(localIdentity, expectedPeers));
        }

        @Override
        public void unbind(SSLEngine engine) {
            handshakes.unbind(engine);
        }
    }
}
