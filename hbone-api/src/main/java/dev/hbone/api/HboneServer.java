package dev.hbone.api;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Accepts HBONE tunnels on one address and hands each CONNECT to a {@link TunnelHandler}. Thread-safe.
 */
public interface HboneServer extends AutoCloseable {
    /** The address the server is bound to (with the real port when it was bound to port 0). */
    InetSocketAddress localAddress();

    /**
     * Stops accepting connections, sends GOAWAY(NO_ERROR) on every connection, lets open tunnels finish, and
     * force-closes what is left after {@code deadline}.
     *
     * @return completes when every connection is closed
     */
    CompletableFuture<Void> drain(Duration deadline);

    /** Drains with the default deadline and waits for it. */
    @Override
    void close();
}
