package dev.hbone.spiffe.ca;

import static java.util.Objects.requireNonNull;

import dev.hbone.spiffe.InvalidSpiffeIdException;
import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.internal.KeyChecks;
import dev.hbone.spiffe.internal.Pem;
import dev.hbone.spiffe.internal.Svids;
import dev.hbone.spiffe.ca.CsrRejectedException.Reason;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.exception.X509SvidException;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.pkcs.Attribute;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * A certificate authority for one trust domain, for self-managed meshes and tests.
 *
 * <p>It holds a root (and optionally one intermediate that does the signing), signs PKCS#10 requests that carry one
 * SPIFFE URI SAN of its trust domain, and issues leaf X.509-SVIDs: CA:FALSE, key usage digitalSignature, extended key
 * usage serverAuth and clientAuth, the SPIFFE ID as the only (critical) SAN, an empty subject, capped at the signing
 * certificate's expiry. {@link #issue(SpiffeId, Duration)} generates an ECDSA P-256 key as well.
 *
 * <p>{@link #save(Path)} and {@link #load(TrustDomain, Path)} use Istio's plug-in CA file names: {@code ca-cert.pem},
 * {@code ca-key.pem}, {@code root-cert.pem} and {@code cert-chain.pem}. Thread-safe.
 */
public final class CertificateAuthority {
    /** Signing certificate file. */
    public static final String CA_CERT_FILE = "ca-cert.pem";
    /** Signing key file (PKCS#8 PEM). */
    public static final String CA_KEY_FILE = "ca-key.pem";
    /** Root certificate file. */
    public static final String ROOT_CERT_FILE = "root-cert.pem";
    /** Chain from the signing certificate up to and including the root. */
    public static final String CERT_CHAIN_FILE = "cert-chain.pem";

    private static final SecureRandom random = new SecureRandom();

    private final TrustDomain trustDomain;
    private final X509Certificate root;
    private final X509Certificate signingCertificate;
    private final PrivateKey signingKey;
    /** Certificates between a leaf and the root: the signing certificate first; empty when the root signs. */
    private final List<X509Certificate> intermediates;
    private final Clock clock;

    private CertificateAuthority(TrustDomain trustDomain, X509Certificate root, X509Certificate signingCertificate,
                                 PrivateKey signingKey, List<X509Certificate> intermediates, Clock clock) {
        this.trustDomain = trustDomain;
        this.root = root;
        this.signingCertificate = signingCertificate;
        this.signingKey = signingKey;
        this.intermediates = List.copyOf(intermediates);
        this.clock = clock;
    }

    /**
     * Starts building a new authority with a freshly generated root.
     *
     * @param trustDomain the trust domain it signs for
     * @return the builder
     */
    public static Builder builder(TrustDomain trustDomain) {
        return new Builder(requireNonNull(trustDomain, "trustDomain"));
    }

    /** Builds a {@link CertificateAuthority} with a new ECDSA P-256 root and an optional intermediate. */
    public static final class Builder {
        private final TrustDomain trustDomain;
        private Duration rootValidity = Duration.ofDays(3650);
        private Duration intermediateValidity;
        private Clock clock = Clock.systemUTC();

        private Builder(TrustDomain trustDomain) {
            this.trustDomain = trustDomain;
        }

        /**
         * Sets the root's validity (default ten years).
         *
         * @param validity the validity
         * @return this builder
         */
        public Builder rootValidity(Duration validity) {
            this.rootValidity = positive(validity, "validity");
            return this;
        }

        /**
         * Adds an intermediate CA, signed by the root, that signs the leaves.
         *
         * @param validity the intermediate's validity
         * @return this builder
         */
        public Builder intermediate(Duration validity) {
            this.intermediateValidity = positive(validity, "validity");
            return this;
        }

        /**
         * Sets the clock validity periods start from (default the system clock).
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = requireNonNull(clock, "clock");
            return this;
        }

        /** Generates the keys and certificates and returns the authority. */
        public CertificateAuthority build() {
            Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
            KeyPair rootKeys = KeyChecks.generateP256();
            X500Name rootName = new X500Name("O=" + trustDomain.getName() + ",CN=" + trustDomain.getName() + " root CA");
            X509Certificate root = caCertificate(rootName, rootKeys.getPublic(), rootName, rootKeys, null,
                    now, now.plus(rootValidity), -1);
            if (intermediateValidity == null) {
                return new CertificateAuthority(trustDomain, root, root, rootKeys.getPrivate(), List.of(), clock);
            }
            KeyPair interKeys = KeyChecks.generateP256();
            X500Name interName = new X500Name("O=" + trustDomain.getName() + ",CN=" + trustDomain.getName()
                    + " intermediate CA");
            Instant notAfter = now.plus(intermediateValidity);
            if (notAfter.isAfter(root.getNotAfter().toInstant())) {
                notAfter = root.getNotAfter().toInstant();
            }
            X509Certificate inter = caCertificate(interName, interKeys.getPublic(), rootName, rootKeys, root,
                    now, notAfter, 0);
            return new CertificateAuthority(trustDomain, root, inter, interKeys.getPrivate(), List.of(inter), clock);
        }
    }

    /**
     * Loads an authority saved by {@link #save(Path)} (Istio plug-in CA layout), using the system clock.
     *
     * @param trustDomain the trust domain it signs for
     * @param directory the directory holding the files
     * @return the authority
     * @throws IOException if a file is missing or does not hold what it should
     */
    public static CertificateAuthority load(TrustDomain trustDomain, Path directory) throws IOException {
        return load(trustDomain, directory, Clock.systemUTC());
    }

    /**
     * Loads an authority saved by {@link #save(Path)} (Istio plug-in CA layout).
     *
     * @param trustDomain the trust domain it signs for
     * @param directory the directory holding the files
     * @param clock the clock validity periods start from
     * @return the authority
     * @throws IOException if a file is missing or does not hold what it should
     */
    public static CertificateAuthority load(TrustDomain trustDomain, Path directory, Clock clock) throws IOException {
        requireNonNull(trustDomain, "trustDomain");
        requireNonNull(directory, "directory");
        requireNonNull(clock, "clock");
        try {
            X509Certificate signing = single(Pem.certificates(Files.readAllBytes(directory.resolve(CA_CERT_FILE))),
                    CA_CERT_FILE);
            PrivateKey key = Pem.privateKey(Files.readAllBytes(directory.resolve(CA_KEY_FILE)));
            X509Certificate root = single(Pem.certificates(Files.readAllBytes(directory.resolve(ROOT_CERT_FILE))),
                    ROOT_CERT_FILE);
            List<X509Certificate> intermediates = new ArrayList<>();
            Path chainFile = directory.resolve(CERT_CHAIN_FILE);
            if (Files.exists(chainFile)) {
                for (X509Certificate c : Pem.certificates(Files.readAllBytes(chainFile))) {
                    if (!c.equals(root)) {
                        intermediates.add(c);
                    }
                }
            } else if (!signing.equals(root)) {
                intermediates.add(signing);
            }
            if (!intermediates.isEmpty() && !intermediates.get(0).equals(signing)) {
                throw new IOException(CERT_CHAIN_FILE + " must start with the certificate of " + CA_CERT_FILE);
            }
            if (signing.getBasicConstraints() < 0) {
                throw new IOException(CA_CERT_FILE + " is not a CA certificate");
            }
            if (!signing.getPublicKey().equals(publicKeyOf(signing, key))) {
                throw new IOException(CA_KEY_FILE + " does not match " + CA_CERT_FILE);
            }
            return new CertificateAuthority(trustDomain, root, signing, key, intermediates, clock);
        } catch (CertificateException e) {
            throw new IOException("bad certificate in " + directory, e);
        }
    }

    /**
     * Writes the authority's certificates and signing key as PEM files (Istio plug-in CA layout). The key file is
     * created readable by its owner only where the file system supports POSIX permissions.
     *
     * @param directory the directory, created if missing
     * @throws IOException if writing fails
     */
    public void save(Path directory) throws IOException {
        requireNonNull(directory, "directory");
        Files.createDirectories(directory);
        try {
            write(directory.resolve(CA_CERT_FILE), Pem.encodeCertificates(List.of(signingCertificate)));
            write(directory.resolve(ROOT_CERT_FILE), Pem.encodeCertificates(List.of(root)));
            List<X509Certificate> chain = new ArrayList<>(intermediates);
            chain.add(root);
            write(directory.resolve(CERT_CHAIN_FILE), Pem.encodeCertificates(chain));
        } catch (CertificateException e) {
            throw new IOException("cannot encode certificate", e);
        }
        Path keyFile = directory.resolve(CA_KEY_FILE);
        Files.deleteIfExists(keyFile);
        try {
            Files.createFile(keyFile, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(keyFile);
        }
        write(keyFile, Pem.encodePrivateKey(signingKey));
    }

    /** Returns the trust domain this authority signs for. */
    public TrustDomain trustDomain() {
        return trustDomain;
    }

    /** Returns the root certificate. */
    public X509Certificate rootCertificate() {
        return root;
    }

    /** Returns the certificate that signs leaves (the root, or the intermediate). */
    public X509Certificate signingCertificate() {
        return signingCertificate;
    }

    /** Returns the certificates a leaf's chain carries after the leaf (empty when the root signs). */
    public List<X509Certificate> intermediates() {
        return intermediates;
    }

    /** Returns the trust bundle peers need to verify this authority's SVIDs: its root. */
    public X509Bundle bundle() {
        return new X509Bundle(trustDomain, Set.of(root));
    }

    /**
     * Signs a PKCS#10 request for an X.509-SVID.
     *
     * @param csr the request, DER or PEM
     * @param lifetime the leaf's validity, capped at the signing certificate's expiry
     * @return the chain: the new leaf first, then {@link #intermediates()}
     * @throws CsrRejectedException if the request is malformed, badly signed, or asks for an identity this authority
     *     may not sign
     */
    public List<X509Certificate> sign(byte[] csr, Duration lifetime) {
        requireNonNull(csr, "csr");
        positive(lifetime, "lifetime");
        JcaPKCS10CertificationRequest request = parse(csr);
        PublicKey publicKey;
        try {
            publicKey = request.getPublicKey();
        } catch (GeneralSecurityException e) {
            throw new CsrRejectedException(Reason.MALFORMED, "cannot read the request's public key", e);
        }
        try {
            if (!request.isSignatureValid(new JcaContentVerifierProviderBuilder().build(publicKey))) {
                throw new CsrRejectedException(Reason.BAD_SIGNATURE, "the request's signature does not verify", null);
            }
        } catch (OperatorCreationException | PKCSException e) {
            throw new CsrRejectedException(Reason.BAD_SIGNATURE, "cannot verify the request's signature", e);
        }
        String keyProblem = KeyChecks.unsupportedReason(publicKey);
        if (keyProblem != null) {
            throw new CsrRejectedException(Reason.UNSUPPORTED_KEY, keyProblem, null);
        }
        SpiffeId id = requestedIdentity(request);
        return issueChain(id, publicKey, lifetime);
    }

    /**
     * Issues an X.509-SVID with a new ECDSA P-256 key (the key never leaves the returned SVID).
     *
     * @param id the identity, in this authority's trust domain
     * @param lifetime the leaf's validity, capped at the signing certificate's expiry
     * @return the SVID: chain (leaf, then intermediates) and private key
     * @throws CsrRejectedException with FOREIGN_TRUST_DOMAIN if {@code id} is in another trust domain
     */
    public X509Svid issue(SpiffeId id, Duration lifetime) {
        requireNonNull(id, "id");
        positive(lifetime, "lifetime");
        checkTrustDomain(id);
        KeyPair keys = KeyChecks.generateP256();
        List<X509Certificate> chain = issueChain(id, keys.getPublic(), lifetime);
        try {
            return Svids.of(chain, keys.getPrivate());
        } catch (X509SvidException e) {
            throw new IllegalStateException("issued an SVID java-spiffe refuses", e);
        }
    }

    @Override
    public String toString() {
        return "CertificateAuthority{" + trustDomain.getName() + ", signer " + signingCertificate.getSubjectX500Principal()
                + (intermediates.isEmpty() ? "" : ", intermediate") + "}";
    }

    private SpiffeId requestedIdentity(PKCS10CertificationRequest request) {
        GeneralNames names = null;
        for (Attribute a : request.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
            for (ASN1Encodable value : a.getAttributeValues()) {
                Extensions extensions = Extensions.getInstance(value);
                GeneralNames n = GeneralNames.fromExtensions(extensions, Extension.subjectAlternativeName);
                if (n != null) {
                    if (names != null) {
                        throw new CsrRejectedException(Reason.MULTIPLE_URI_SANS,
                                "the request carries several subjectAltName extensions", null);
                    }
                    names = n;
                }
            }
        }
        if (names == null) {
            throw new CsrRejectedException(Reason.NO_URI_SAN, "the request asks for no subject alternative name", null);
        }
        String uri = null;
        int uris = 0;
        for (GeneralName name : names.getNames()) {
            if (name.getTagNo() != GeneralName.uniformResourceIdentifier) {
                throw new CsrRejectedException(Reason.OTHER_SAN, "the request asks for a non-URI SAN " + name, null);
            }
            uris++;
            uri = name.getName().toString();
        }
        if (uris == 0) {
            throw new CsrRejectedException(Reason.NO_URI_SAN, "the request asks for no URI SAN", null);
        }
        if (uris > 1) {
            throw new CsrRejectedException(Reason.MULTIPLE_URI_SANS, "the request asks for " + uris + " URI SANs",
                    null);
        }
        if (!uri.regionMatches(true, 0, "spiffe:", 0, 7)) {
            throw new CsrRejectedException(Reason.NOT_SPIFFE_URI, "URI SAN " + uri + " is not a spiffe:// URI", null);
        }
        SpiffeId id;
        try {
            id = SpiffeIds.parse(uri);
        } catch (InvalidSpiffeIdException e) {
            throw new CsrRejectedException(Reason.INVALID_SPIFFE_ID, e.getMessage(), e);
        }
        checkTrustDomain(id);
        return id;
    }

    private void checkTrustDomain(SpiffeId id) {
        if (!id.getTrustDomain().equals(trustDomain)) {
            throw new CsrRejectedException(Reason.FOREIGN_TRUST_DOMAIN, id + " is not in trust domain "
                    + trustDomain.getName(), null);
        }
    }

    private List<X509Certificate> issueChain(SpiffeId id, PublicKey publicKey, Duration lifetime) {
        Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
        Instant notAfter = now.plus(lifetime);
        Instant signerExpiry = signingCertificate.getNotAfter().toInstant();
        if (notAfter.isAfter(signerExpiry)) {
            notAfter = signerExpiry;
        }
        try {
            X500Name issuer = X500Name.getInstance(signingCertificate.getSubjectX500Principal().getEncoded());
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer, serial(), Date.from(now),
                    Date.from(notAfter), new X500Name(new RDN[0]), publicKey);
            JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
            int usage = KeyUsage.digitalSignature;
            if (publicKey instanceof RSAPublicKey) {
                usage |= KeyUsage.keyEncipherment;
            }
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(usage))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                            new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    // Empty subject, so the SAN is critical (RFC 5280 4.2.1.6), as Istio's CA does.
                    .addExtension(Extension.subjectAlternativeName, true,
                            new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString())))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            utils.createAuthorityKeyIdentifier(signingCertificate))
                    .addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(publicKey));
            X509Certificate leaf = sign(builder, signingKey);
            List<X509Certificate> chain = new ArrayList<>(1 + intermediates.size());
            chain.add(leaf);
            chain.addAll(intermediates);
            return Collections.unmodifiableList(chain);
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot issue a certificate for " + id, e);
        }
    }

    private static X509Certificate caCertificate(X500Name subject, PublicKey publicKey, X500Name issuer,
                                                 KeyPair issuerKeys, X509Certificate issuerCert, Instant notBefore,
                                                 Instant notAfter, int pathLength) {
        try {
            JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer, serial(), Date.from(notBefore),
                    Date.from(notAfter), subject, publicKey);
            builder.addExtension(Extension.basicConstraints, true,
                            pathLength < 0 ? new BasicConstraints(true) : new BasicConstraints(pathLength))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(publicKey))
                    .addExtension(Extension.authorityKeyIdentifier, false, issuerCert == null
                            ? utils.createAuthorityKeyIdentifier(issuerKeys.getPublic())
                            : utils.createAuthorityKeyIdentifier(issuerCert));
            return sign(builder, issuerKeys.getPrivate());
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot create CA certificate " + subject, e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key)
            throws GeneralSecurityException {
        try {
            String algorithm = "EC".equals(key.getAlgorithm()) ? "SHA256withECDSA" : "SHA256withRSA";
            X509CertificateHolder holder = builder.build(new JcaContentSignerBuilder(algorithm).build(key));
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign", e);
        }
    }

    private static JcaPKCS10CertificationRequest parse(byte[] csr) {
        byte[] der = csr;
        String text = new String(csr, StandardCharsets.US_ASCII);
        int begin = text.indexOf("-----BEGIN CERTIFICATE REQUEST-----");
        if (begin >= 0) {
            int end = text.indexOf("-----END CERTIFICATE REQUEST-----", begin);
            if (end < 0) {
                throw new CsrRejectedException(Reason.MALFORMED, "unterminated PEM block", null);
            }
            try {
                der = Base64.getMimeDecoder().decode(text.substring(begin + 35, end));
            } catch (IllegalArgumentException e) {
                throw new CsrRejectedException(Reason.MALFORMED, "bad base64 in PEM block", e);
            }
        }
        try {
            return new JcaPKCS10CertificationRequest(der);
        } catch (IOException | RuntimeException e) {
            throw new CsrRejectedException(Reason.MALFORMED, "not a PKCS#10 request", e);
        }
    }

    private static PublicKey publicKeyOf(X509Certificate cert, PrivateKey key) throws IOException {
        // Prove possession: sign with the key, verify with the certificate's public key.
        try {
            String algorithm = "EC".equals(key.getAlgorithm()) ? "SHA256withECDSA" : "SHA256withRSA";
            java.security.Signature s = java.security.Signature.getInstance(algorithm);
            s.initSign(key);
            byte[] probe = "hbone-ca-key-check".getBytes(StandardCharsets.US_ASCII);
            s.update(probe);
            byte[] signature = s.sign();
            s.initVerify(cert.getPublicKey());
            s.update(probe);
            if (!s.verify(signature)) {
                throw new IOException(CA_KEY_FILE + " does not match " + CA_CERT_FILE);
            }
            return cert.getPublicKey();
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot check " + CA_KEY_FILE, e);
        }
    }

    private static X509Certificate single(List<X509Certificate> certificates, String file) throws IOException {
        if (certificates.isEmpty()) {
            throw new IOException("no certificate in " + file);
        }
        return certificates.get(0);
    }

    private static void write(Path file, String content) throws IOException {
        Files.writeString(file, content, StandardCharsets.US_ASCII);
    }

    private static BigInteger serial() {
        return new BigInteger(127, random).add(BigInteger.ONE);
    }

    private static Duration positive(Duration d, String name) {
        requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive: " + d);
        }
        return d;
    }
}
