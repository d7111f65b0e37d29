package dev.hbone.netty;

import io.spiffe.spiffeid.SpiffeId;

import javax.net.ssl.SSLEngine;
import java.util.Set;

/**
 * Tells the key and trust managers, per connection, which identity to present and which peers to accept. The
 * transport binds each {@link SSLEngine} it creates before the handshake starts and unbinds it when the handshake
 * ends or the connection closes; the managers look the binding up by the engine <em>instance</em>.
 * spiffe-identity's {@code HandshakeBindings} is the production implementation.
 */
public interface TlsBindings {
    /**
     * Binds {@code engine}.
     *
     * @param localIdentity whose certificate to present
     * @param expectedPeers client side: the server must prove one of these; server side: empty (any peer of a
     *     trusted domain, authorization decides the rest)
     */
    void bind(SSLEngine engine, SpiffeId localIdentity, Set<SpiffeId> expectedPeers);

    /** Forgets {@code engine}'s binding. Idempotent. */
    void unbind(SSLEngine engine);
}
