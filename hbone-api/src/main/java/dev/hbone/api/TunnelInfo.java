package dev.hbone.api;

import io.spiffe.spiffeid.SpiffeId;

import java.net.InetSocketAddress;
import java.util.Map;

import static java.util.Objects.requireNonNull;

/**
 * What is known about one tunnel: who is on each end, where, and what the CONNECT request said.
 *
 * @param localIdentity the identity this side presented in the TLS handshake
 * @param peerIdentity the SPIFFE ID the peer proved in the TLS handshake
 * @param authority the CONNECT {@code :authority}, e.g. {@code 10.0.0.7:8080} or {@code [fd00::7]:8080}
 * @param localAddress this side's address of the TCP connection that carries the tunnel
 * @param remoteAddress the peer's address of that TCP connection
 * @param headers the request's regular headers (lower-case names; first value of each), e.g. {@code forwarded},
 *     {@code baggage}, {@code traceparent}
 */
public record TunnelInfo(SpiffeId localIdentity, SpiffeId peerIdentity, String authority,
                         InetSocketAddress localAddress, InetSocketAddress remoteAddress,
                         Map<String, String> headers) {
    /** Validates and copies the headers. */
    public TunnelInfo {
        requireNonNull(localIdentity, "localIdentity");
        requireNonNull(peerIdentity, "peerIdentity");
        requireNonNull(authority, "authority");
        requireNonNull(localAddress, "localAddress");
        requireNonNull(remoteAddress, "remoteAddress");
        headers = Map.copyOf(requireNonNull(headers, "headers"));
    }
}
