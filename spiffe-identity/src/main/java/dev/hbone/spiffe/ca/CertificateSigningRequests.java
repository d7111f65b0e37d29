package dev.hbone.spiffe.ca;

import static java.util.Objects.requireNonNull;

import dev.hbone.spiffe.internal.KeyChecks;
import io.spiffe.spiffeid.SpiffeId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.KeyPair;
import java.util.Base64;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/** Builds PKCS#10 certificate signing requests for SPIFFE IDs, the way a workload asks a CA for an X.509-SVID. */
public final class CertificateSigningRequests {
    private CertificateSigningRequests() {
    }

    /** Generates an ECDSA P-256 key pair, the key type of SVIDs this module issues. */
    public static KeyPair generateKeyPair() {
        return KeyChecks.generateP256();
    }

    /**
     * Creates a DER-encoded CSR carrying {@code id} as its only (critical) URI SAN, with an empty subject.
     *
     * @param id the identity to request
     * @param keyPair the key pair; the request is signed with its private key
     * @return the DER encoding
     */
    public static byte[] create(SpiffeId id, KeyPair keyPair) {
        requireNonNull(id, "id");
        requireNonNull(keyPair, "keyPair");
        try {
            ExtensionsGenerator extensions = new ExtensionsGenerator();
            extensions.addExtension(Extension.subjectAlternativeName, true,
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString())));
            ContentSigner signer = new JcaContentSignerBuilder(signatureAlgorithm(keyPair))
                    .build(keyPair.getPrivate());
            return new JcaPKCS10CertificationRequestBuilder(new X500Name(new RDN[0]), keyPair.getPublic())
                    .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate())
                    .build(signer)
                    .getEncoded();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (OperatorCreationException e) {
            throw new IllegalArgumentException("cannot sign with key " + keyPair.getPrivate().getAlgorithm(), e);
        }
    }

    /**
     * Encodes a DER CSR as PEM ({@code CERTIFICATE REQUEST}).
     *
     * @param der the DER encoding
     * @return the PEM text
     */
    public static String toPem(byte[] der) {
        requireNonNull(der, "der");
        return "-----BEGIN CERTIFICATE REQUEST-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END CERTIFICATE REQUEST-----\n";
    }

    static String signatureAlgorithm(KeyPair keyPair) {
        return "EC".equals(keyPair.getPrivate().getAlgorithm()) ? "SHA256withECDSA" : "SHA256withRSA";
    }
}
