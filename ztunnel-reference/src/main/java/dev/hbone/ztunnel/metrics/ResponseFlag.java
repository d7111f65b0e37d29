package dev.hbone.ztunnel.metrics;

/** Why a connection ended abnormally: Istio's {@code response_flags} label. */
public enum ResponseFlag {
    /** Completed normally: {@code -}. */
    NONE("-"),
    /** Refused by an authorization policy. */
    DENY("DENY"),
    /** The upstream connection (or tunnel) could not be established. */
    CONNECT("CONNECT"),
    /** The TLS handshake failed. */
    TLS_FAILURE("TLS_FAILURE");

    private final String labelValue;

    ResponseFlag(String labelValue) {
        this.labelValue = labelValue;
    }

    /** Returns the label value. */
    public String labelValue() {
        return labelValue;
    }
}
