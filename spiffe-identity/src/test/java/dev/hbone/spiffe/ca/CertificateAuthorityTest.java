package dev.hbone.spiffe.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CsrRejectedException.Reason;
import dev.hbone.spiffe.svid.PeerRole;
import dev.hbone.spiffe.svid.SvidValidator;
import dev.hbone.spiffe.testing.MutableClock;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
    private static final TrustDomain TD = TrustDomain.parse("cluster.local");
    private static final SpiffeId ID = SpiffeIds.kubernetes("cluster.local", "default", "app");
    private static final CertificateAuthority rootCa = CertificateAuthority.builder(TD).build();
    private static final CertificateAuthority interCa =
            CertificateAuthority.builder(TD).intermediate(Duration.ofDays(30)).build();

    @Test
    void issuesLeafSvidsWithTheSpiffeShape() throws Exception {
        X509Svid svid = rootCa.issue(ID, Duration.ofHours(24));
        X509Certificate leaf = svid.getLeaf();
        assertThat(svid.getSpiffeId()).isEqualTo(ID);
        assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
        assertThat(leaf.getKeyUsage()[0]).as("digitalSignature").isTrue();
        assertThat(leaf.getKeyUsage()[5]).as("keyCertSign").isFalse();
        assertThat(leaf.getExtendedKeyUsage()).containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        assertThat(leaf.getCriticalExtensionOIDs()).contains(Extension.subjectAlternativeName.getId());
        assertThat(leaf.getPublicKey()).isInstanceOf(ECPublicKey.class);
        assertThat(((ECPublicKey) leaf.getPublicKey()).getParams().toString()).contains("secp256r1");
        assertThat(Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant()))
                .isEqualTo(Duration.ofHours(24));
        SvidValidator validator = new SvidValidator(TrustBundles.of(rootCa.bundle()));
        assertThat(validator.validate(svid.getChain(), PeerRole.SERVER)).isEqualTo(ID);
        assertThat(validator.validate(svid.getChain(), PeerRole.CLIENT)).isEqualTo(ID);
    }

    @Test
    void intermediateSignsAndIsInTheChain() throws Exception {
        X509Svid svid = interCa.issue(ID, Duration.ofHours(1));
        assertThat(svid.getChain()).hasSize(2);
        assertThat(svid.getChain().get(1)).isEqualTo(interCa.signingCertificate());
        assertThat(interCa.signingCertificate()).isNotEqualTo(interCa.rootCertificate());
        assertThat(new SvidValidator(TrustBundles.of(interCa.bundle())).validate(svid.getChain(), PeerRole.CLIENT))
                .isEqualTo(ID);
    }

    @Test
    void lifetimeIsCappedAtTheSignerExpiry() {
        X509Svid svid = interCa.issue(ID, Duration.ofDays(365));
        assertThat(svid.getLeaf().getNotAfter()).isEqualTo(interCa.signingCertificate().getNotAfter());
    }

    @Test
    void usesTheInjectedClock() {
        Instant start = Instant.parse("2030-01-01T00:00:00Z");
        CertificateAuthority ca = CertificateAuthority.builder(TD).clock(new MutableClock(start)).build();
        X509Svid svid = ca.issue(ID, Duration.ofHours(2));
        assertThat(svid.getLeaf().getNotBefore().toInstant()).isEqualTo(start);
        assertThat(svid.getLeaf().getNotAfter().toInstant()).isEqualTo(start.plus(Duration.ofHours(2)));
    }

    @Test
    void signsPemAndDerCsrs() throws Exception {
        KeyPair keys = CertificateSigningRequests.generateKeyPair();
        byte[] der = CertificateSigningRequests.create(ID, keys);
        List<X509Certificate> fromDer = rootCa.sign(der, Duration.ofHours(1));
        List<X509Certificate> fromPem = rootCa.sign(
                CertificateSigningRequests.toPem(der).getBytes(StandardCharsets.US_ASCII), Duration.ofHours(1));
        assertThat(fromDer.get(0).getPublicKey()).isEqualTo(keys.getPublic());
        assertThat(fromPem.get(0).getPublicKey()).isEqualTo(keys.getPublic());
        assertThat(SvidValidator.spiffeIdOf(fromPem.get(0))).isEqualTo(ID);
    }

    @Test
    void signsRsa2048Csrs() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair rsa = g.generateKeyPair();
        X509Certificate leaf = rootCa.sign(CertificateSigningRequests.create(ID, rsa), Duration.ofHours(1)).get(0);
        assertThat(leaf.getKeyUsage()[2]).as("keyEncipherment for RSA").isTrue();
        assertThat(new SvidValidator(TrustBundles.of(rootCa.bundle())).validate(List.of(leaf), PeerRole.SERVER))
                .isEqualTo(ID);
    }

    @Test
    void refusesForeignTrustDomain() {
        SpiffeId other = SpiffeIds.parse("spiffe://other.org/ns/a/sa/b");
        byte[] csr = CertificateSigningRequests.create(other, CertificateSigningRequests.generateKeyPair());
        assertThat(reason(csr)).isEqualTo(Reason.FOREIGN_TRUST_DOMAIN);
        assertThat(catchThrowableOfType(CsrRejectedException.class, () -> rootCa.issue(other, Duration.ofHours(1)))
                .reason()).isEqualTo(Reason.FOREIGN_TRUST_DOMAIN);
    }

    @Test
    void refusesCsrsWithoutOrWithSeveralUriSans() throws Exception {
        assertThat(reason(csr(null))).isEqualTo(Reason.NO_URI_SAN);
        assertThat(reason(csr(new GeneralNames(new GeneralName[] {
            uri(ID.toString()), uri("spiffe://cluster.local/ns/x/sa/y")})))).isEqualTo(Reason.MULTIPLE_URI_SANS);
        assertThat(reason(csr(new GeneralNames(new GeneralName(GeneralName.dNSName, "app.default")))))
                .isEqualTo(Reason.OTHER_SAN);
        assertThat(reason(csr(new GeneralNames(new GeneralName[] {
            uri(ID.toString()), new GeneralName(GeneralName.dNSName, "evil.example")})))).isEqualTo(Reason.OTHER_SAN);
    }

    @Test
    void refusesNonSpiffeAndInvalidSpiffeSans() throws Exception {
        assertThat(reason(csr(new GeneralNames(uri("https://cluster.local/x"))))).isEqualTo(Reason.NOT_SPIFFE_URI);
        assertThat(reason(csr(new GeneralNames(uri("spiffe://cluster.local/a/../b")))))
                .isEqualTo(Reason.INVALID_SPIFFE_ID);
        assertThat(reason(csr(new GeneralNames(uri("spiffe://cluster.local")))))
                .isEqualTo(Reason.INVALID_SPIFFE_ID);
    }

    @Test
    void refusesBadSignatureAndGarbage() {
        byte[] der = CertificateSigningRequests.create(ID, CertificateSigningRequests.generateKeyPair());
        byte[] tampered = der.clone();
        tampered[tampered.length - 5] ^= 0x01; // inside the signature
        assertThat(reason(tampered)).isIn(Reason.BAD_SIGNATURE, Reason.MALFORMED);
        assertThat(reason("not a csr".getBytes(StandardCharsets.US_ASCII))).isEqualTo(Reason.MALFORMED);
        assertThat(reason("-----BEGIN CERTIFICATE REQUEST-----\n!!!\n-----END CERTIFICATE REQUEST-----\n"
                .getBytes(StandardCharsets.US_ASCII))).isEqualTo(Reason.MALFORMED);
    }

    @Test
    void refusesCsrSignedByAnotherKey() throws Exception {
        // The CSR carries key A but is signed with key B: proof of possession fails.
        KeyPair a = CertificateSigningRequests.generateKeyPair();
        KeyPair b = CertificateSigningRequests.generateKeyPair();
        ExtensionsGenerator ext = new ExtensionsGenerator();
        ext.addExtension(Extension.subjectAlternativeName, true, new GeneralNames(uri(ID.toString())));
        byte[] der = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), a.getPublic())
                .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(b.getPrivate())).getEncoded();
        assertThat(reason(der)).isEqualTo(Reason.BAD_SIGNATURE);
    }

    @Test
    void refusesWeakKeys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(1024);
        assertThat(reason(CertificateSigningRequests.create(ID, g.generateKeyPair())))
                .isEqualTo(Reason.UNSUPPORTED_KEY);
    }

    @Test
    void savesAndLoadsPem(@TempDir Path dir) throws Exception {
        interCa.save(dir);
        assertThat(dir.resolve(CertificateAuthority.CA_CERT_FILE)).exists();
        assertThat(Files.readString(dir.resolve(CertificateAuthority.CA_KEY_FILE))).contains("BEGIN PRIVATE KEY");
        CertificateAuthority loaded = CertificateAuthority.load(TD, dir);
        assertThat(loaded.rootCertificate()).isEqualTo(interCa.rootCertificate());
        assertThat(loaded.signingCertificate()).isEqualTo(interCa.signingCertificate());
        assertThat(loaded.intermediates()).containsExactly(interCa.signingCertificate());
        X509Svid svid = loaded.issue(ID, Duration.ofHours(1));
        assertThat(new SvidValidator(TrustBundles.of(interCa.bundle())).validate(svid.getChain(), PeerRole.SERVER))
                .isEqualTo(ID);
        assertThat(TrustBundles.fromPem(TD, dir.resolve(CertificateAuthority.ROOT_CERT_FILE)).bundleFor(TD)
                .orElseThrow().getX509Authorities()).containsExactly(interCa.rootCertificate());
    }

    @Test
    void loadRefusesMismatchedKey(@TempDir Path dir) throws Exception {
        rootCa.save(dir);
        CertificateAuthority other = CertificateAuthority.builder(TD).build();
        Path otherDir = dir.resolve("other");
        other.save(otherDir);
        Files.copy(otherDir.resolve(CertificateAuthority.CA_KEY_FILE), dir.resolve(CertificateAuthority.CA_KEY_FILE),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> CertificateAuthority.load(TD, dir)).hasMessageContaining("does not match");
    }

    private static Reason reason(byte[] csr) {
        CsrRejectedException e = catchThrowableOfType(CsrRejectedException.class,
                () -> rootCa.sign(csr, Duration.ofHours(1)));
        assertThat(e).as("rejected").isNotNull();
        assertThat(e.getMessage()).startsWith(e.reason().name());
        return e.reason();
    }

    private static GeneralName uri(String s) {
        return new GeneralName(GeneralName.uniformResourceIdentifier, s);
    }

    private static byte[] csr(GeneralNames sans) throws Exception {
        KeyPair keys = CertificateSigningRequests.generateKeyPair();
        JcaPKCS10CertificationRequestBuilder b = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"),
                keys.getPublic());
        if (sans != null) {
            ExtensionsGenerator ext = new ExtensionsGenerator();
            ext.addExtension(Extension.subjectAlternativeName, true, sans);
            b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate());
        }
        return b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())).getEncoded();
    }
}
