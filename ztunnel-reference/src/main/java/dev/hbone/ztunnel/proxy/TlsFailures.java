package dev.hbone.ztunnel.proxy;

import dev.hbone.spiffe.svid.SvidValidationException;
import dev.hbone.ztunnel.metrics.ProxyMetrics;
import dev.hbone.ztunnel.metrics.Reporter;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Names why a mutual-TLS handshake was refused, as the {@code reason} label of
 * {@code istio_tls_handshake_failures_total} and in the log line: the SPIFFE X.509-SVID rule the peer's certificate
 * broke (spiffe-identity's {@link SvidValidationException.Reason}, lower case: {@code expired}, {@code untrusted_chain},
 * {@code multiple_uri_sans}, ...), else {@code alpn} (no ALPN {@code h2}), {@code protocol_version} (not TLS 1.3),
 * {@code no_certificate} (the client sent none), {@code session} (a negotiated session parameter refused) or
 * {@code handshake} (anything else: not TLS, a bad record, a closed connection, a timeout).
 */
final class TlsFailures {
    private static final Logger log = LoggerFactory.getLogger(TlsFailures.class);

    private TlsFailures() {
    }

    /** Counts and logs one refused handshake. */
    static void refused(ProxyMetrics metrics, Reporter side, Throwable failure) {
        String reason = reason(failure);
        metrics.tlsHandshakeFailed(side, reason);
        log.warn("{} HBONE handshake refused ({}): {}", side.direction(), reason, failure.getMessage());
    }

    /** The reason label for a failed handshake (see the class comment). */
    static String reason(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SvidValidationException e) {
                return e.reason().name().toLowerCase(Locale.ROOT);
            }
        }
        String text = chainText(failure).toLowerCase(Locale.ROOT);
        if (text.contains("alpn") || text.contains("no_application_protocol")
                || text.contains("application layer protocol")) {
            return "alpn";
        }
        if (text.contains("protocol_version") || text.contains("protocol version")
                || text.contains("unsupported protocol") || text.contains("no appropriate protocol")
                || text.contains("unsupported_protocol")) {
            return "protocol_version";
        }
        if (text.contains("peer did not return a certificate") || text.contains("empty client certificate chain")
                || text.contains("certificate_required") || text.contains("peer_did_not_return_a_certificate")
                || text.contains("no_certificate")) {
            return "no_certificate";
        }
        for (SvidValidationException.Reason r : SvidValidationException.Reason.values()) {
            // OpenSSL-based engines may keep only the message of the trust manager's exception ("EXPIRED: ...")
            if (text.contains(r.name().toLowerCase(Locale.ROOT) + ": ")) {
                return r.name().toLowerCase(Locale.ROOT);
            }
        }
        if (text.contains("key_usage_bit_incorrect")) {
            return "no_digital_signature"; // BoringSSL checks the leaf's key usage before the trust manager runs
        }
        if (text.contains("session") && text.contains("refused")) {
            return "session";
        }
        return "handshake";
    }

    private static String chainText(Throwable failure) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            b.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage()).append('\n');
        }
        return b.toString();
    }
}
