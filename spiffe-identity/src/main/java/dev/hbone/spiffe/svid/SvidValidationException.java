package dev.hbone.spiffe.svid;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import java.security.GeneralSecurityException;
import java.util.Optional;

/** An X.509-SVID refused by {@link SvidValidator}; {@link #reason()} says which rule it breaks. */
public final class SvidValidationException extends GeneralSecurityException {
    private static final long serialVersionUID = 1L;

    /** Why an X.509-SVID was refused. */
    public enum Reason {
        /** The peer presented no certificate. */
        NO_CERTIFICATE,
        /** A certificate could not be parsed or read. */
        MALFORMED_CERTIFICATE,
        /** The leaf has no URI subject alternative name. */
        NO_URI_SAN,
        /** The leaf has more than one URI subject alternative name. */
        MULTIPLE_URI_SANS,
        /** The leaf's URI SAN is not a {@code spiffe://} URI. */
        NOT_SPIFFE_URI,
        /** The leaf's URI SAN is a {@code spiffe://} URI that breaks the SPIFFE ID rules (cause says which). */
        INVALID_SPIFFE_ID,
        /** The leaf is a CA ({@code CA:TRUE}). */
        LEAF_IS_CA,
        /** The leaf has the {@code keyCertSign} key usage. */
        LEAF_KEY_CERT_SIGN,
        /** The leaf has the {@code cRLSign} key usage. */
        LEAF_CRL_SIGN,
        /** The leaf lacks the {@code digitalSignature} key usage (or the key usage extension). */
        NO_DIGITAL_SIGNATURE,
        /** The leaf lacks the extended key usage its role needs (serverAuth for servers, clientAuth for clients). */
        WRONG_EKU,
        /** The leaf's key is not RSA of at least 2048 bits nor ECDSA on P-256 or P-384. */
        UNSUPPORTED_KEY,
        /** A certificate in the chain has expired. */
        EXPIRED,
        /** A certificate in the chain is not valid yet. */
        NOT_YET_VALID,
        /** The chain does not lead to any authority of a trusted trust domain, or a signature is wrong. */
        UNTRUSTED_CHAIN,
        /** The chain leads to the authorities of a trust domain other than the SPIFFE ID's. */
        TRUST_DOMAIN_MISMATCH,
        /** The SPIFFE ID is valid and trusted but is not one of the identities expected for this peer. */
        UNEXPECTED_IDENTITY
    }

    private final Reason reason;
    private final transient SpiffeId spiffeId;

    /**
     * Creates the exception.
     *
     * @param reason why the SVID was refused
     * @param detail what was found
     * @param spiffeId the SVID's SPIFFE ID, if it was parsed, else {@code null}
     * @param cause the underlying error, or {@code null}
     */
    public SvidValidationException(Reason reason, String detail, SpiffeId spiffeId, Throwable cause) {
        super(requireNonNull(reason, "reason").name() + ": " + requireNonNull(detail, "detail"), cause);
        this.reason = reason;
        this.spiffeId = spiffeId;
    }

    /** Returns why the SVID was refused. */
    public Reason reason() {
        return reason;
    }

    /** Returns the SVID's SPIFFE ID if it got as far as being parsed. */
    public Optional<SpiffeId> spiffeId() {
        return Optional.ofNullable(spiffeId);
    }
}
