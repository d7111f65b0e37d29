package dev.hbone.api;

/**
 * Observes tunnels for metrics and access logs. Methods are called on transport threads: they must be quick and
 * must not block; exceptions they throw are logged and ignored. Every method has an empty default.
 */
public interface TunnelListener {
    /** A listener that does nothing. */
    TunnelListener NOOP = new TunnelListener() { };

    /** The tunnel was established (the 200 was sent or received). */
    default void onOpened(TunnelInfo tunnel) { }

    /** An established tunnel ended; {@code stats.failure()} says whether abnormally. */
    default void onClosed(TunnelInfo tunnel, TunnelStats stats) { }

    /**
     * A tunnel was not established: refused by a server (with a status), failed while opening on a client, or — on a
     * server — a connection was refused before any request (TLS handshake or ALPN failure, reason
     * {@link TunnelException.Reason#TLS_HANDSHAKE}, empty authority). Also, on either side, a peer's connection closed
     * with an HTTP/2 error because the peer broke HTTP/2 or an abuse limit (a {@link
     * TunnelException.Reason#PROTOCOL_ERROR} with {@link TunnelException#goAwayCode()}, empty authority), and a
     * malformed request refused with a stream reset (a {@code PROTOCOL_ERROR} without it).
     *
     * @param authority the requested authority (empty when unknown)
     * @param failure why
     */
    default void onFailed(String authority, TunnelException failure) { }
}
