package dev.hbone.api;

import java.util.concurrent.CompletableFuture;

/**
 * A CONNECT waiting for its answer on a server. Exactly one of {@link #accept()} and {@link #refuse} may be
 * called, once, from any thread.
 */
public interface IncomingTunnel {
    /** The peer identity, the authority, the headers, the addresses. */
    TunnelInfo info();

    /** The parsed {@code :authority}. */
    Authority authority();

    /** Answers 200 and returns the tunnel. Call it only after the upstream connection is established. */
    Tunnel accept();

    /** Answers {@code status} (HEADERS with END_STREAM) and ends the stream. {@code reason} goes to the listener. */
    void refuse(RefusalStatus status, String reason);

    /** Completes if the client gives up (resets the stream or loses the connection) before an answer. */
    CompletableFuture<Void> cancelled();
}
