package dev.hbone.ztunnel.cli;

/** Where the proxy's workload certificates come from. */
public enum CaMode {
    /** A certificate authority created in memory at start (ztunnel's {@code FAKE_CA}); the default. */
    EMBEDDED,
    /** A certificate authority loaded from PEM files in Istio's plug-in CA layout, shared by several proxies. */
    PEM,
    /** Fixed certificate and key files per identity; nothing is issued. */
    STATIC;

    /** Returns the name used on the command line. */
    public String flagValue() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
