package dev.hbone.ztunnel.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.svid.PeerRole;
import dev.hbone.spiffe.svid.SvidValidationException;
import dev.hbone.spiffe.svid.SvidValidator;
import dev.hbone.ztunnel.cli.StaticSvidFiles;
import dev.hbone.ztunnel.cli.TrustBundleFile;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class ProxyCertificatesTest {
    private static final TrustDomain TD = TrustDomain.parse("cluster.local");
    private static final SpiffeId APP = SpiffeIds.kubernetes("cluster.local", "default", "app");
    private static final SpiffeId DB = SpiffeIds.kubernetes("cluster.local", "data", "db");

    @TempDir
    Path dir;

    private static X509Svid await(ProxyCertificates certs, SpiffeId id) throws Exception {
        return certs.store().fetch(id).get(10, TimeUnit.SECONDS);
    }

    @Test
    void embeddedCaWritesItsRootAndAPeerValidatesIssuedSvidsAgainstIt() throws Exception {
        Path root = dir.resolve("out/root-cert.pem");
        try (ProxyCertificates certs = ProxyCertificates.embedded(TD, Duration.ofHours(1), Optional.of(root),
                List.of())) {
            assertThat(Files.readString(root)).startsWith("-----BEGIN CERTIFICATE-----\n")
                    .endsWith("-----END CERTIFICATE-----\n");
            certs.actFor(Set.of(APP));
            X509Svid svid = await(certs, APP);
            // The peer knows nothing but the root file.
            SvidValidator peer = new SvidValidator(TrustBundles.fromPem(TD, root));
            assertThat(peer.validate(svid.getChain(), PeerRole.SERVER)).isEqualTo(APP);
            assertThat(certs.authority()).isPresent();
        }
    }

    @Test
    void twoProxiesSharingOnePemCaValidateEachOther() throws Exception {
        Path caDir = dir.resolve("cacerts");
        CertificateAuthority.builder(TD).build().save(caDir);
        try (ProxyCertificates a = ProxyCertificates.fromCaDirectory(TD, caDir, Duration.ofHours(1), List.of());
                ProxyCertificates b = ProxyCertificates.fromCaDirectory(TD, caDir, Duration.ofHours(1), List.of())) {
            a.actFor(Set.of(APP));
            b.actFor(Set.of(DB));
            X509Svid fromA = await(a, APP);
            X509Svid fromB = await(b, DB);
            assertThat(new SvidValidator(b.trustBundles()).validate(fromA.getChain(), PeerRole.CLIENT)).isEqualTo(APP);
            assertThat(new SvidValidator(a.trustBundles()).validate(fromB.getChain(), PeerRole.SERVER)).isEqualTo(DB);
        }
    }

    @Test
    void separateEmbeddedCasDoNotTrustEachOther() throws Exception {
        try (ProxyCertificates a = ProxyCertificates.embedded(TD, Duration.ofHours(1), Optional.empty(), List.of());
                ProxyCertificates b = ProxyCertificates.embedded(TD, Duration.ofHours(1), Optional.empty(),
                        List.of())) {
            a.actFor(Set.of(APP));
            X509Svid svid = await(a, APP);
            assertThatThrownBy(() -> new SvidValidator(b.trustBundles()).validate(svid.getChain(), PeerRole.SERVER))
                    .isInstanceOf(SvidValidationException.class)
                    .satisfies(e -> assertThat(((SvidValidationException) e).reason())
                            .isEqualTo(SvidValidationException.Reason.UNTRUSTED_CHAIN));
        }
    }

    @Test
    void missingCaFilesAreNamed() {
        assertThatThrownBy(() -> ProxyCertificates.fromCaDirectory(TD, dir.resolve("nope"), Duration.ofHours(1),
                List.of())).hasMessageStartingWith("--ca-dir " + dir.resolve("nope") + ": ");
    }

    @Test
    void staticFilesServeTheGivenSvid() throws Exception {
        CertificateAuthority ca = CertificateAuthority.builder(TD).build();
        X509Svid issued = ca.issue(APP, Duration.ofHours(1));
        Path cert = dir.resolve("app.pem");
        Path key = dir.resolve("app-key.pem");
        Path root = dir.resolve("root.pem");
        Files.writeString(cert, pem("CERTIFICATE", issued.getChainArray()), StandardCharsets.US_ASCII);
        Files.writeString(key, pem("PRIVATE KEY", issued.getPrivateKey().getEncoded()), StandardCharsets.US_ASCII);
        ProxyCertificates.writeRoot(ca.rootCertificate(), root);
        try (ProxyCertificates certs = ProxyCertificates.staticFiles(
                List.of(new StaticSvidFiles(APP, cert, key)), List.of(new TrustBundleFile(TD, root)))) {
            certs.actFor(Set.of(APP));
            X509Svid svid = await(certs, APP);
            assertThat(svid.getLeaf()).isEqualTo(issued.getLeaf());
            assertThat(certs.authority()).isEmpty();
            assertThat(new SvidValidator(certs.trustBundles()).validate(svid.getChain(), PeerRole.SERVER))
                    .isEqualTo(APP);
        }
    }

    @Test
    void pendingAndSummariesFollowTheIdentitiesActedFor() throws Exception {
        try (ProxyCertificates certs = ProxyCertificates.embedded(TD, Duration.ofHours(1), Optional.empty(),
                List.of())) {
            assertThat(certs.pending()).isEmpty();
            certs.actFor(Set.of(APP, DB));
            await(certs, APP);
            await(certs, DB);
            assertThat(certs.pending()).isEmpty();
            assertThat(certs.certificates()).extracting(CertificateSummary::identity)
                    .containsExactly(DB.toString(), APP.toString());
            CertificateSummary s = certs.certificates().get(1);
            assertThat(s.serialNumber()).isEqualTo(certs.current(APP).orElseThrow().getLeaf().getSerialNumber()
                    .toString(16));
            assertThat(s.notAfter()).isAfter(s.notBefore());
            certs.actFor(Set.of(DB));
            assertThat(certs.certificates()).extracting(CertificateSummary::identity).containsExactly(DB.toString());
        }
    }

    @Test
    void extraBundleFileIsNamedWhenUnreadable() {
        assertThatThrownBy(() -> ProxyCertificates.embedded(TD, Duration.ofHours(1), Optional.empty(),
                List.of(new TrustBundleFile(TrustDomain.parse("other.org"), dir.resolve("missing.pem")))))
                .hasMessageStartingWith("--trust-bundle other.org=" + dir.resolve("missing.pem") + ": ");
    }

    private static String pem(String type, X509Certificate[] chain) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (X509Certificate c : chain) {
            sb.append(pem(type, c.getEncoded()));
        }
        return sb.toString();
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
