package dev.hbone.api;

/**
 * Decides what to do with each CONNECT a server receives. The request has already been validated (method, no
 * {@code :scheme}/{@code :path}, well-formed authority) and the peer's identity proven by mTLS.
 *
 * <p>{@link #handle} is called on a transport thread and must not block: start the upstream connection
 * asynchronously, then call exactly one of {@link IncomingTunnel#accept()} (only once the upstream is connected —
 * the 200 promises that) or {@link IncomingTunnel#refuse}, from any thread.
 */
@FunctionalInterface
public interface TunnelHandler {
    /** Handles one incoming CONNECT. An exception thrown here refuses the tunnel with 503. */
    void handle(IncomingTunnel tunnel);
}
