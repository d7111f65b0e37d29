package dev.hbone.spiffe.tls;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import java.util.Set;

/**
 * What one TLS connection needs from the identity layer.
 *
 * @param localIdentity whose SVID this side presents (the workload the node acts for)
 * @param expectedPeers the identities the peer may have. Client side: the server must present one of them, and an
 *     empty set refuses every server (fail closed). Server side: empty means any client of a trusted trust domain.
 */
public record HandshakeBinding(SpiffeId localIdentity, Set<SpiffeId> expectedPeers) {
    /**
     * Creates a binding.
     *
     * @param localIdentity whose SVID to present
     * @param expectedPeers the identities the peer may have
     */
    public HandshakeBinding {
        requireNonNull(localIdentity, "localIdentity");
        expectedPeers = Set.copyOf(requireNonNull(expectedPeers, "expectedPeers"));
    }

    /**
     * A client connection: present {@code localIdentity}, accept only a server presenting one of {@code
     * expectedServers}.
     *
     * @param localIdentity whose SVID to present
     * @param expectedServers the acceptable server identities (must not be empty)
     * @return the binding
     */
    public static HandshakeBinding client(SpiffeId localIdentity, Set<SpiffeId> expectedServers) {
        requireNonNull(expectedServers, "expectedServers");
        if (expectedServers.isEmpty()) {
            throw new IllegalArgumentException("a client must expect at least one server identity");
        }
        return new HandshakeBinding(localIdentity, expectedServers);
    }

    /**
     * A server connection: present {@code localIdentity}, accept any client of a trusted trust domain (which client
     * may connect is the authorization layer's decision).
     *
     * @param localIdentity whose SVID to present
     * @return the binding
     */
    public static HandshakeBinding server(SpiffeId localIdentity) {
        return new HandshakeBinding(localIdentity, Set.of());
    }
}
