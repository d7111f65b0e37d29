package dev.hbone.benchmarks.identity;

import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import dev.hbone.spiffe.tls.HandshakeBinding;
import dev.hbone.spiffe.tls.HandshakeBindings;
import dev.hbone.spiffe.tls.SpiffeKeyManager;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What a server handshake asks of its key manager: choose an alias for the engine, then fetch chain and key for it.
 * {@link SpiffeKeyManager} resolves the engine's binding among {@code identities} bound engines and answers from one
 * SVID snapshot; the JDK's {@code SunX509} and {@code PKIX} key managers over a one-entry KeyStore with the same
 * SVID are baselines (they cannot pick per engine). The {@code PKIX} one re-reads the PKCS#12 entry (a PBE key
 * decryption) on every call, which is most of its cost.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class KeyManagerBenchmark {
    @Param({"1", "100"})
    int identities;

    private IdentityStore store;
    private SpiffeKeyManager spiffe;
    private X509ExtendedKeyManager sunX509;
    private X509ExtendedKeyManager pkix;
    private SSLEngine engine;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        TrustDomain td = TrustDomain.parse("cluster.local");
        CertificateAuthority ca = CertificateAuthority.builder(td).build();
        store = IdentityStore.builder(SvidSources.localCa(ca, Duration.ofHours(24))).build();
        HandshakeBindings bindings = new HandshakeBindings();
        SSLContext jdk = SSLContext.getInstance("TLSv1.3");
        jdk.init(null, null, null);
        SpiffeId target = null;
        for (int i = 0; i < identities; i++) {
            SpiffeId id = SpiffeId.parse("spiffe://cluster.local/ns/ns" + i + "/sa/sa" + i);
            store.fetch(id).join();
            SSLEngine e = jdk.createSSLEngine();
            bindings.bind(e, HandshakeBinding.server(id));
            engine = e;
            target = id;
        }
        spiffe = new SpiffeKeyManager(store, bindings);

        X509Svid svid = store.current(target);
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("svid", svid.getPrivateKey(), new char[0], svid.getChainArray());
        sunX509 = keyManager("SunX509", ks);
        pkix = keyManager("PKIX", ks);
    }

    private static X509ExtendedKeyManager keyManager(String algorithm, KeyStore ks) throws Exception {
        KeyManagerFactory f = KeyManagerFactory.getInstance(algorithm);
        f.init(ks, new char[0]);
        return (X509ExtendedKeyManager) f.getKeyManagers()[0];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        store.close();
    }

    @Benchmark
    public void spiffeKeyManager(Blackhole bh) {
        select(spiffe, bh);
    }

    @Benchmark
    public void jdkSunX509Baseline(Blackhole bh) {
        select(sunX509, bh);
    }

    @Benchmark
    public void jdkPkixBaseline(Blackhole bh) {
        select(pkix, bh);
    }

    private void select(X509ExtendedKeyManager km, Blackhole bh) {
        String alias = km.chooseEngineServerAlias("EC", null, engine);
        X509Certificate[] chain = km.getCertificateChain(alias);
        PrivateKey key = km.getPrivateKey(alias);
        bh.consume(chain);
        bh.consume(key);
    }
}
