package dev.hbone.spiffe.bundle;

import static java.util.Objects.requireNonNull;

import dev.hbone.spiffe.internal.Json;
import dev.hbone.spiffe.internal.Pem;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.spiffeid.TrustDomain;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The SPIFFE bundle format (SPIFFE Trust Domain and Bundle specification, section 4): a JWK Set whose keys with
 * {@code "use": "x509-svid"} each carry one X.509 authority in {@code x5c}. Keys with other uses (e.g. {@code jwt-svid})
 * are ignored; an {@code x509-svid} key without exactly one {@code x5c} certificate, or with a {@code kty} that does not
 * match its certificate, makes the whole document invalid.
 */
public final class SpiffeBundleFormat {
    private static final String X509_SVID_USE = "x509-svid";

    private SpiffeBundleFormat() {
    }

    /**
     * Parses the X.509 authorities of a SPIFFE bundle document.
     *
     * @param trustDomain the trust domain the document belongs to
     * @param json the document
     * @return the bundle (possibly with no authorities, if the document holds only JWT keys)
     * @throws IllegalArgumentException if the document is not a valid SPIFFE bundle
     */
    public static X509Bundle parse(TrustDomain trustDomain, String json) {
        requireNonNull(trustDomain, "trustDomain");
        requireNonNull(json, "json");
        Object root = Json.parse(json);
        if (!(root instanceof Map)) {
            throw new IllegalArgumentException("SPIFFE bundle: top level must be a JSON object");
        }
        Map<?, ?> document = (Map<?, ?>) root;
        Object keys = document.get("keys");
        if (!(keys instanceof List)) {
            throw new IllegalArgumentException("SPIFFE bundle: \"keys\" must be an array");
        }
        checkOptionalNumber(document, "spiffe_sequence");
        checkOptionalNumber(document, "spiffe_refresh_hint");
        Set<X509Certificate> authorities = new LinkedHashSet<>();
        int index = 0;
        for (Object k : (List<?>) keys) {
            if (!(k instanceof Map)) {
                throw new IllegalArgumentException("SPIFFE bundle: keys[" + index + "] is not an object");
            }
            Map<?, ?> key = (Map<?, ?>) k;
            if (X509_SVID_USE.equals(key.get("use"))) {
                authorities.add(authority(key, index));
            }
            index++;
        }
        return new X509Bundle(trustDomain, authorities);
    }

    /**
     * Writes a bundle's X.509 authorities as a SPIFFE bundle document.
     *
     * @param bundle the bundle
     * @param sequence the {@code spiffe_sequence} value to write
     * @return the JSON document
     */
    public static String toJson(X509Bundle bundle, long sequence) {
        requireNonNull(bundle, "bundle");
        StringBuilder sb = new StringBuilder("{\n  \"spiffe_sequence\": ").append(sequence).append(",\n  \"keys\": [");
        boolean first = true;
        for (X509Certificate c : bundle.getX509Authorities()) {
            sb.append(first ? "\n" : ",\n");
            first = false;
            try {
                sb.append("    {\"use\": \"x509-svid\", \"kty\": \"").append(keyType(c.getPublicKey()))
                        .append("\", \"x5c\": [\"").append(Base64.getEncoder().encodeToString(c.getEncoded()))
                        .append("\"]}");
            } catch (CertificateEncodingException e) {
                throw new IllegalArgumentException("cannot encode authority " + c.getSubjectX500Principal(), e);
            }
        }
        return sb.append("\n  ]\n}\n").toString();
    }

    private static X509Certificate authority(Map<?, ?> key, int index) {
        Object x5c = key.get("x5c");
        if (!(x5c instanceof List) || ((List<?>) x5c).size() != 1 || !(((List<?>) x5c).get(0) instanceof String)) {
            throw new IllegalArgumentException(
                    "SPIFFE bundle: keys[" + index + "] (x509-svid) must have exactly one x5c certificate");
        }
        X509Certificate certificate;
        try {
            certificate = Pem.certificate(Base64.getDecoder().decode((String) ((List<?>) x5c).get(0)));
        } catch (IllegalArgumentException | CertificateException e) {
            throw new IllegalArgumentException("SPIFFE bundle: keys[" + index + "] x5c is not a certificate", e);
        }
        Object kty = key.get("kty");
        if (kty != null && !kty.equals(keyType(certificate.getPublicKey()))) {
            throw new IllegalArgumentException("SPIFFE bundle: keys[" + index + "] kty " + kty
                    + " does not match the certificate's key");
        }
        return certificate;
    }

    private static String keyType(PublicKey key) {
        if (key instanceof ECPublicKey) {
            return "EC";
        }
        if (key instanceof RSAPublicKey) {
            return "RSA";
        }
        return key.getAlgorithm();
    }

    private static void checkOptionalNumber(Map<?, ?> document, String name) {
        Object value = document.get(name);
        if (value != null && !(value instanceof Number)) {
            throw new IllegalArgumentException("SPIFFE bundle: \"" + name + "\" must be a number");
        }
    }
}
