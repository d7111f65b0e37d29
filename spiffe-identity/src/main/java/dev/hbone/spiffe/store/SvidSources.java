package dev.hbone.spiffe.store;

import static java.util.Objects.requireNonNull;

import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.ca.CertificateSigningRequests;
import dev.hbone.spiffe.internal.Pem;
import dev.hbone.spiffe.internal.Svids;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.svid.x509svid.X509Svid;
import io.spiffe.workloadapi.X509Source;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/** Ready-made {@link SvidSource}s. */
public final class SvidSources {
    private SvidSources() {
    }

    /**
     * SVIDs from a local {@link CertificateAuthority}: each fetch generates an ECDSA P-256 key, builds a PKCS#10
     * request for the identity and has the authority sign it (the same path a remote CA takes).
     *
     * @param ca the authority; identities outside its trust domain fail
     * @param lifetime the lifetime of each SVID
     * @return the source
     */
    public static SvidSource localCa(CertificateAuthority ca, Duration lifetime) {
        requireNonNull(ca, "ca");
        requireNonNull(lifetime, "lifetime");
        return identity -> {
            try {
                KeyPair keys = CertificateSigningRequests.generateKeyPair();
                byte[] csr = CertificateSigningRequests.create(identity, keys);
                List<X509Certificate> chain = ca.sign(csr, lifetime);
                return CompletableFuture.completedFuture(Svids.of(chain, keys.getPrivate()));
            } catch (Exception e) {
                return CompletableFuture.failedFuture(e);
            }
        };
    }

    /**
     * One SVID read from PEM files (a chain, leaf first, and a private key) on every fetch, so rewritten files are
     * picked up at the next renewal. Serves only the identity in the leaf.
     *
     * @param certificateChain the chain file
     * @param privateKey the key file (PKCS#8, SEC1 or PKCS#1 PEM)
     * @return the source
     */
    public static SvidSource pemFiles(Path certificateChain, Path privateKey) {
        requireNonNull(certificateChain, "certificateChain");
        requireNonNull(privateKey, "privateKey");
        return identity -> {
            try {
                byte[] chainPem = Files.readAllBytes(certificateChain);
                byte[] keyPem = Files.readAllBytes(privateKey);
                return matching(identity, Svids.of(Pem.certificates(chainPem),
                        Pem.privateKey(keyPem)));
            } catch (Exception e) {
                return CompletableFuture.failedFuture(e);
            }
        };
    }

    /**
     * Routes each identity to its own source; identities without one fail.
     *
     * @param sources the source of each identity
     * @return the source
     */
    public static SvidSource byIdentity(Map<SpiffeId, SvidSource> sources) {
        Map<SpiffeId, SvidSource> copy = Map.copyOf(requireNonNull(sources, "sources"));
        return identity -> {
            SvidSource s = copy.get(identity);
            return s == null
                    ? CompletableFuture.failedFuture(new NoSuchElementException("no SVID source for " + identity))
                    : s.fetch(identity);
        };
    }

    /**
     * Adapts a java-spiffe {@link X509Source} (e.g. the Workload API's {@code DefaultX509Source}, which needs gRPC on
     * the class path, or any other implementation). It holds one SVID, so it serves only that identity; the store's
     * renewal re-reads {@link X509Source#getX509Svid()}, which the Workload API source keeps current.
     *
     * @param x509Source the source
     * @return the adapter
     */
    public static SvidSource x509Source(X509Source x509Source) {
        requireNonNull(x509Source, "x509Source");
        return supplier(x509Source::getX509Svid);
    }

    /**
     * Adapts any supplier of one current SVID; serves only that SVID's identity.
     *
     * @param supplier the supplier; called on every fetch
     * @return the source
     */
    public static SvidSource supplier(Supplier<X509Svid> supplier) {
        requireNonNull(supplier, "supplier");
        return identity -> {
            try {
                return matching(identity, supplier.get());
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            }
        };
    }

    private static CompletableFuture<X509Svid> matching(SpiffeId identity, X509Svid svid) {
        if (svid == null) {
            return CompletableFuture.failedFuture(new NoSuchElementException("no SVID available"));
        }
        if (!identity.equals(svid.getSpiffeId())) {
            return CompletableFuture.failedFuture(new NoSuchElementException("source holds an SVID for "
                    + svid.getSpiffeId() + ", not " + identity));
        }
        return CompletableFuture.completedFuture(svid);
    }
}
