package dev.hbone.spiffe.bundle;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.Set;

/**
 * The SPIFFE bundle format (SPIFFE Trust Domain and Bundle specification, section 4): a JWK Set whose keys with
 * {@code "use": "x509-svid"} each carry one X.509 authority in {@code x5c}. Keys with other uses (e.g. {@code jwt-svid})
 * are ignored; an {@code x509-svid} key without exactly one {@code x5c} certificate, or with a {@code kty} that does not
 * match its certificate, makes the whole document invalid.
 */
public final class SpiffeBundleFormat {
    private static final String X509_SVID_USE = "x509-svid";
    /** Strict JSON: a duplicate member or anything after the document is an error, as RFC 8259 readers should. */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

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
        JsonNode document;
        try {
            document = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("SPIFFE bundle: not JSON: " + e.getOriginalMessage()
                    + locationOf(e), e);
        }
        if (document == null || !document.isObject()) {
            throw new IllegalArgumentException("SPIFFE bundle: top level must be a JSON object");
        }
        JsonNode keys = document.get("keys");
        if (keys == null || !keys.isArray()) {
            throw new IllegalArgumentException("SPIFFE bundle: \"keys\" must be an array");
        }
        checkOptionalNumber(document, "spiffe_sequence");
        checkOptionalNumber(document, "spiffe_refresh_hint");
        Set<X509Certificate> authorities = new LinkedHashSet<>();
        int index = 0;
        for (JsonNode key : keys) {
            if (!key.isObject()) {
                throw new IllegalArgumentException("SPIFFE bundle: keys[" + index + "] is not an object");
            }
            JsonNode use = key.get("use");
            if (use != null && use.isTextual() && X509_SVID_USE.equals(use.textValue())) {
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
        ObjectNode document = JSON.createObjectNode().put("spiffe_sequence", sequence);
        ArrayNode keys = document.putArray("keys");
        for (X509Certificate c : bundle.getX509Authorities()) {
            try {
                ObjectNode key = keys.addObject().put("use", X509_SVID_USE).put("kty", keyType(c.getPublicKey()));
                key.putArray("x5c").add(Base64.getEncoder().encodeToString(c.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IllegalArgumentException("cannot encode authority " + c.getSubjectX500Principal(), e);
            }
        }
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(document) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a JSON tree", e); // a tree of strings and numbers: never
        }
    }

    private static X509Certificate authority(JsonNode key, int index) {
        JsonNode x5c = key.get("x5c");
        if (x5c == null || !x5c.isArray() || x5c.size() != 1 || !x5c.get(0).isTextual()) {
            throw new IllegalArgumentException(
                    "SPIFFE bundle: keys[" + index + "] (x509-svid) must have exactly one x5c certificate");
        }
        X509Certificate certificate;
        try {
            certificate = Pem.certificate(Base64.getDecoder().decode(x5c.get(0).textValue()));
        } catch (IllegalArgumentException | CertificateException e) {
            throw new IllegalArgumentException("SPIFFE bundle: keys[" + index + "] x5c is not a certificate", e);
        }
        JsonNode kty = key.get("kty");
        if (kty != null && !kty.isNull() && !keyType(certificate.getPublicKey()).equals(kty.asText())) {
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

    private static void checkOptionalNumber(JsonNode document, String name) {
        JsonNode value = document.get(name);
        if (value != null && !value.isNull() && !value.isNumber()) {
            throw new IllegalArgumentException("SPIFFE bundle: \"" + name + "\" must be a number");
        }
    }

    private static String locationOf(JsonProcessingException e) {
        return e.getLocation() == null ? ""
                : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
    }
}
