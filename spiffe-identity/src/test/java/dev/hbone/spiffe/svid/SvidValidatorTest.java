package dev.hbone.spiffe.svid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.hbone.spiffe.InvalidSpiffeIdException;
import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.svid.SvidValidationException.Reason;
import dev.hbone.spiffe.testing.TestCertificates;
import dev.hbone.spiffe.testing.TestCertificates.Authority;
import dev.hbone.spiffe.testing.TestCertificates.Issued;
import io.spiffe.spiffeid.SpiffeId;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The whole "certificates a peer must refuse" list, one generated certificate per case. */
class SvidValidatorTest {
    private static final String ID = "spiffe://example.org/ns/default/sa/app";
    private static final Authority root = TestCertificates.root("example.org");
    private static final Authority federated = TestCertificates.root("other.org");
    private static final Authority foreign = TestCertificates.root("example.org");
    private static final Authority evil = TestCertificates.root("evil.org");

    private final SvidValidator validator = new SvidValidator(TrustBundles.of(root.bundle(), federated.bundle()));

    private SpiffeId accept(Issued issued, PeerRole role) throws SvidValidationException {
        return validator.validate(issued.chain(), role);
    }

    private SvidValidationException refuse(List<X509Certificate> chain, PeerRole role, Set<SpiffeId> expected) {
        SvidValidationException e = catchThrowableOfType(SvidValidationException.class,
                () -> validator.validate(chain, role, expected));
        assertThat(e).as("refused").isNotNull();
        assertThat(e.getMessage()).startsWith(e.reason().name() + ": ");
        return e;
    }

    private Reason refusal(Issued issued, PeerRole role) {
        return refuse(issued.chain(), role, Set.of()).reason();
    }

    @Test
    void acceptsValidSvidsForBothRoles() throws Exception {
        Issued ok = root.leaf(ID).issue();
        assertThat(accept(ok, PeerRole.SERVER)).isEqualTo(SpiffeIds.parse(ID));
        assertThat(accept(ok, PeerRole.CLIENT)).isEqualTo(SpiffeIds.parse(ID));
        assertThat(validator.validate(ok.chain(), PeerRole.SERVER, Set.of(SpiffeIds.parse(ID))))
                .isEqualTo(SpiffeIds.parse(ID));
    }

    @ParameterizedTest
    @ValueSource(strings = {"EC:secp256r1", "EC:secp384r1", "RSA:2048", "RSA:3072"})
    void acceptsSupportedKeys(String key) throws Exception {
        assertThat(accept(root.leaf(ID).key(key).issue(), PeerRole.SERVER)).isEqualTo(SpiffeIds.parse(ID));
    }

    @Test
    void acceptsIntermediatesAndARootSentAlong() throws Exception {
        Authority inter = root.intermediate().intermediate();
        Issued ok = inter.leaf(ID).issue();
        assertThat(ok.chain()).hasSize(3);
        assertThat(accept(ok, PeerRole.CLIENT)).isEqualTo(SpiffeIds.parse(ID));
        assertThat(validator.validate(ok.withRoot(root.certificate()), PeerRole.CLIENT)).isEqualTo(SpiffeIds.parse(ID));
    }

    @Test
    void acceptsFederatedTrustDomain() throws Exception {
        assertThat(accept(federated.leaf("spiffe://other.org/w").issue(), PeerRole.CLIENT).getTrustDomain().getName())
                .isEqualTo("other.org");
    }

    @Test
    void refusesNoCertificate() {
        assertThat(refuse(null, PeerRole.CLIENT, Set.of()).reason()).isEqualTo(Reason.NO_CERTIFICATE);
        assertThat(refuse(List.of(), PeerRole.CLIENT, Set.of()).reason()).isEqualTo(Reason.NO_CERTIFICATE);
    }

    @Test
    void refusesNoUriSan() {
        assertThat(refusal(root.leaf(ID).uriSans().issue(), PeerRole.SERVER)).isEqualTo(Reason.NO_URI_SAN);
        assertThat(refusal(root.leaf(ID).uriSans().dnsSans("example.org").issue(), PeerRole.SERVER))
                .isEqualTo(Reason.NO_URI_SAN);
    }

    @Test
    void refusesMoreThanOneUriSan() {
        assertThat(refusal(root.leaf(ID).uriSans(ID, "spiffe://example.org/other").issue(), PeerRole.SERVER))
                .isEqualTo(Reason.MULTIPLE_URI_SANS);
        assertThat(refusal(root.leaf(ID).uriSans(ID, "https://example.org/").issue(), PeerRole.SERVER))
                .isEqualTo(Reason.MULTIPLE_URI_SANS);
    }

    @ParameterizedTest
    @ValueSource(strings = {"https://example.org/ns/a/sa/b", "urn:example:x", "spiffe-x://example.org/a"})
    void refusesNonSpiffeUri(String uri) {
        assertThat(refusal(root.leaf(uri).issue(), PeerRole.SERVER)).isEqualTo(Reason.NOT_SPIFFE_URI);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "spiffe://example.org|MISSING_PATH",
        "spiffe://example.org/|TRAILING_SLASH",
        "spiffe://example.org/ns/a$b|BAD_PATH_CHAR",
        "spiffe://Example.org/ns/a|BAD_TRUST_DOMAIN_CHAR",
        "spiffe://example.org/ns/../sa|DOT_SEGMENT",
        "spiffe://example.org/ns/./sa|DOT_SEGMENT",
        "spiffe://example.org/ns/%61|PERCENT_ENCODING",
        "spiffe://example.org:443/ns/a|PORT",
        "spiffe://admin@example.org/ns/a|USERINFO",
        "spiffe://example.org/ns/a?x=y|QUERY",
        "spiffe://example.org/ns/a#f|FRAGMENT",
        "SPIFFE://example.org/ns/a|WRONG_SCHEME",
    })
    void refusesInvalidSpiffeIds(String uri, InvalidSpiffeIdException.Rule rule) {
        SvidValidationException e = refuse(root.leaf(uri).issue().chain(), PeerRole.SERVER, Set.of());
        assertThat(e.reason()).isEqualTo(Reason.INVALID_SPIFFE_ID);
        assertThat(e.getCause()).isInstanceOfSatisfying(InvalidSpiffeIdException.class,
                c -> assertThat(c.rule()).isEqualTo(rule));
    }

    @Test
    void refusesCaLeaf() {
        assertThat(refusal(root.leaf(ID).ca(true).issue(), PeerRole.SERVER)).isEqualTo(Reason.LEAF_IS_CA);
    }

    @Test
    void refusesKeyCertSignAndCrlSign() {
        assertThat(refusal(root.leaf(ID).keyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign).issue(),
                PeerRole.SERVER)).isEqualTo(Reason.LEAF_KEY_CERT_SIGN);
        assertThat(refusal(root.leaf(ID).keyUsage(KeyUsage.digitalSignature | KeyUsage.cRLSign).issue(),
                PeerRole.SERVER)).isEqualTo(Reason.LEAF_CRL_SIGN);
    }

    @Test
    void refusesLeafWithoutDigitalSignature() {
        assertThat(refusal(root.leaf(ID).keyUsage(KeyUsage.keyEncipherment).issue(), PeerRole.SERVER))
                .isEqualTo(Reason.NO_DIGITAL_SIGNATURE);
        assertThat(refusal(root.leaf(ID).keyUsage(null).issue(), PeerRole.SERVER))
                .isEqualTo(Reason.NO_DIGITAL_SIGNATURE);
    }

    @Test
    void refusesWrongEku() throws Exception {
        assertThat(refusal(root.leaf(ID).clientOnly().issue(), PeerRole.SERVER)).isEqualTo(Reason.WRONG_EKU);
        assertThat(refusal(root.leaf(ID).serverOnly().issue(), PeerRole.CLIENT)).isEqualTo(Reason.WRONG_EKU);
        assertThat(refusal(root.leaf(ID).eku().issue(), PeerRole.CLIENT)).isEqualTo(Reason.WRONG_EKU);
        // The right single EKU is enough.
        assertThat(accept(root.leaf(ID).serverOnly().issue(), PeerRole.SERVER)).isNotNull();
        assertThat(accept(root.leaf(ID).clientOnly().issue(), PeerRole.CLIENT)).isNotNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"RSA:1024", "RSA:2040", "EC:secp521r1"})
    void refusesUnsupportedKeys(String key) {
        assertThat(refusal(root.leaf(ID).key(key).issue(), PeerRole.SERVER)).isEqualTo(Reason.UNSUPPORTED_KEY);
    }

    @Test
    void refusesExpiredAndNotYetValid() {
        Instant now = Instant.now();
        assertThat(refusal(root.leaf(ID).validity(now.minus(Duration.ofHours(2)), now.minus(Duration.ofHours(1)))
                .issue(), PeerRole.SERVER)).isEqualTo(Reason.EXPIRED);
        assertThat(refusal(root.leaf(ID).validity(now.plus(Duration.ofHours(1)), now.plus(Duration.ofHours(2)))
                .issue(), PeerRole.SERVER)).isEqualTo(Reason.NOT_YET_VALID);
    }

    @Test
    void refusesExpiredIntermediate() {
        Instant now = Instant.now();
        Authority oldRoot = TestCertificates.root("example.org", now.minus(Duration.ofDays(10)),
                now.minus(Duration.ofDays(1)));
        Authority inter = oldRoot.intermediate();
        SvidValidator v = new SvidValidator(TrustBundles.of(oldRoot.bundle()));
        SvidValidationException e = catchThrowableOfType(SvidValidationException.class,
                () -> v.validate(inter.leaf(ID).issue().chain(), PeerRole.SERVER));
        assertThat(e.reason()).isEqualTo(Reason.EXPIRED);
    }

    @Test
    void refusesChainToAnotherRoot() {
        // Claims example.org but is signed by a root nobody trusts.
        assertThat(refusal(foreign.leaf(ID).issue(), PeerRole.SERVER)).isEqualTo(Reason.UNTRUSTED_CHAIN);
        // A trust domain with no bundle at all.
        assertThat(refusal(evil.leaf("spiffe://evil.org/ns/a/sa/b").issue(), PeerRole.SERVER))
                .isEqualTo(Reason.UNTRUSTED_CHAIN);
    }

    @Test
    void refusesTrustDomainDifferentFromTheBundleItChainsTo() {
        // Signed by other.org's (trusted) root, but claims an example.org identity.
        SvidValidationException e = refuse(federated.leaf(ID).issue().chain(), PeerRole.CLIENT, Set.of());
        assertThat(e.reason()).isEqualTo(Reason.TRUST_DOMAIN_MISMATCH);
        assertThat(e.spiffeId()).contains(SpiffeIds.parse(ID));
        // And the other way round: claims other.org, signed by example.org.
        assertThat(refusal(root.leaf("spiffe://other.org/w").issue(), PeerRole.CLIENT))
                .isEqualTo(Reason.TRUST_DOMAIN_MISMATCH);
    }

    @Test
    void refusesABadSignatureUnderATrustedName() {
        // Same issuer name as the trusted root, different key: only the signature check can tell.
        Issued forged = root.impostor().leaf(ID).issue();
        assertThat(forged.leaf().getIssuerX500Principal()).isEqualTo(root.certificate().getSubjectX500Principal());
        SvidValidationException e = refuse(forged.chain(), PeerRole.SERVER, Set.of());
        assertThat(e.reason()).isEqualTo(Reason.UNTRUSTED_CHAIN);
        assertThat(e.getCause()).isNotNull();
        // A forged intermediate under the trusted name fails too.
        Issued viaForgedIntermediate = root.impostor().intermediate().leaf(ID).issue();
        assertThat(refuse(viaForgedIntermediate.chain(), PeerRole.SERVER, Set.of()).reason())
                .isEqualTo(Reason.UNTRUSTED_CHAIN);
    }

    @Test
    void refusesServerIdentityNotExpected() {
        Issued other = root.leaf("spiffe://example.org/ns/default/sa/other").issue();
        SvidValidationException e = refuse(other.chain(), PeerRole.SERVER,
                Set.of(SpiffeIds.parse(ID), SpiffeIds.parse("spiffe://example.org/ns/x/sa/y")));
        assertThat(e.reason()).isEqualTo(Reason.UNEXPECTED_IDENTITY);
    }

    @Test
    void bundleSwapAppliesToTheNextValidation() throws Exception {
        TrustBundles bundles = TrustBundles.of(root.bundle());
        SvidValidator v = new SvidValidator(bundles);
        Issued fromForeign = foreign.leaf(ID).issue();
        assertThat(catchThrowableOfType(SvidValidationException.class,
                () -> v.validate(fromForeign.chain(), PeerRole.SERVER)).reason()).isEqualTo(Reason.UNTRUSTED_CHAIN);
        bundles.replace(foreign.bundle());
        assertThat(v.validate(fromForeign.chain(), PeerRole.SERVER)).isEqualTo(SpiffeIds.parse(ID));
        assertThat(catchThrowableOfType(SvidValidationException.class,
                () -> v.validate(root.leaf(ID).issue().chain(), PeerRole.SERVER)).reason())
                .isEqualTo(Reason.UNTRUSTED_CHAIN);
    }

    @Test
    void aVerifiedChainIsTrustedAgainOnlyAgainstTheSameAnchors() throws Exception {
        TrustBundles bundles = TrustBundles.of(root.bundle());
        SvidValidator v = new SvidValidator(bundles);
        Issued ok = root.leaf(ID).issue();
        assertThat(v.validate(ok.chain(), PeerRole.SERVER)).isEqualTo(SpiffeIds.parse(ID));
        assertThat(v.validate(ok.chain(), PeerRole.SERVER)).as("remembered").isEqualTo(SpiffeIds.parse(ID));
        // The root is no longer trusted: the remembered verification does not outlive its anchors.
        bundles.replace(foreign.bundle());
        assertThat(catchThrowableOfType(SvidValidationException.class,
                () -> v.validate(ok.chain(), PeerRole.SERVER)).reason()).isEqualTo(Reason.UNTRUSTED_CHAIN);
        // Trusted again (new anchor objects): verified afresh, accepted.
        bundles.replace(root.bundle());
        assertThat(v.validate(ok.chain(), PeerRole.SERVER)).isEqualTo(SpiffeIds.parse(ID));
    }

    @Test
    void aRememberedChainIsStillCheckedForDatesRoleAndIdentity() throws Exception {
        Instant now = Instant.now();
        Issued shortLived = root.leaf(ID).validity(now.minus(Duration.ofMinutes(1)), now.plus(Duration.ofMinutes(1)))
                .issue();
        SvidValidator today = new SvidValidator(TrustBundles.of(root.bundle()), java.time.Clock.fixed(now,
                java.time.ZoneOffset.UTC));
        assertThat(today.validate(shortLived.chain(), PeerRole.SERVER)).isEqualTo(SpiffeIds.parse(ID));
        assertThat(catchThrowableOfType(SvidValidationException.class, () -> today.validate(shortLived.chain(),
                PeerRole.SERVER, Set.of(SpiffeIds.parse("spiffe://example.org/ns/x/sa/y")))).reason())
                .isEqualTo(Reason.UNEXPECTED_IDENTITY);
        SvidValidator later = new SvidValidator(TrustBundles.of(root.bundle()), java.time.Clock.offset(
                java.time.Clock.fixed(now, java.time.ZoneOffset.UTC), Duration.ofMinutes(5)));
        assertThat(later.validate(root.leaf(ID).issue().chain(), PeerRole.SERVER)).isNotNull();
        assertThat(catchThrowableOfType(SvidValidationException.class,
                () -> later.validate(shortLived.chain(), PeerRole.SERVER)).reason()).isEqualTo(Reason.EXPIRED);
    }

    @Test
    void aForgedChainIsNeverTakenForARememberedOne() throws Exception {
        Issued ok = root.leaf(ID).issue();
        assertThat(validator.validate(ok.chain(), PeerRole.SERVER)).isEqualTo(SpiffeIds.parse(ID));
        Issued forged = root.impostor().leaf(ID).issue();
        assertThat(refuse(forged.chain(), PeerRole.SERVER, Set.of()).reason()).isEqualTo(Reason.UNTRUSTED_CHAIN);
        assertThat(refuse(forged.chain(), PeerRole.SERVER, Set.of()).reason()).isEqualTo(Reason.UNTRUSTED_CHAIN);
    }

    @Test
    void countsRefusalsPerReason() {
        long before = validator.refusals(Reason.LEAF_IS_CA);
        refusal(root.leaf(ID).ca(true).issue(), PeerRole.SERVER);
        refusal(root.leaf(ID).ca(true).issue(), PeerRole.CLIENT);
        assertThat(validator.refusals(Reason.LEAF_IS_CA)).isEqualTo(before + 2);
        assertThat(validator.refusals(Reason.EXPIRED)).isZero();
    }

    @Test
    void spiffeIdOfReadsTheSan() throws Exception {
        assertThat(SvidValidator.spiffeIdOf(root.leaf(ID).issue().leaf())).isEqualTo(SpiffeIds.parse(ID));
    }
}
