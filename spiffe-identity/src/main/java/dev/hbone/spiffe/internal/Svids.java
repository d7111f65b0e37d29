package dev.hbone.spiffe.internal;

import io.spiffe.exception.X509SvidException;
import io.spiffe.svid.x509svid.X509Svid;
import java.io.ByteArrayOutputStream;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.List;

/** Builds java-spiffe {@link X509Svid}s from in-memory material. Not public API. */
public final class Svids {
    private Svids() {
    }

    /**
     * Creates an X509Svid from a chain (leaf first) and its private key. java-spiffe checks the leaf's SVID shape and
     * that the key matches the leaf.
     */
    public static X509Svid of(List<X509Certificate> chain, PrivateKey key) throws X509SvidException {
        if (chain.isEmpty()) {
            throw new X509SvidException("empty certificate chain");
        }
        ByteArrayOutputStream der = new ByteArrayOutputStream();
        try {
            for (X509Certificate c : chain) {
                der.writeBytes(c.getEncoded());
            }
        } catch (CertificateEncodingException e) {
            throw new X509SvidException("cannot encode certificate", e);
        }
        return X509Svid.parseRaw(der.toByteArray(), key.getEncoded());
    }
}
