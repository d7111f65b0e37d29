package dev.hbone.spiffe.svid;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hbone.spiffe.bundle.SpiffeBundleFormat;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.internal.Pem;
import dev.hbone.spiffe.tls.HandshakeBindings;
import dev.hbone.spiffe.tls.SpiffeTrustManager;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;

/**
 * Coverage-guided fuzzing (Jazzer) of every certificate input a node reads from outside: a peer's certificate chain
 * (DER, as TLS delivers it, or PEM), trust bundle PEM files, SPIFFE bundle (JWKS) documents and PEM private keys.
 * Documented failures only: {@link CertificateException} from parsing, {@link SvidValidationException} with a
 * {@link SvidValidationException.Reason} from validation, {@link CertificateException} from the trust manager,
 * {@link IllegalArgumentException} with a message from the JWKS parser, {@link IOException} from the loaders.
 *
 * <p>The validator trusts {@code fuzz-root.pem} (a fixed test root, committed) at a fixed instant, so the committed
 * seed chains it issued are valid and mutations of them reach every check. {@code mvn verify} replays the inputs
 * under {@code src/test/resources/dev/hbone/spiffe/svid/CertificateInputFuzzTestInputs/<method>/}.
 */
class CertificateInputFuzzTest {
    static final TrustDomain TRUST_DOMAIN = TrustDomain.parse("cluster.local");
    /** Inside the validity of the committed seeds (see {@link CertificateFuzzSeeds}). */
    static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");
    private static final X509Bundle ROOT = loadRoot();
    private static final SvidValidator VALIDATOR =
            new SvidValidator(TrustBundles.of(ROOT), Clock.fixed(NOW, ZoneOffset.UTC));
    private static final SpiffeTrustManager TRUST_MANAGER = new SpiffeTrustManager(VALIDATOR, new HandshakeBindings());
    private static final Set<SpiffeId> EXPECTED = Set.of(SpiffeId.parse("spiffe://cluster.local/ns/default/sa/server"));
    private static final Path PEM_FILE = tempFile();

    @FuzzTest(maxDuration = "2m")
    void peerChain(byte[] input) throws IOException {
        List<X509Certificate> chain;
        try {
            chain = Pem.certificates(input); // DER sequence or PEM blocks
        } catch (CertificateException e) {
            return;
        }
        if (chain.isEmpty()) {
            return;
        }
        for (PeerRole role : PeerRole.values()) {
            try {
                SpiffeId id = VALIDATOR.validate(chain, role, role == PeerRole.SERVER ? EXPECTED : Set.of());
                if (!id.equals(SvidValidator.spiffeIdOf(chain.get(0)))) {
                    throw new AssertionError("validated identity " + id + " is not the leaf's");
                }
            } catch (SvidValidationException e) {
                if (e.reason() == null || e.getMessage() == null) {
                    throw new AssertionError("refusal without a reason", e);
                }
            }
        }
        X509Certificate[] array = chain.toArray(X509Certificate[]::new);
        try {
            TRUST_MANAGER.checkClientTrusted(array, "ECDHE_ECDSA");
        } catch (CertificateException e) {
            if (e.getMessage() == null || !(e.getCause() instanceof SvidValidationException)) {
                throw new AssertionError("trust manager refusal without its reason", e);
            }
        }
    }

    @FuzzTest(maxDuration = "2m")
    void trustBundlePem(byte[] input) throws IOException {
        Files.write(PEM_FILE, input);
        X509Bundle bundle;
        try {
            bundle = TrustBundles.loadPem(TRUST_DOMAIN, PEM_FILE);
        } catch (IOException e) {
            if (e.getMessage() == null) {
                throw new AssertionError("refusal without a message", e);
            }
            return;
        }
        if (bundle.getX509Authorities().isEmpty()) {
            throw new AssertionError("accepted a bundle without authorities");
        }
        // Accepted: the JWKS form carries the same authorities.
        roundTrip(bundle);
    }

    @FuzzTest(maxDuration = "2m")
    void spiffeBundleJson(byte[] input) {
        X509Bundle bundle;
        try {
            bundle = SpiffeBundleFormat.parse(TRUST_DOMAIN, new String(input, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            if (e.getMessage() == null || e.getMessage().isBlank()) {
                throw new AssertionError("refusal without a message", e);
            }
            return;
        }
        roundTrip(bundle);
    }

    @FuzzTest(maxDuration = "2m")
    void privateKeyPem(byte[] input) {
        try {
            if (Pem.privateKey(input) == null) {
                throw new AssertionError("null key");
            }
        } catch (IOException e) {
            if (e.getMessage() == null) {
                throw new AssertionError("refusal without a message", e);
            }
        }
    }

    private static void roundTrip(X509Bundle bundle) {
        X509Bundle again = SpiffeBundleFormat.parse(TRUST_DOMAIN, SpiffeBundleFormat.toJson(bundle, 1));
        if (!again.getX509Authorities().equals(bundle.getX509Authorities())) {
            throw new AssertionError("bundle does not round-trip through JWKS");
        }
    }

    private static X509Bundle loadRoot() {
        try (InputStream in = CertificateInputFuzzTest.class.getResourceAsStream("fuzz-root.pem")) {
            return new X509Bundle(TRUST_DOMAIN, Set.copyOf(Pem.certificates(in.readAllBytes())));
        } catch (IOException | CertificateException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Path tempFile() {
        try {
            Path p = Files.createTempFile("fuzz-bundle", ".pem");
            p.toFile().deleteOnExit();
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
