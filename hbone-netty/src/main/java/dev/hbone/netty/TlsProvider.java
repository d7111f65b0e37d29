package dev.hbone.netty;

import io.netty.handler.ssl.OpenSsl;

import java.util.Locale;

/** The TLS implementation under HBONE. */
public enum TlsProvider {
    /** BoringSSL through netty-tcnative: ~3-5x faster handshakes than the JDK. The default when available. */
    OPENSSL,
    /** The JDK's JSSE. Always available. */
    JDK;

    /**
     * The provider named by the system property {@code hbone.tls.provider} ({@code OPENSSL} or {@code JDK}), else
     * {@link #OPENSSL} if netty-tcnative loads on this machine, else {@link #JDK}.
     */
    public static TlsProvider defaultProvider() {
        String configured = System.getProperty("hbone.tls.provider");
        if (configured != null && !configured.isBlank()) {
            return valueOf(configured.trim().toUpperCase(Locale.ROOT));
        }
        return OpenSsl.isAvailable() ? OPENSSL : JDK;
    }
}
