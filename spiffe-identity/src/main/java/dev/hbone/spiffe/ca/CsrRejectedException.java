package dev.hbone.spiffe.ca;

import static java.util.Objects.requireNonNull;

/** A certificate signing request the {@link CertificateAuthority} refuses to sign; {@link #reason()} says why. */
public final class CsrRejectedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why a CSR was refused. */
    public enum Reason {
        /** The bytes are not a PKCS#10 request (DER or PEM). */
        MALFORMED,
        /** The request's self-signature does not verify. */
        BAD_SIGNATURE,
        /** The request asks for no URI SAN. */
        NO_URI_SAN,
        /** The request asks for more than one URI SAN. */
        MULTIPLE_URI_SANS,
        /** The request's URI SAN is not a {@code spiffe://} URI. */
        NOT_SPIFFE_URI,
        /** The request asks for a SAN other than the SPIFFE URI (DNS name, IP address, e-mail...). */
        OTHER_SAN,
        /** The request's SPIFFE ID breaks the SPIFFE ID rules. */
        INVALID_SPIFFE_ID,
        /** The request's SPIFFE ID is in a trust domain this authority does not sign for. */
        FOREIGN_TRUST_DOMAIN,
        /** The request's key is not ECDSA P-256/P-384 or RSA of at least 2048 bits. */
        UNSUPPORTED_KEY
    }

    private final Reason reason;

    /**
     * Creates the exception.
     *
     * @param reason why the request was refused
     * @param detail what was found
     * @param cause the underlying error, or {@code null}
     */
    public CsrRejectedException(Reason reason, String detail, Throwable cause) {
        super(requireNonNull(reason, "reason").name() + ": " + requireNonNull(detail, "detail"), cause);
        this.reason = reason;
    }

    /** Returns why the request was refused. */
    public Reason reason() {
        return reason;
    }
}
