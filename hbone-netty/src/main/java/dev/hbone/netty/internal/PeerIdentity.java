package dev.hbone.netty.internal;

import io.spiffe.spiffeid.SpiffeId;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;

/** Reads the SPIFFE ID the peer proved in the handshake (the trust manager has already validated it). */
public final class PeerIdentity {
    private static final int URI_SAN = 6;

    private PeerIdentity() { }

    public static SpiffeId of(SSLSession session) throws SSLPeerUnverifiedException {
        Certificate[] chain = session.getPeerCertificates();
        if (chain.length == 0 || !(chain[0] instanceof X509Certificate)) {
            throw new SSLPeerUnverifiedException("peer presented no X.509 certificate");
        }
        try {
            Collection<List<?>> sans = ((X509Certificate) chain[0]).getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (san.size() >= 2 && Integer.valueOf(URI_SAN).equals(san.get(0))) {
                        return SpiffeId.parse(String.valueOf(san.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException | IllegalArgumentException e) {
            throw new SSLPeerUnverifiedException("peer certificate has no valid SPIFFE ID: " + e.getMessage());
        }
        throw new SSLPeerUnverifiedException("peer certificate has no URI SAN");
    }
}
