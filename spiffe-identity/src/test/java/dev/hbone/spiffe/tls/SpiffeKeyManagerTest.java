package dev.hbone.spiffe.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import dev.hbone.spiffe.testing.ManualScheduler;
import dev.hbone.spiffe.testing.MutableClock;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SpiffeKeyManagerTest {
    private static final SpiffeId A = SpiffeIds.kubernetes("cluster.local", "ns", "a");
    private static final SpiffeId B = SpiffeIds.kubernetes("cluster.local", "ns", "b");

    private final MutableClock clock = new MutableClock(Instant.now());
    private final CertificateAuthority ca =
            CertificateAuthority.builder(TrustDomain.parse("cluster.local")).clock(clock).build();
    private final IdentityStore store = IdentityStore.builder(SvidSources.localCa(ca, Duration.ofHours(1)))
            .clock(clock).scheduler(new ManualScheduler(clock)).build();
    private final HandshakeBindings bindings = new HandshakeBindings();
    private final SpiffeKeyManager km = new SpiffeKeyManager(store, bindings);

    @AfterEach
    void close() {
        store.close();
    }

    private static SSLEngine engine() throws Exception {
        return SSLContext.getDefault().createSSLEngine();
    }

    @Test
    void choosesTheBoundIdentityPerEngine() throws Exception {
        store.fetch(A).join();
        store.fetch(B).join();
        SSLEngine e1 = engine();
        SSLEngine e2 = engine();
        bindings.bind(e1, HandshakeBinding.server(A));
        bindings.bind(e2, HandshakeBinding.server(B));
        String a1 = km.chooseEngineServerAlias("EC", null, e1);
        String a2 = km.chooseEngineClientAlias(new String[] {"RSA", "EC"}, null, e2);
        assertThat(km.getCertificateChain(a1)[0]).isEqualTo(store.current(A).getLeaf());
        assertThat(km.getCertificateChain(a2)[0]).isEqualTo(store.current(B).getLeaf());
        assertThat(a1).endsWith("#" + A);
    }

    @Test
    void honoursTheRequestedKeyType() throws Exception {
        store.fetch(A).join();
        SSLEngine e = engine();
        bindings.bind(e, HandshakeBinding.server(A));
        assertThat(km.chooseEngineServerAlias("RSA", null, e)).isNull();
        assertThat(km.chooseEngineServerAlias("RSASSA-PSS", null, e)).isNull();
        assertThat(km.chooseEngineServerAlias("EC", null, e)).isNotNull();
        assertThat(km.chooseEngineServerAlias("EC_EC", null, e)).isNotNull();
        assertThat(km.chooseEngineClientAlias(new String[] {"RSA"}, null, e)).isNull();
        assertThat(km.chooseEngineClientAlias(new String[0], null, e)).as("no key types: any").isNotNull();
        assertThat(km.getServerAliases("EC", null)).hasSize(1);
        assertThat(km.getClientAliases("RSA", null)).isNull();
    }

    @Test
    void noBindingOrNoSvidMeansNoAlias() throws Exception {
        SSLEngine unbound = engine();
        assertThat(km.chooseEngineServerAlias("EC", null, unbound)).isNull();
        SSLEngine bound = engine();
        bindings.bind(bound, HandshakeBinding.server(A));
        assertThat(km.chooseEngineServerAlias("EC", null, bound)).as("not fetched yet").isNull();
        store.fetch(A).join();
        assertThat(km.chooseEngineServerAlias("EC", null, bound)).isNotNull();
        bindings.unbind(bound);
        assertThat(km.chooseEngineServerAlias("EC", null, bound)).isNull();
    }

    @Test
    void chainAndKeyComeFromTheSameSnapshotAcrossARotation() throws Exception {
        store.fetch(A).join();
        SSLEngine e = engine();
        bindings.bind(e, HandshakeBinding.server(A));
        String alias = km.chooseEngineServerAlias("EC", null, e);
        store.renew(A).join(); // rotation between alias selection and the chain/key reads
        X509Certificate[] chain = km.getCertificateChain(alias);
        PrivateKey key = km.getPrivateKey(alias);
        assertThat(chain[0]).isNotEqualTo(store.current(A).getLeaf());
        assertThat(keyMatches(chain[0], key)).isTrue();
        String next = km.chooseEngineServerAlias("EC", null, e);
        assertThat(next).isNotEqualTo(alias);
        assertThat(km.getCertificateChain(next)[0]).isEqualTo(store.current(A).getLeaf());
        assertThat(keyMatches(km.getCertificateChain(next)[0], km.getPrivateKey(next))).isTrue();
    }

    @Test
    void aChosenAliasKeepsItsKeyOnItsThreadEvenWhenRotationsOutrunTheStoresMemory() throws Exception {
        // A handshake thread descheduled between choosing the alias and reading the key (a busy machine, a burst of
        // renewals): more rotations than the store keeps resolvable must not leave the chosen alias without a key,
        // which the JDK provider reports as "No available authentication scheme".
        store.fetch(A).join();
        SSLEngine e = engine();
        bindings.bind(e, HandshakeBinding.server(A));
        String alias = km.chooseEngineServerAlias("EC", null, e);
        for (int i = 0; i < 6; i++) {
            store.renew(A).join();
        }
        assertThat(store.snapshot(Long.parseLong(alias.substring(0, alias.indexOf('#')))))
                .as("the store itself has forgotten the generation").isEmpty();
        X509Certificate[] chain = km.getCertificateChain(alias);
        PrivateKey key = km.getPrivateKey(alias);
        assertThat(chain).isNotNull();
        assertThat(keyMatches(chain[0], key)).isTrue();
        // Only the choosing thread's last choice is kept: elsewhere the forgotten alias stays forgotten.
        Thread other = new Thread(() -> assertThat(km.getPrivateKey(alias)).isNull());
        AtomicReference<Throwable> failure = new AtomicReference<>();
        other.setUncaughtExceptionHandler((t, x) -> failure.set(x));
        other.start();
        other.join();
        assertThat(failure.get()).isNull();
    }

    @Test
    void negativeControlReadingTheCurrentSvidTwiceMismatchesAcrossARotation() throws Exception {
        // What the snapshot alias prevents: a key manager that reads "the current SVID" once for the chain and
        // again for the key pairs the old chain with the new key when a rotation falls in between.
        store.fetch(A).join();
        X509Certificate[] chain = store.current(A).getChainArray();
        store.renew(A).join();
        PrivateKey key = store.current(A).getPrivateKey();
        assertThat(keyMatches(chain[0], key)).isFalse();
    }

    @Test
    void unknownOrMalformedAliasesResolveToNull() throws Exception {
        store.fetch(A).join();
        String alias = km.getServerAliases("EC", null)[0];
        String generation = alias.substring(0, alias.indexOf('#'));
        for (String bad : new String[] {null, "", "#", "x#" + A, "999999#" + A, generation + "#" + B,
            generation + "#" + A + "x", generation}) {
            assertThat(km.getCertificateChain(bad)).as(bad).isNull();
            assertThat(km.getPrivateKey(bad)).as(bad).isNull();
        }
    }

    @Test
    void tooOldGenerationsAreForgotten() throws Exception {
        store.fetch(A).join();
        String first = km.getServerAliases("EC", null)[0];
        for (int i = 0; i < 4; i++) {
            store.renew(A).join();
        }
        assertThat(km.getCertificateChain(first)).isNull();
    }

    @Test
    void fixedIdentityAndSocketOverloadsUseTheDefaultBinding() throws Exception {
        store.fetch(A).join();
        SpiffeKeyManager fixed = new SpiffeKeyManager(store, A);
        assertThat(fixed.chooseServerAlias("EC", null, null)).endsWith("#" + A);
        assertThat(fixed.chooseClientAlias(new String[] {"EC"}, null, new java.net.Socket())).endsWith("#" + A);
        assertThat(fixed.chooseEngineServerAlias("EC", null, engine())).endsWith("#" + A);
    }

    @Test
    void boundSocketsGetTheirOwnIdentity() throws Exception {
        store.fetch(A).join();
        store.fetch(B).join();
        HandshakeBindings withDefault = new HandshakeBindings(HandshakeBinding.server(A));
        SpiffeKeyManager m = new SpiffeKeyManager(store, withDefault);
        java.net.Socket s = new java.net.Socket();
        withDefault.bind(s, HandshakeBinding.server(B));
        assertThat(m.chooseServerAlias("EC", null, s)).endsWith("#" + B);
        assertThat(m.chooseServerAlias("EC", null, new java.net.Socket())).endsWith("#" + A);
        assertThat(withDefault.unbind(s)).isPresent();
        assertThat(m.chooseServerAlias("EC", null, s)).endsWith("#" + A);
    }

    @Test
    void expiredSvidIsNotPresented() throws Exception {
        store.fetch(A).join();
        SSLEngine e = engine();
        bindings.bind(e, HandshakeBinding.server(A));
        clock.advance(Duration.ofHours(2));
        assertThat(km.chooseEngineServerAlias("EC", null, e)).isNull();
    }

    private static boolean keyMatches(X509Certificate cert, PrivateKey key) throws Exception {
        Signature s = Signature.getInstance("SHA256withECDSA");
        s.initSign(key);
        s.update(new byte[] {1, 2, 3});
        byte[] sig = s.sign();
        s.initVerify(cert.getPublicKey());
        s.update(new byte[] {1, 2, 3});
        return s.verify(sig);
    }

    @Test
    void bindingRecordValidation() {
        assertThat(HandshakeBinding.server(A).expectedPeers()).isEmpty();
        assertThat(HandshakeBinding.client(A, Set.of(B)).expectedPeers()).containsExactly(B);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HandshakeBinding.client(A, Set.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
