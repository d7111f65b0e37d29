package dev.hbone.benchmarks.identity;

import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.ca.CertificateSigningRequests;
import dev.hbone.spiffe.svid.PeerRole;
import dev.hbone.spiffe.svid.SvidValidationException;
import dev.hbone.spiffe.svid.SvidValidator;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * One X.509-SVID chain verification as a TLS peer check does it: parse the DER chain, SPIFFE leaf rules, PKIX path
 * validation (signatures, validity, CA constraints; BouncyCastle's) against the trust domain's bundle; ECDSA P-256
 * throughout.
 * {@code intermediate=true}: leaf + intermediate; {@code false}: a leaf signed by the root.
 *
 * <ul>
 * <li>{@code newLeaf*}: a different leaf every time (cycling through {@value #LEAVES}, more than the JDK's
 *     certificate cache of 750 and than the validator's memory of verified chains), so the leaf's ECDSA signature is
 *     really checked: a first contact with a peer.</li>
 * <li>{@code repeatedLeaf}: the same DER every time. The JDK's {@code CertificateFactory} returns its cached
 *     certificate object, which remembers its last signature check, so this is the steady state with a
 *     recurring peer, SPIFFE and PKIX bookkeeping only.</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SvidVerificationBenchmark {
    static final int LEAVES = 8192; // a power of two, twice SvidValidator's memory of 4 096 verified chains

    @Param({"false", "true"})
    boolean intermediate;

    private SvidValidator validator;
    private byte[][] leaves;
    private byte[] intermediateDer;
    private Set<SpiffeId> expected;
    private java.security.PublicKey signerKey;
    private int next;

    @Setup(Level.Trial)
    public void setup() throws CertificateException {
        TrustDomain td = TrustDomain.parse("cluster.local");
        CertificateAuthority.Builder b = CertificateAuthority.builder(td);
        if (intermediate) {
            b.intermediate(Duration.ofDays(30));
        }
        CertificateAuthority ca = b.build();
        signerKey = ca.signingCertificate().getPublicKey();
        validator = new SvidValidator(TrustBundles.of(ca.bundle()));
        SpiffeId id = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/server");
        byte[] csr = CertificateSigningRequests.create(id, CertificateSigningRequests.generateKeyPair());
        leaves = new byte[LEAVES][];
        for (int i = 0; i < LEAVES; i++) {
            List<X509Certificate> chain = ca.sign(csr, Duration.ofHours(24)); // new serial each time
            leaves[i] = chain.get(0).getEncoded();
            if (intermediate) {
                intermediateDer = chain.get(1).getEncoded();
            }
        }
        expected = Set.of(id, SpiffeId.parse("spiffe://cluster.local/ns/default/sa/other"));
    }

    private List<X509Certificate> parse(byte[] leaf) throws CertificateException {
        CertificateFactory f = CertificateFactory.getInstance("X.509");
        X509Certificate l = (X509Certificate) f.generateCertificate(new ByteArrayInputStream(leaf));
        if (intermediateDer == null) {
            return List.of(l);
        }
        return List.of(l, (X509Certificate) f.generateCertificate(new ByteArrayInputStream(intermediateDer)));
    }

    private byte[] nextLeaf() {
        byte[] leaf = leaves[next];
        next = (next + 1) & (LEAVES - 1);
        return leaf;
    }

    @Benchmark
    public SpiffeId newLeafAsServerChecksClient() throws SvidValidationException, CertificateException {
        return validator.validate(parse(nextLeaf()), PeerRole.CLIENT);
    }

    @Benchmark
    public SpiffeId newLeafAsClientChecksExpectedServer() throws SvidValidationException, CertificateException {
        return validator.validate(parse(nextLeaf()), PeerRole.SERVER, expected);
    }

    /** The floor with the JDK's provider (SunEC): parse a new leaf and check its one ECDSA signature, nothing else. */
    @Benchmark
    public X509Certificate newLeafSignatureOnlyBaseline() throws java.security.GeneralSecurityException {
        X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(nextLeaf()));
        leaf.verify(signerKey);
        return leaf;
    }

    /** The same floor with BouncyCastle's signature (the one the validator's PKIX uses). */
    @Benchmark
    public X509Certificate newLeafSignatureOnlyBouncyCastle() throws java.security.GeneralSecurityException {
        X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(nextLeaf()));
        leaf.verify(signerKey, BC);
        return leaf;
    }

    private static final java.security.Provider BC = new org.bouncycastle.jce.provider.BouncyCastleProvider();

    @Benchmark
    public SpiffeId repeatedLeaf() throws SvidValidationException, CertificateException {
        return validator.validate(parse(leaves[0]), PeerRole.CLIENT);
    }
}
