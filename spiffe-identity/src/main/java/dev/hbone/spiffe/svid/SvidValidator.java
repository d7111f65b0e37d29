package dev.hbone.spiffe.svid;

import static java.util.Objects.requireNonNull;

import dev.hbone.spiffe.InvalidSpiffeIdException;
import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.internal.KeyChecks;
import dev.hbone.spiffe.svid.SvidValidationException.Reason;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import java.io.ByteArrayInputStream;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Provider;
import java.security.PublicKey;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.Certificate;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Date;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Validates X.509-SVID chains per the SPIFFE X.509-SVID specification against {@link TrustBundles}.
 *
 * <p>Checks, in order: a certificate is present; the leaf has exactly one URI SAN, a valid {@code spiffe://} workload
 * ID; the leaf is not a CA, has {@code digitalSignature} and neither {@code keyCertSign} nor {@code cRLSign}; the leaf
 * has the extended key usage of its {@link PeerRole}; the leaf key is RSA ≥ 2048 bits or ECDSA P-256/P-384; every
 * certificate is within its validity period at the {@link Clock}'s instant; the chain verifies (RFC 5280 path validation by BouncyCastle, revocation
 * off) to an authority of the SPIFFE ID's own trust domain; the ID is one of the expected identities, if any are
 * given. Each refusal is a {@link SvidValidationException} with a specific {@link Reason}, and is counted
 * ({@link #refusals(Reason)}).
 *
 * <p>Thread-safe; bundle changes apply to the next call.
 */
public final class SvidValidator {
    private static final int SAN_URI = 6;
    private static final int KU_DIGITAL_SIGNATURE = 0;
    private static final int KU_KEY_CERT_SIGN = 5;
    private static final int KU_CRL_SIGN = 6;

    /** Chains remembered as verified; when full, the memory starts over (a bound, not an LRU). */
    static final int VERIFIED_CHAINS = 4096;

    private final TrustBundles bundles;
    private final Clock clock;
    private final Map<Reason, LongAdder> refusals = new EnumMap<>(Reason.class);
    /**
     * Chains whose signatures verified, by the SHA-256 of their DER bytes, with the very anchor set they verified
     * against. A peer's SVID is presented again on every connection until it is renewed (hours), and its P-256
     * signature check is most of a handshake's cost in Java (about a millisecond with JDK 17's SunEC, more than
     * BoringSSL's whole handshake); the bytes and the anchors decide the outcome, so it is computed once. Dates are
     * checked on every call, before the chain; a bundle change brings new anchor sets, so nothing verified against
     * the old ones is trusted again without a fresh check. Refusals are never remembered.
     */
    private final ConcurrentHashMap<ChainDigest, Set<TrustAnchor>> verified = new ConcurrentHashMap<>();

    /**
     * Creates a validator using the system clock.
     *
     * @param bundles the trusted bundles
     */
    public SvidValidator(TrustBundles bundles) {
        this(bundles, Clock.systemUTC());
    }

    /**
     * Creates a validator.
     *
     * @param bundles the trusted bundles
     * @param clock the clock validity periods are checked against
     */
    public SvidValidator(TrustBundles bundles, Clock clock) {
        this.bundles = requireNonNull(bundles, "bundles");
        this.clock = requireNonNull(clock, "clock");
        for (Reason r : Reason.values()) {
            refusals.put(r, new LongAdder());
        }
        // Load BouncyCastle (~4 MiB of heap, once per JVM, and ~0.1 s) with the TLS setup, not in the first handshake.
        requireNonNull(Bc.PROVIDER);
    }

    /** Returns the trust bundles this validator checks against. */
    public TrustBundles trustBundles() {
        return bundles;
    }

    /**
     * Validates a chain, accepting any identity of a trusted trust domain.
     *
     * @param chain the peer's chain, leaf first (may be {@code null} or empty: refused with NO_CERTIFICATE)
     * @param role the TLS role of the peer
     * @return the peer's SPIFFE ID
     * @throws SvidValidationException if the chain is refused
     */
    public SpiffeId validate(List<X509Certificate> chain, PeerRole role) throws SvidValidationException {
        return validate(chain, role, Set.of());
    }

    /**
     * Validates a chain and, if {@code expectedIdentities} is not empty, that its SPIFFE ID is one of them.
     *
     * @param chain the peer's chain, leaf first (may be {@code null} or empty: refused with NO_CERTIFICATE)
     * @param role the TLS role of the peer
     * @param expectedIdentities the acceptable identities; empty means any identity of a trusted trust domain
     * @return the peer's SPIFFE ID
     * @throws SvidValidationException if the chain is refused
     */
    public SpiffeId validate(List<X509Certificate> chain, PeerRole role, Set<SpiffeId> expectedIdentities)
            throws SvidValidationException {
        requireNonNull(role, "role");
        requireNonNull(expectedIdentities, "expectedIdentities");
        try {
            return doValidate(chain, role, expectedIdentities);
        } catch (SvidValidationException e) {
            refusals.get(e.reason()).increment();
            throw e;
        }
    }

    /**
     * Array form of {@link #validate(List, PeerRole, Set)}, as JSSE hands chains over.
     *
     * @param chain the peer's chain, leaf first (may be {@code null} or empty)
     * @param role the TLS role of the peer
     * @param expectedIdentities the acceptable identities; empty means any identity of a trusted trust domain
     * @return the peer's SPIFFE ID
     * @throws SvidValidationException if the chain is refused
     */
    public SpiffeId validate(X509Certificate[] chain, PeerRole role, Set<SpiffeId> expectedIdentities)
            throws SvidValidationException {
        return validate(chain == null ? null : Arrays.asList(chain), role, expectedIdentities);
    }

    /**
     * Returns how many chains were refused for a reason since this validator was created.
     *
     * @param reason the reason
     * @return the count
     */
    public long refusals(Reason reason) {
        return refusals.get(requireNonNull(reason, "reason")).sum();
    }

    /**
     * Extracts the SPIFFE ID of a leaf certificate, enforcing the URI SAN rules (exactly one URI SAN, a valid
     * {@code spiffe://} workload ID). Does not check anything else.
     *
     * @param leaf the certificate
     * @return its SPIFFE ID
     * @throws SvidValidationException with NO_URI_SAN, MULTIPLE_URI_SANS, NOT_SPIFFE_URI, INVALID_SPIFFE_ID or
     *     MALFORMED_CERTIFICATE
     */
    public static SpiffeId spiffeIdOf(X509Certificate leaf) throws SvidValidationException {
        requireNonNull(leaf, "leaf");
        Collection<List<?>> sans;
        try {
            sans = leaf.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            throw new SvidValidationException(Reason.MALFORMED_CERTIFICATE, "cannot parse subject alternative names",
                    null, e);
        }
        String uri = null;
        int uris = 0;
        if (sans != null) {
            for (List<?> san : sans) {
                if (san.size() >= 2 && san.get(0) instanceof Integer && (Integer) san.get(0) == SAN_URI) {
                    uris++;
                    uri = String.valueOf(san.get(1));
                }
            }
        }
        if (uris == 0) {
            throw new SvidValidationException(Reason.NO_URI_SAN, "leaf has no URI SAN", null, null);
        }
        if (uris > 1) {
            throw new SvidValidationException(Reason.MULTIPLE_URI_SANS, "leaf has " + uris + " URI SANs", null, null);
        }
        int colon = uri.indexOf(':');
        if (colon < 0 || !uri.substring(0, colon).equalsIgnoreCase("spiffe")) {
            throw new SvidValidationException(Reason.NOT_SPIFFE_URI, "URI SAN " + abbreviate(uri)
                    + " is not a spiffe:// URI", null, null);
        }
        try {
            return SpiffeIds.parse(uri);
        } catch (InvalidSpiffeIdException e) {
            throw new SvidValidationException(Reason.INVALID_SPIFFE_ID, e.getMessage(), null, e);
        }
    }

    private SpiffeId doValidate(List<X509Certificate> chain, PeerRole role, Set<SpiffeId> expected)
            throws SvidValidationException {
        if (chain == null || chain.isEmpty() || chain.get(0) == null) {
            throw new SvidValidationException(Reason.NO_CERTIFICATE, "no certificate presented", null, null);
        }
        X509Certificate leaf = chain.get(0);
        SpiffeId id = spiffeIdOf(leaf);
        checkLeafShape(leaf, id);
        checkEku(leaf, role, id);
        checkKey(leaf.getPublicKey(), id);
        Date now = Date.from(clock.instant());
        for (X509Certificate c : chain) {
            checkDates(c, now, id);
        }
        checkChain(chain, id, now);
        if (!expected.isEmpty() && !expected.contains(id)) {
            throw new SvidValidationException(Reason.UNEXPECTED_IDENTITY,
                    id + " is not among the expected identities " + expected, id, null);
        }
        return id;
    }

    private static void checkLeafShape(X509Certificate leaf, SpiffeId id) throws SvidValidationException {
        if (leaf.getBasicConstraints() != -1) {
            throw new SvidValidationException(Reason.LEAF_IS_CA, "leaf has CA:TRUE", id, null);
        }
        boolean[] usage = leaf.getKeyUsage();
        if (usage != null && usage.length > KU_KEY_CERT_SIGN && usage[KU_KEY_CERT_SIGN]) {
            throw new SvidValidationException(Reason.LEAF_KEY_CERT_SIGN, "leaf has keyCertSign", id, null);
        }
        if (usage != null && usage.length > KU_CRL_SIGN && usage[KU_CRL_SIGN]) {
            throw new SvidValidationException(Reason.LEAF_CRL_SIGN, "leaf has cRLSign", id, null);
        }
        if (usage == null || !usage[KU_DIGITAL_SIGNATURE]) {
            throw new SvidValidationException(Reason.NO_DIGITAL_SIGNATURE,
                    usage == null ? "leaf has no key usage extension" : "leaf lacks digitalSignature", id, null);
        }
    }

    private static void checkEku(X509Certificate leaf, PeerRole role, SpiffeId id) throws SvidValidationException {
        List<String> ekus;
        try {
            ekus = leaf.getExtendedKeyUsage();
        } catch (CertificateParsingException e) {
            throw new SvidValidationException(Reason.MALFORMED_CERTIFICATE, "cannot parse extended key usage", id, e);
        }
        // Strict on purpose: every SVID issuer (Istio, SPIRE) sets the EKU, so a missing one is not the "any" case
        // of RFC 5280 here.
        if (ekus == null || !ekus.contains(role.requiredEkuOid())) {
            throw new SvidValidationException(Reason.WRONG_EKU, "a " + role.name().toLowerCase() + " leaf needs the "
                    + role.requiredEkuName() + " extended key usage, has " + (ekus == null ? "none" : ekus), id, null);
        }
    }

    private static void checkKey(PublicKey key, SpiffeId id) throws SvidValidationException {
        String problem = KeyChecks.unsupportedReason(key);
        if (problem != null) {
            throw new SvidValidationException(Reason.UNSUPPORTED_KEY, problem, id, null);
        }
    }

    private static void checkDates(X509Certificate c, Date now, SpiffeId id) throws SvidValidationException {
        try {
            c.checkValidity(now);
        } catch (CertificateExpiredException e) {
            throw new SvidValidationException(Reason.EXPIRED, "certificate " + c.getSubjectX500Principal()
                    + " expired at " + c.getNotAfter().toInstant(), id, e);
        } catch (CertificateNotYetValidException e) {
            throw new SvidValidationException(Reason.NOT_YET_VALID, "certificate " + c.getSubjectX500Principal()
                    + " is valid from " + c.getNotBefore().toInstant(), id, e);
        }
    }

    private void checkChain(List<X509Certificate> chain, SpiffeId id, Date now) throws SvidValidationException {
        TrustDomain td = id.getTrustDomain();
        Optional<Set<TrustAnchor>> own = bundles.trustAnchors(td);
        GeneralSecurityException failure;
        if (own.isPresent() && !own.get().isEmpty()) {
            ChainDigest digest = ChainDigest.of(chain);
            if (digest != null && verified.get(digest) == own.get()) {
                return;
            }
            failure = verify(chain, own.get(), now);
            if (failure == null) {
                if (digest != null) {
                    if (verified.size() >= VERIFIED_CHAINS) {
                        verified.clear();
                    }
                    verified.put(digest, own.get());
                }
                return;
            }
        } else {
            failure = null;
        }
        // Not trusted by its own trust domain: say whether it chains to another (federated) domain instead.
        for (TrustDomain other : bundles.trustDomains()) {
            if (other.equals(td)) {
                continue;
            }
            Optional<Set<TrustAnchor>> anchors = bundles.trustAnchors(other);
            if (anchors.isPresent() && !anchors.get().isEmpty() && verify(chain, anchors.get(), now) == null) {
                throw new SvidValidationException(Reason.TRUST_DOMAIN_MISMATCH, "SPIFFE ID " + id
                        + " is in trust domain " + td.getName() + " but its chain leads to the authorities of "
                        + other.getName(), id, null);
            }
        }
        if (failure == null) {
            throw new SvidValidationException(Reason.UNTRUSTED_CHAIN, "trust domain " + td.getName()
                    + " is not trusted (no bundle)", id, null);
        }
        throw new SvidValidationException(Reason.UNTRUSTED_CHAIN, "chain does not verify against the authorities"
                + " of trust domain " + td.getName() + ": " + failure.getMessage(), id, failure);
    }

    /** SHA-256 over the chain's certificates (length-prefixed DER, leaf first). */
    private record ChainDigest(byte[] sha256) {
        static ChainDigest of(List<X509Certificate> chain) {
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                for (X509Certificate c : chain) {
                    byte[] der = c.getEncoded();
                    md.update((byte) (der.length >>> 24));
                    md.update((byte) (der.length >>> 16));
                    md.update((byte) (der.length >>> 8));
                    md.update((byte) der.length);
                    md.update(der);
                }
                return new ChainDigest(md.digest());
            } catch (GeneralSecurityException e) {
                return null; // not encodable: no memory, the full check decides
            }
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ChainDigest d && MessageDigest.isEqual(sha256, d.sha256);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(sha256);
        }
    }

    /** Returns null when the chain verifies against the anchors, else the failure. */
    private static GeneralSecurityException verify(List<X509Certificate> chain, Set<TrustAnchor> anchors, Date now) {
        List<X509Certificate> path = chain;
        // A peer may send its root along; the validator wants the path below the anchor.
        while (path.size() > 1 && isAnchor(path.get(path.size() - 1), anchors)) {
            path = path.subList(0, path.size() - 1);
        }
        try {
            // BouncyCastle's PKIX on BouncyCastle's certificate objects: the same RFC 5280 path checks, but the
            // signatures verify with BouncyCastle's P-256 (~5x faster than JDK 17's SunEC, ~2x JDK 25's), without
            // registering a provider globally. The leaf's signature is the Java cost of every first contact.
            CertificateFactory factory = CertificateFactory.getInstance("X.509", Bc.PROVIDER);
            List<Certificate> reparsed = new ArrayList<>(path.size());
            for (X509Certificate c : path) {
                reparsed.add(factory.generateCertificate(new ByteArrayInputStream(c.getEncoded())));
            }
            CertPath certPath = factory.generateCertPath(reparsed);
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            params.setDate(now);
            CertPathValidator.getInstance("PKIX", Bc.PROVIDER).validate(certPath, params);
            return null;
        } catch (GeneralSecurityException e) {
            return e;
        }
    }

    /** One BouncyCastle provider instance for chain checks, created on first use, never registered. */
    private static final class Bc {
        static final Provider PROVIDER = new BouncyCastleProvider();
    }

    private static boolean isAnchor(X509Certificate c, Set<TrustAnchor> anchors) {
        for (TrustAnchor a : anchors) {
            if (c.equals(a.getTrustedCert())) {
                return true;
            }
        }
        return false;
    }

    private static String abbreviate(String s) {
        return s.length() <= 128 ? s : s.substring(0, 128) + "...";
    }
}
