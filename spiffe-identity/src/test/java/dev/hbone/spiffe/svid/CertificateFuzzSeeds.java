package dev.hbone.spiffe.svid;

import dev.hbone.spiffe.bundle.SpiffeBundleFormat;
import dev.hbone.spiffe.internal.Pem;
import dev.hbone.spiffe.testing.TestCertificates;
import io.spiffe.bundle.x509bundle.X509Bundle;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Writes the fixed root and the seed inputs of {@link CertificateInputFuzzTest} (run once, output committed):
 * {@code ./mvnw -B -o -pl spiffe-identity -am test -Dtest=CertificateFuzzSeeds -Dfuzz.writeSeeds=true
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@EnabledIfSystemProperty(named = "fuzz.writeSeeds", matches = "true")
class CertificateFuzzSeeds {
    @Test
    void write() throws Exception {
        Path resources = Path.of("src/test/resources/dev/hbone/spiffe/svid");
        Path inputs = resources.resolve("CertificateInputFuzzTestInputs");
        Instant from = Instant.parse("2026-01-01T00:00:00Z");
        Instant to = Instant.parse("2036-01-01T00:00:00Z");
        TestCertificates.Authority root = TestCertificates.root("cluster.local", from, to);
        TestCertificates.Authority intermediate = root.intermediate();
        Files.createDirectories(resources);
        Files.writeString(resources.resolve("fuzz-root.pem"), Pem.encodeCertificates(List.of(root.certificate())));

        TestCertificates.Issued server = root.leaf("spiffe://cluster.local/ns/default/sa/server").validity(from, to).issue();
        TestCertificates.Issued viaIntermediate =
                intermediate.leaf("spiffe://cluster.local/ns/default/sa/server").validity(from, to).issue();
        TestCertificates.Issued rsa = root.leaf("spiffe://cluster.local/ns/a/sa/b").key("RSA:2048").validity(from, to)
                                          .clientOnly().issue();
        TestCertificates.Issued twoSans = root.leaf("spiffe://cluster.local/ns/a/sa/b").uriSans(
                "spiffe://cluster.local/ns/a/sa/b", "https://example.org/x").dnsSans("x.example.org")
                .validity(from, to).eku(KeyPurposeId.id_kp_clientAuth).issue();

        Path chain = Files.createDirectories(inputs.resolve("peerChain"));
        Files.write(chain.resolve("leaf.der"), der(server.chain()));
        Files.write(chain.resolve("leaf-intermediate.der"), der(viaIntermediate.chain()));
        Files.write(chain.resolve("rsa-client.der"), der(rsa.chain()));
        Files.write(chain.resolve("two-uri-sans.der"), der(twoSans.chain()));
        Files.writeString(chain.resolve("leaf-intermediate.pem"), Pem.encodeCertificates(viaIntermediate.chain()));

        Path pem = Files.createDirectories(inputs.resolve("trustBundlePem"));
        Files.writeString(pem.resolve("root.pem"), Pem.encodeCertificates(List.of(root.certificate())));
        Files.writeString(pem.resolve("two-roots.pem"),
                          Pem.encodeCertificates(List.of(root.certificate(), intermediate.certificate())));

        Path json = Files.createDirectories(inputs.resolve("spiffeBundleJson"));
        Files.writeString(json.resolve("bundle.json"), SpiffeBundleFormat.toJson(
                new X509Bundle(root.trustDomain(), Set.of(root.certificate())), 7));
        Files.writeString(json.resolve("jwt-key-only.json"),
                          "{\"keys\":[{\"use\":\"jwt-svid\",\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}],"
                          + "\"spiffe_refresh_hint\":60}", StandardCharsets.UTF_8);

        Path key = Files.createDirectories(inputs.resolve("privateKeyPem"));
        Files.writeString(key.resolve("ec-pkcs8.pem"), Pem.encodePrivateKey(server.privateKey()));
        Files.writeString(key.resolve("rsa-pkcs8.pem"), Pem.encodePrivateKey(rsa.privateKey()));
    }

    private static byte[] der(List<X509Certificate> chain) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (X509Certificate c : chain) {
            out.write(c.getEncoded());
        }
        return out.toByteArray();
    }
}
