package dev.hbone.spiffe.testing;

import static java.util.Objects.requireNonNull;

import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Test fixture: builds SPIFFE certificates, good and deliberately bad, with BouncyCastle. Published in the test-jar
 * for other modules.
 *
 * <pre>{@code
 * TestCertificates.Authority root = TestCertificates.root("example.org");
 * TestCertificates.Issued good = root.leaf("spiffe://example.org/ns/a/sa/b").issue();
 * TestCertificates.Issued bad = root.leaf("spiffe://example.org/x").ca(true).issue();
 * X509Bundle bundle = root.bundle();
 * }</pre>
 *
 * <p>Keys are cached per type so building many certificates stays fast; nothing here is meant for production.
 */
public final class TestCertificates {
    private static final SecureRandom random = new SecureRandom();
    private static final java.util.Map<String, KeyPair> keyCache = new java.util.concurrent.ConcurrentHashMap<>();

    private TestCertificates() {
    }

    /** A key description: {@code "EC:secp256r1"}, {@code "EC:secp384r1"}, {@code "EC:secp521r1"}, {@code "RSA:2048"}. */
    public static KeyPair keyPair(String spec) {
        return keyCache.computeIfAbsent(spec, TestCertificates::generate);
    }

    /** A fresh (uncached) key pair. */
    public static KeyPair freshKeyPair(String spec) {
        return generate(spec);
    }

    private static KeyPair generate(String spec) {
        try {
            String[] parts = spec.split(":");
            KeyPairGenerator g = KeyPairGenerator.getInstance(parts[0]);
            if (parts[0].equals("RSA")) {
                g.initialize(Integer.parseInt(parts[1]));
            } else {
                g.initialize(new ECGenParameterSpec(parts[1]));
            }
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(spec, e);
        }
    }

    /**
     * A new self-signed root CA (ECDSA P-256, valid from a day ago for ten years).
     *
     * @param trustDomain the trust domain name
     * @return the authority
     */
    public static Authority root(String trustDomain) {
        return root(trustDomain, Instant.now().minus(Duration.ofDays(1)), Instant.now().plus(Duration.ofDays(3650)));
    }

    /**
     * A new self-signed root CA with a chosen validity.
     *
     * @param trustDomain the trust domain name
     * @param notBefore start of validity
     * @param notAfter end of validity
     * @return the authority
     */
    public static Authority root(String trustDomain, Instant notBefore, Instant notAfter) {
        KeyPair keys = freshKeyPair("EC:secp256r1");
        X500Name name = new X500Name("O=" + trustDomain + ",CN=test root " + random.nextInt(1_000_000));
        X509Certificate cert = caCert(name, keys, name, keys.getPrivate(), notBefore, notAfter);
        return new Authority(TrustDomain.parse(trustDomain), cert, keys, List.of(), cert);
    }

    private static X509Certificate caCert(X500Name subject, KeyPair subjectKeys, X500Name issuer, PrivateKey issuerKey,
                                          Instant notBefore, Instant notAfter) {
        try {
            JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, serial(), Date.from(notBefore),
                    Date.from(notAfter), subject, subjectKeys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false,
                    utils.createSubjectKeyIdentifier(subjectKeys.getPublic()));
            return sign(b, issuerKey);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws Exception {
        String alg = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(alg).build(key)));
    }

    private static BigInteger serial() {
        return new BigInteger(64, random).add(BigInteger.ONE);
    }

    /** A CA that signs test certificates. */
    public static final class Authority {
        private final TrustDomain trustDomain;
        private final X509Certificate certificate;
        private final KeyPair keys;
        /** Certificates to append after a leaf: this CA (if not the root) and its parents below the root. */
        private final List<X509Certificate> chainTail;
        private final X509Certificate root;

        private Authority(TrustDomain trustDomain, X509Certificate certificate, KeyPair keys,
                          List<X509Certificate> chainTail, X509Certificate root) {
            this.trustDomain = trustDomain;
            this.certificate = certificate;
            this.keys = keys;
            this.chainTail = chainTail;
            this.root = root;
        }

        /** Returns the trust domain. */
        public TrustDomain trustDomain() {
            return trustDomain;
        }

        /** Returns this CA's certificate. */
        public X509Certificate certificate() {
            return certificate;
        }

        /** Returns the root at the top of this CA's chain. */
        public X509Certificate rootCertificate() {
            return root;
        }

        /** Returns a bundle holding this CA's root. */
        public X509Bundle bundle() {
            return new X509Bundle(trustDomain, Set.of(root));
        }

        /**
         * Returns a CA with the same name as this one (so chains built by name look right) but another key: its
         * certificates must fail signature verification against this CA.
         */
        public Authority impostor() {
            KeyPair k = freshKeyPair("EC:secp256r1");
            X500Name name = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
            X509Certificate c = caCert(name, k, name, k.getPrivate(), certificate.getNotBefore().toInstant(),
                    certificate.getNotAfter().toInstant());
            return new Authority(trustDomain, c, k, List.of(), c);
        }

        /** Returns a new intermediate CA signed by this one (valid like its parent). */
        public Authority intermediate() {
            KeyPair k = freshKeyPair("EC:secp256r1");
            X500Name name = new X500Name("O=" + trustDomain.getName() + ",CN=test intermediate "
                    + random.nextInt(1_000_000));
            X509Certificate c = caCert(name, k, X500Name.getInstance(certificate.getSubjectX500Principal()
                    .getEncoded()), keys.getPrivate(), certificate.getNotBefore().toInstant(),
                    certificate.getNotAfter().toInstant());
            List<X509Certificate> tail = new ArrayList<>();
            tail.add(c);
            tail.addAll(chainTail);
            return new Authority(trustDomain, c, k, List.copyOf(tail), root);
        }

        /**
         * Starts a leaf with one URI SAN (any string, valid or not).
         *
         * @param uriSan the URI SAN
         * @return the builder, preset to a valid X.509-SVID
         */
        public LeafBuilder leaf(String uriSan) {
            return new LeafBuilder(this).uriSans(uriSan);
        }

        /**
         * Starts a leaf for a SPIFFE ID.
         *
         * @param id the ID
         * @return the builder, preset to a valid X.509-SVID
         */
        public LeafBuilder leaf(SpiffeId id) {
            return leaf(id.toString());
        }
    }

    /** Builds one leaf; every property defaults to a valid X.509-SVID leaf. */
    public static final class LeafBuilder {
        private final Authority issuer;
        private List<String> uriSans = List.of();
        private List<String> dnsSans = List.of();
        private String key = "EC:secp256r1";
        private KeyPair keyPair;
        private Instant notBefore = Instant.now().minus(Duration.ofMinutes(5)).truncatedTo(ChronoUnit.SECONDS);
        private Instant notAfter = Instant.now().plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS);
        private boolean ca;
        private Integer keyUsage = KeyUsage.digitalSignature;
        private List<KeyPurposeId> ekus = List.of(KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth);
        private boolean includeEku = true;

        private LeafBuilder(Authority issuer) {
            this.issuer = issuer;
        }

        /** Sets the URI SANs (none, one or several). */
        public LeafBuilder uriSans(String... sans) {
            this.uriSans = List.of(sans);
            return this;
        }

        /** Adds DNS SANs. */
        public LeafBuilder dnsSans(String... sans) {
            this.dnsSans = List.of(sans);
            return this;
        }

        /** Sets the key: {@code "EC:secp256r1"} (default), {@code "EC:secp384r1"}, {@code "RSA:2048"}... */
        public LeafBuilder key(String spec) {
            this.key = requireNonNull(spec, "spec");
            this.keyPair = null;
            return this;
        }

        /** Uses a given key pair. */
        public LeafBuilder keyPair(KeyPair keyPair) {
            this.keyPair = requireNonNull(keyPair, "keyPair");
            return this;
        }

        /** Sets the validity. */
        public LeafBuilder validity(Instant notBefore, Instant notAfter) {
            this.notBefore = notBefore;
            this.notAfter = notAfter;
            return this;
        }

        /** Sets CA:TRUE (or back to CA:FALSE). */
        public LeafBuilder ca(boolean ca) {
            this.ca = ca;
            return this;
        }

        /** Sets the key usage bits (BouncyCastle {@link KeyUsage} constants), or null for no extension. */
        public LeafBuilder keyUsage(Integer bits) {
            this.keyUsage = bits;
            return this;
        }

        /** Sets the extended key usages; none given means no EKU extension. */
        public LeafBuilder eku(KeyPurposeId... purposes) {
            this.ekus = List.of(purposes);
            this.includeEku = purposes.length > 0;
            return this;
        }

        /** Only serverAuth. */
        public LeafBuilder serverOnly() {
            return eku(KeyPurposeId.id_kp_serverAuth);
        }

        /** Only clientAuth. */
        public LeafBuilder clientOnly() {
            return eku(KeyPurposeId.id_kp_clientAuth);
        }

        /** Builds and signs the leaf. */
        public Issued issue() {
            try {
                KeyPair kp = keyPair != null ? keyPair : TestCertificates.keyPair(key);
                X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                        X500Name.getInstance(issuer.certificate.getSubjectX500Principal().getEncoded()), serial(),
                        Date.from(notBefore), Date.from(notAfter), new X500Name("CN=test leaf"), kp.getPublic());
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
                if (keyUsage != null) {
                    b.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
                }
                if (includeEku) {
                    b.addExtension(Extension.extendedKeyUsage, false,
                            new ExtendedKeyUsage(ekus.toArray(new KeyPurposeId[0])));
                }
                List<GeneralName> names = new ArrayList<>();
                for (String u : uriSans) {
                    names.add(new GeneralName(GeneralName.uniformResourceIdentifier, u));
                }
                for (String d : dnsSans) {
                    names.add(new GeneralName(GeneralName.dNSName, d));
                }
                if (!names.isEmpty()) {
                    b.addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(names.toArray(new GeneralName[0])));
                }
                X509Certificate leaf = sign(b, issuer.keys.getPrivate());
                List<X509Certificate> chain = new ArrayList<>();
                chain.add(leaf);
                chain.addAll(issuer.chainTail);
                return new Issued(List.copyOf(chain), kp.getPrivate());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * A leaf and its chain (leaf first, then intermediates; never the root) with its private key.
     *
     * @param chain the chain
     * @param privateKey the leaf's key
     */
    public record Issued(List<X509Certificate> chain, PrivateKey privateKey) {
        /** Returns the leaf. */
        public X509Certificate leaf() {
            return chain.get(0);
        }

        /** Returns the chain as an array. */
        public X509Certificate[] chainArray() {
            return chain.toArray(new X509Certificate[0]);
        }

        /** Returns the chain with the root appended. */
        public List<X509Certificate> withRoot(X509Certificate root) {
            List<X509Certificate> l = new ArrayList<>(chain);
            l.add(root);
            return l;
        }

        /** Converts to a java-spiffe SVID (java-spiffe refuses bad leaves, so only for valid ones). */
        public X509Svid toSvid() {
            try {
                ByteArrayOutputStream der = new ByteArrayOutputStream();
                for (X509Certificate c : chain) {
                    der.writeBytes(c.getEncoded());
                }
                return X509Svid.parseRaw(der.toByteArray(), privateKey.getEncoded());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
