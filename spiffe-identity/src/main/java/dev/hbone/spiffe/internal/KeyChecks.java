package dev.hbone.spiffe.internal;

import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;

/** Which keys SVIDs may carry: RSA of at least 2048 bits, ECDSA on P-256 or P-384. Not public API. */
public final class KeyChecks {
    private static final int MIN_RSA_BITS = 2048;
    private static final ECParameterSpec P256 = curve("secp256r1");
    private static final ECParameterSpec P384 = curve("secp384r1");

    private KeyChecks() {
    }

    /** Returns null if the key is supported, else a description of why not. */
    public static String unsupportedReason(PublicKey key) {
        if (key instanceof RSAPublicKey) {
            int bits = ((RSAPublicKey) key).getModulus().bitLength();
            return bits < MIN_RSA_BITS ? "RSA key of " + bits + " bits (at least 2048 are required)" : null;
        }
        if (key instanceof ECPublicKey) {
            ECParameterSpec params = ((ECPublicKey) key).getParams();
            if (sameCurve(params, P256) || sameCurve(params, P384)) {
                return null;
            }
            return "EC key on an unsupported curve (" + params + "); P-256 and P-384 are supported";
        }
        return "unsupported key algorithm " + key.getAlgorithm();
    }

    /** Generates an ECDSA P-256 key pair, the kind of key this module's own SVIDs carry. */
    public static KeyPair generateP256() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ECDSA P-256 is not available", e);
        }
    }

    private static boolean sameCurve(ECParameterSpec a, ECParameterSpec b) {
        return a.getCofactor() == b.getCofactor() && a.getOrder().equals(b.getOrder())
                && a.getCurve().equals(b.getCurve()) && a.getGenerator().equals(b.getGenerator());
    }

    private static ECParameterSpec curve(String name) {
        try {
            AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
            p.init(new ECGenParameterSpec(name));
            return p.getParameterSpec(ECParameterSpec.class);
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
