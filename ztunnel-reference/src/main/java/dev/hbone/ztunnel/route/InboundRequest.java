package dev.hbone.ztunnel.route;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * What the HBONE server knows about one CONNECT request when it must decide.
 *
 * @param method the request's {@code :method}
 * @param authority the request's {@code :authority}
 * @param peer the client's address (the TCP peer of the mTLS connection)
 * @param connectionDestination the IP the client connected to (the local address of the mTLS connection)
 * @param peerIdentity the client's SPIFFE ID from its certificate, if it had one
 * @param forwardedNetwork the {@code x-forwarded-network} header, if present (set on the inner CONNECT of double HBONE)
 */
public record InboundRequest(String method, String authority, InetSocketAddress peer, InetAddress connectionDestination,
        Optional<String> peerIdentity, Optional<String> forwardedNetwork) {

    /** Validates the components. */
    public InboundRequest {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(authority, "authority");
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(connectionDestination, "connectionDestination");
        Objects.requireNonNull(peerIdentity, "peerIdentity");
        Objects.requireNonNull(forwardedNetwork, "forwardedNetwork");
    }

    /** A CONNECT with a peer identity and no {@code x-forwarded-network}. */
    public static InboundRequest connect(String authority, InetSocketAddress peer, InetAddress connectionDestination,
            String peerIdentity) {
        return new InboundRequest("CONNECT", authority, peer, connectionDestination,
                Optional.ofNullable(peerIdentity), Optional.empty());
    }
}
