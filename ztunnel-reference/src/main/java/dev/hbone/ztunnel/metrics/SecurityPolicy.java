package dev.hbone.ztunnel.metrics;

/** Istio's {@code connection_security_policy} label. */
public enum SecurityPolicy {
    /** Mutual TLS (HBONE). */
    MUTUAL_TLS("mutual_tls"),
    /** Not known or plaintext. */
    UNKNOWN("unknown");

    private final String labelValue;

    SecurityPolicy(String labelValue) {
        this.labelValue = labelValue;
    }

    /** Returns the label value. */
    public String labelValue() {
        return labelValue;
    }
}
