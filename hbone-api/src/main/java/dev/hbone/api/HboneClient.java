package dev.hbone.api;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Opens HBONE tunnels. Implementations pool their HTTP/2 connections by (source identity, expected identities,
 * peer address, source IP), so opening a tunnel to a peer already connected costs one stream, not a handshake.
 * Thread-safe.
 */
public interface HboneClient extends AutoCloseable {
    /**
     * Opens a tunnel.
     *
     * @return completes with the tunnel once the peer answered 200 (so the upstream is connected), or exceptionally
     *     with a {@link TunnelException} naming why not
     */
    CompletableFuture<Tunnel> open(TunnelRequest request);

    /**
     * Stops opening tunnels, sends GOAWAY(NO_ERROR) on every connection, lets open tunnels finish, and force-closes
     * what is left after {@code deadline}.
     *
     * @return completes when every connection is closed
     */
    CompletableFuture<Void> drain(Duration deadline);

    /** Drains with the default deadline and waits for it. */
    @Override
    void close();
}
