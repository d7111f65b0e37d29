package dev.hbone.spiffe.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hbone.spiffe.internal.Pem;
import dev.hbone.spiffe.testing.TestCertificates;
import dev.hbone.spiffe.testing.TestCertificates.Authority;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.exception.BundleNotFoundException;
import io.spiffe.spiffeid.TrustDomain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrustBundlesTest {
    private static final TrustDomain A = TrustDomain.parse("a.org");
    private static final TrustDomain B = TrustDomain.parse("b.org");
    private static final Authority rootA = TestCertificates.root("a.org");
    private static final Authority rootA2 = TestCertificates.root("a.org");
    private static final Authority rootB = TestCertificates.root("b.org");

    @Test
    void holdsSeveralTrustDomains() throws Exception {
        TrustBundles bundles = TrustBundles.of(rootA.bundle(), rootB.bundle());
        assertThat(bundles.trustDomains()).containsExactlyInAnyOrder(A, B);
        assertThat(bundles.bundleFor(A).orElseThrow().getX509Authorities()).containsExactly(rootA.certificate());
        assertThat(bundles.trustAnchors(B).orElseThrow()).hasSize(1);
        assertThat(bundles.bundleFor(TrustDomain.parse("c.org"))).isEmpty();
        assertThat(bundles.getBundleForTrustDomain(A).getTrustDomain()).isEqualTo(A);
        assertThatThrownBy(() -> bundles.getBundleForTrustDomain(TrustDomain.parse("c.org")))
                .isInstanceOf(BundleNotFoundException.class);
    }

    @Test
    void refusesTwoBundlesForOneDomain() {
        assertThatThrownBy(() -> TrustBundles.of(rootA.bundle(), rootA2.bundle()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void isNotAffectedByMutatingTheBundlesItWasGiven() {
        X509Bundle bundle = rootA.bundle();
        X509Bundle mutable = new X509Bundle(A, new java.util.HashSet<>(bundle.getX509Authorities()));
        TrustBundles bundles = TrustBundles.of(mutable);
        mutable.addX509Authority(rootA2.certificate());
        assertThat(bundles.bundleFor(A).orElseThrow().getX509Authorities()).containsExactly(rootA.certificate());
        bundles.bundleFor(A).orElseThrow().addX509Authority(rootA2.certificate());
        assertThat(bundles.trustAnchors(A).orElseThrow()).hasSize(1);
    }

    @Test
    void swapsAtRunTimeAndNotifies() {
        TrustBundles bundles = TrustBundles.of(rootA.bundle());
        List<Set<TrustDomain>> seen = new ArrayList<>();
        TrustBundles.Listener listener = b -> seen.add(Set.copyOf(b.trustDomains()));
        bundles.addListener(listener);
        long v0 = bundles.version();
        bundles.put(rootB.bundle());
        bundles.replace(rootA2.bundle());
        assertThat(bundles.remove(B)).isFalse();
        assertThat(bundles.remove(A)).isTrue();
        assertThat(seen).containsExactly(Set.of(A, B), Set.of(A), Set.of());
        assertThat(bundles.version()).isEqualTo(v0 + 3);
        bundles.removeListener(listener);
        bundles.put(rootA.bundle());
        assertThat(seen).hasSize(3);
    }

    @Test
    void aFailingListenerDoesNotStopOthers() {
        TrustBundles bundles = TrustBundles.of();
        List<String> calls = new ArrayList<>();
        bundles.addListener(b -> {
            throw new IllegalStateException("boom");
        });
        bundles.addListener(b -> calls.add("second"));
        bundles.put(rootA.bundle());
        assertThat(calls).containsExactly("second");
    }

    @Test
    void loadsPemFiles(@TempDir Path dir) throws Exception {
        Path pem = dir.resolve("roots.pem");
        Files.writeString(pem, Pem.encodeCertificates(List.of(rootA.certificate(), rootA2.certificate())));
        TrustBundles bundles = TrustBundles.fromPem(A, pem);
        assertThat(bundles.bundleFor(A).orElseThrow().getX509Authorities())
                .containsExactlyInAnyOrder(rootA.certificate(), rootA2.certificate());
        Path empty = dir.resolve("empty.pem");
        Files.writeString(empty, "");
        assertThatThrownBy(() -> TrustBundles.fromPem(A, empty)).isInstanceOf(java.io.IOException.class);
    }

    @Test
    void loadsSpiffeBundleDocuments(@TempDir Path dir) throws Exception {
        X509Bundle two = new X509Bundle(A, Set.of(rootA.certificate(), rootA2.certificate()));
        Path file = dir.resolve("bundle.json");
        Files.writeString(file, SpiffeBundleFormat.toJson(two, 7));
        TrustBundles bundles = TrustBundles.fromSpiffeBundle(A, file);
        assertThat(bundles.bundleFor(A).orElseThrow().getX509Authorities())
                .containsExactlyInAnyOrder(rootA.certificate(), rootA2.certificate());
    }

    @Test
    void spiffeBundleIgnoresJwtKeysAndReadsEscapes() throws Exception {
        String x5c = Base64.getEncoder().encodeToString(rootB.certificate().getEncoded());
        String json = "{\"keys\":[{\"use\":\"jwt-svid\",\"kty\":\"EC\",\"kid\":\"k\\u0031\",\"crv\":\"P-256\","
                + "\"x\":\"a\",\"y\":\"b\"},{\"use\":\"x509-svid\",\"kty\":\"EC\",\"x5c\":[\"" + x5c + "\"]}],"
                + "\"spiffe_refresh_hint\":300,\"spiffe_sequence\":12345678901}";
        X509Bundle bundle = SpiffeBundleFormat.parse(B, json);
        assertThat(bundle.getX509Authorities()).containsExactly(rootB.certificate());
    }

    @Test
    void spiffeBundleRefusesMalformedDocuments() throws Exception {
        String x5c = Base64.getEncoder().encodeToString(rootB.certificate().getEncoded());
        List<String> bad = List.of(
                "",
                "[]",
                "{\"keys\":{}}",
                "{\"nokeys\":[]}",
                "{\"keys\":[{\"use\":\"x509-svid\",\"x5c\":[]}]}",
                "{\"keys\":[{\"use\":\"x509-svid\",\"x5c\":[\"" + x5c + "\",\"" + x5c + "\"]}]}",
                "{\"keys\":[{\"use\":\"x509-svid\",\"x5c\":[\"bm90IGEgY2VydA==\"]}]}",
                "{\"keys\":[{\"use\":\"x509-svid\",\"kty\":\"RSA\",\"x5c\":[\"" + x5c + "\"]}]}",
                "{\"keys\":[],\"keys\":[]}",
                "{\"keys\":[]} trailing",
                "{\"keys\":[],\"spiffe_sequence\":\"1\"}",
                "{\"keys\":[1,]}");
        for (String json : bad) {
            assertThatThrownBy(() -> SpiffeBundleFormat.parse(B, json)).as(json)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        // The error says what is wrong and where.
        assertThatThrownBy(() -> SpiffeBundleFormat.parse(B, "{\"keys\":[],\n \"keys\":[]}"))
                .hasMessageContaining("Duplicate field 'keys'").hasMessageContaining("line 2");
        assertThatThrownBy(() -> SpiffeBundleFormat.parse(B, "{\"keys\":[1,]}"))
                .hasMessageStartingWith("SPIFFE bundle: not JSON").hasMessageContaining("column");
        assertThatThrownBy(() -> SpiffeBundleFormat.parse(B, "{\"keys\":[],\"spiffe_sequence\":\"1\"}"))
                .hasMessage("SPIFFE bundle: \"spiffe_sequence\" must be a number");
    }

    @Test
    void spiffeBundleDocumentsRoundTrip() throws Exception {
        X509Bundle two = new X509Bundle(A, Set.of(rootA.certificate(), rootA2.certificate()));
        String json = SpiffeBundleFormat.toJson(two, 42);
        assertThat(json).contains("\"spiffe_sequence\" : 42").contains("\"use\" : \"x509-svid\"").endsWith("}\n");
        assertThat(SpiffeBundleFormat.parse(A, json).getX509Authorities())
                .containsExactlyInAnyOrderElementsOf(two.getX509Authorities());
    }
}
