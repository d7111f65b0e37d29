package dev.hbone.spiffe.internal;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;

/** PEM encoding and decoding of certificates and private keys. Not public API. */
public final class Pem {
    private Pem() {
    }

    /** Parses every certificate in a PEM (or DER) blob, in order. */
    public static List<X509Certificate> certificates(byte[] pem) throws CertificateException {
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        Collection<? extends java.security.cert.Certificate> parsed =
                factory.generateCertificates(new ByteArrayInputStream(pem));
        List<X509Certificate> result = new ArrayList<>(parsed.size());
        for (java.security.cert.Certificate c : parsed) {
            result.add((X509Certificate) c);
        }
        return result;
    }

    /** Parses one DER certificate. */
    public static X509Certificate certificate(byte[] der) throws CertificateException {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(der));
    }

    /** Parses the first private key (PKCS#8, SEC1 EC or PKCS#1 RSA) in a PEM blob. */
    public static PrivateKey privateKey(byte[] pem) throws IOException {
        try (PEMParser parser = new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
            Object o;
            while ((o = parser.readObject()) != null) {
                if (o instanceof PrivateKeyInfo) {
                    return converter.getPrivateKey((PrivateKeyInfo) o);
                }
                if (o instanceof PEMKeyPair) {
                    return converter.getKeyPair((PEMKeyPair) o).getPrivate();
                }
            }
        }
        throw new IOException("no private key in PEM input");
    }

    /** Encodes certificates as concatenated PEM blocks. */
    public static String encodeCertificates(List<X509Certificate> certificates) throws CertificateException {
        StringBuilder sb = new StringBuilder();
        for (X509Certificate c : certificates) {
            block(sb, "CERTIFICATE", c.getEncoded());
        }
        return sb.toString();
    }

    /** Encodes a private key as a PKCS#8 PEM block. */
    public static String encodePrivateKey(PrivateKey key) {
        StringBuilder sb = new StringBuilder();
        block(sb, "PRIVATE KEY", key.getEncoded());
        return sb.toString();
    }

    private static void block(StringBuilder sb, String type, byte[] der) {
        sb.append("-----BEGIN ").append(type).append("-----\n");
        sb.append(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der));
        sb.append("\n-----END ").append(type).append("-----\n");
    }
}
