package dev.hbone.ztunnel.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.api.TunnelException;
import dev.hbone.spiffe.svid.SvidValidationException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** The reason label of a refused handshake, from what the TLS engines report (end to end: MtlsRefusalMatrixTest). */
class TlsFailuresTest {
    private static TunnelException handshake(String message, Throwable cause) {
        return TunnelException.of(TunnelException.Reason.TLS_HANDSHAKE, message, cause);
    }

    @Test
    void theSvidRuleFoundAnywhereInTheChainNamesTheReason() {
        SvidValidationException rule = new SvidValidationException(SvidValidationException.Reason.TRUST_DOMAIN_MISMATCH,
                "chains to other.org", null, null);
        SSLHandshakeException jdk = new SSLHandshakeException("certificate_unknown");
        jdk.initCause(rule);
        assertThat(TlsFailures.reason(handshake("TLS handshake from x failed", jdk))).isEqualTo("trust_domain_mismatch");
    }

    @Test
    void engineMessagesAreMappedWhenOnlyTheTextSurvives() {
        assertThat(TlsFailures.reason(handshake("failed: General OpenSslEngine problem (EXPIRED: leaf expired)", null)))
                .isEqualTo("expired");
        assertThat(TlsFailures.reason(handshake("failed: error:1000012e:SSL routines:OPENSSL_internal:"
                + "KEY_USAGE_BIT_INCORRECT", null))).isEqualTo("no_digital_signature");
        assertThat(TlsFailures.reason(handshake("ALPN from /127.0.0.1:1 is null, not h2", null))).isEqualTo("alpn");
        assertThat(TlsFailures.reason(handshake("failed: No matching application layer protocol values", null)))
                .isEqualTo("alpn");
        assertThat(TlsFailures.reason(handshake("failed: The client supported protocol versions [TLSv1.2] are not "
                + "accepted by server preferences [TLSv1.3]", null))).isEqualTo("protocol_version");
        assertThat(TlsFailures.reason(handshake("failed: Empty client certificate chain", null)))
                .isEqualTo("no_certificate");
        assertThat(TlsFailures.reason(handshake("TLS handshake from x failed: not an SSL/TLS record", null)))
                .isEqualTo("handshake");
    }
}
