package dev.hbone.ztunnel.metrics;

/** Which side of a connection reports it: Istio's {@code reporter} label. */
public enum Reporter {
    /** The proxy of the client (outbound). */
    SOURCE("source"),
    /** The proxy of the server (inbound). */
    DESTINATION("destination");

    private final String labelValue;

    Reporter(String labelValue) {
        this.labelValue = labelValue;
    }

    /** Returns the label value: {@code source} or {@code destination}. */
    public String labelValue() {
        return labelValue;
    }

    /** Returns the direction name used by the proxy's own metrics and the access log. */
    public String direction() {
        return this == SOURCE ? "outbound" : "inbound";
    }
}
