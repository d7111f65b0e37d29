package dev.hbone.netty.testing;

import io.spiffe.spiffeid.SpiffeId;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A test-only CA issuing P-256 X.509-SVIDs (one URI SAN, digitalSignature, serverAuth+clientAuth). Stands in for
 * spiffe-identity's CertificateAuthority until the transport is wired to it.
 */
public final class TestPki {
    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    private final String trustDomain;
    private final KeyPair caKeys;
    private final X509Certificate caCert;

    public TestPki(String trustDomain) {
        this.trustDomain = trustDomain;
        try {
            caKeys = newKeyPair();
            X500Name name = new X500Name("CN=test root " + trustDomain);
            Instant now = Instant.now();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                    name, BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(now.minus(1, ChronoUnit.HOURS)),
                    Date.from(now.plus(1, ChronoUnit.DAYS)), name, caKeys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectAlternativeName, false,
                           new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier,
                                                            "spiffe://" + trustDomain)));
            caCert = sign(b, caKeys.getPrivate());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public String trustDomain() {
        return trustDomain;
    }

    public X509Certificate caCert() {
        return caCert;
    }

    public SpiffeId id(String namespace, String serviceAccount) {
        return SpiffeId.parse("spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount);
    }

    /** A leaf SVID for {@code id}. */
    public Svid issue(SpiffeId id) {
        try {
            KeyPair keys = newKeyPair();
            Instant now = Instant.now();
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
                    caCert, BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(now.minus(1, ChronoUnit.HOURS)),
                    Date.from(now.plus(1, ChronoUnit.DAYS)), new X500Name("O=hbone-test"), keys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true,
                           new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment | KeyUsage.keyAgreement));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                    new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            b.addExtension(Extension.subjectAlternativeName, true,
                           new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString())));
            return new Svid(id, new X509Certificate[] {sign(b, caKeys.getPrivate())}, keys.getPrivate());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A leaf SVID. */
    public record Svid(SpiffeId id, X509Certificate[] chain, PrivateKey key) {
        /** Writes cert.pem (leaf), key.pem (PKCS#8) into {@code dir} with the given prefix. */
        public void writePem(Path dir, String prefix) throws IOException {
            Files.writeString(dir.resolve(prefix + "-cert.pem"), pem(chain[0]));
            Files.writeString(dir.resolve(prefix + "-key.pem"), pem(new org.bouncycastle.openssl.jcajce
                    .JcaPKCS8Generator(key, null).generate()));
        }
    }

    public void writeCaPem(Path file) throws IOException {
        Files.writeString(file, pem(caCert));
    }

    static String pem(Object o) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter p = new JcaPEMWriter(w)) {
            p.writeObject(o);
        }
        return w.toString();
    }

    private static KeyPair newKeyPair() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static X509Certificate sign(JcaX509v3CertificateBuilder b, PrivateKey key) throws Exception {
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
    }
}
