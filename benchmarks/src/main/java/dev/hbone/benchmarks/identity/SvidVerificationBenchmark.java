package dev.hbone.benchmarks.identity;

import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.svid.PeerRole;
import dev.hbone.spiffe.svid.SvidValidationException;
import dev.hbone.spiffe.svid.SvidValidator;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Arrays;
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
 * One X.509-SVID chain verification as a TLS peer check does it: SPIFFE leaf rules plus JDK PKIX (signatures,
 * validity, CA constraints) against the trust domain's bundle, ECDSA P-256 throughout. {@code intermediate=true}: leaf
 * + intermediate (two signatures); {@code false}: a leaf signed by the root (one signature).
 *
 * <p>The {@code verify*} benchmarks parse the chain from DER first, as a handshake receives it: the JDK caches a
 * certificate's last signature check on the certificate object, so validating the same objects again
 * ({@code cachedCertificateObjects}) skips the ECDSA work and only shows the SPIFFE/PKIX bookkeeping.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SvidVerificationBenchmark {
    @Param({"false", "true"})
    boolean intermediate;

    private SvidValidator validator;
    private List<X509Certificate> chain;
    private byte[][] der;
    private Set<SpiffeId> expected;

    @Setup(Level.Trial)
    public void setup() throws CertificateException {
        TrustDomain td = TrustDomain.parse("cluster.local");
        CertificateAuthority.Builder b = CertificateAuthority.builder(td);
        if (intermediate) {
            b.intermediate(Duration.ofDays(30));
        }
        CertificateAuthority ca = b.build();
        validator = new SvidValidator(TrustBundles.of(ca.bundle()));
        SpiffeId id = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/server");
        chain = ca.issue(id, Duration.ofHours(24)).getChain();
        expected = Set.of(id, SpiffeId.parse("spiffe://cluster.local/ns/default/sa/other"));
        der = new byte[chain.size()][];
        for (int i = 0; i < chain.size(); i++) {
            der[i] = chain.get(i).getEncoded();
        }
    }

    private List<X509Certificate> parse() throws CertificateException {
        CertificateFactory f = CertificateFactory.getInstance("X.509");
        X509Certificate[] parsed = new X509Certificate[der.length];
        for (int i = 0; i < der.length; i++) {
            parsed[i] = (X509Certificate) f.generateCertificate(new ByteArrayInputStream(der[i]));
        }
        return Arrays.asList(parsed);
    }

    @Benchmark
    public List<X509Certificate> parseOnly() throws CertificateException {
        return parse();
    }

    @Benchmark
    public SpiffeId verifyAsServerChecksClient() throws SvidValidationException, CertificateException {
        return validator.validate(parse(), PeerRole.CLIENT);
    }

    @Benchmark
    public SpiffeId verifyAsClientChecksExpectedServer() throws SvidValidationException, CertificateException {
        return validator.validate(parse(), PeerRole.SERVER, expected);
    }

    @Benchmark
    public SpiffeId cachedCertificateObjects() throws SvidValidationException {
        return validator.validate(chain, PeerRole.CLIENT);
    }
}
