package dev.hbone.api;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;

/**
 * One established HBONE tunnel: a bidirectional byte stream with half-close, the stand-in for one proxied TCP
 * connection. Thread-safe.
 *
 * <h2>Writing</h2>
 * {@link #write(ByteBuffer)} copies the bytes and returns a future that completes once the transport has sent them
 * on (HTTP/2 flow control let them out). Keeping at most a few writes outstanding — simplest: wait for each future
 * — is what gives backpressure: a slow reader on the far side stalls the futures instead of growing a buffer.
 * {@link #shutdownOutput()} is the TCP FIN: the peer reads end-of-stream, and this side can still read.
 *
 * <h2>Reading</h2>
 * {@link #inbound()} is a single-subscriber {@link Flow.Publisher}: the transport reads only as much as the
 * subscriber has {@linkplain Flow.Subscription#request(long) requested} (one buffer per unit of demand), and the
 * peer is slowed down through HTTP/2 flow control when it does not. {@code onComplete} is the peer's FIN (or a
 * reset with NO_ERROR/CANCEL); {@code onError} carries a {@link TunnelException}.
 *
 * <h2>Ending</h2>
 * The tunnel ends when both directions have ended, or on {@link #abort()} (RST_STREAM CANCEL), or on a failure.
 * {@link #close()} ends it now: a no-op after a clean end, an abort otherwise.
 */
public interface Tunnel extends AutoCloseable {
    /** Who is on each end and what the CONNECT said. */
    TunnelInfo info();

    /**
     * Sends a copy of {@code data}'s remaining bytes (the buffer's position is advanced to its limit).
     *
     * @return completes when the bytes have left the tunnel's buffers, exceptionally with a {@link TunnelException}
     *     if the tunnel failed or output was already shut down
     */
    CompletableFuture<Void> write(ByteBuffer data);

    /** Whether the transport would accept more bytes without queueing them. A hint; {@link #write} is the contract. */
    boolean isWritable();

    /** Half-closes: sends end-of-stream after everything written so far. Idempotent. */
    CompletableFuture<Void> shutdownOutput();

    /** The bytes the peer sends, with demand-driven backpressure. May be subscribed once. */
    Flow.Publisher<ByteBuffer> inbound();

    /** Ends the tunnel at once with RST_STREAM(CANCEL), which the peer reads as end-of-stream. */
    void abort();

    /** Completes when the tunnel has ended, with its totals (also for failures: see {@link TunnelStats#failure()}). */
    CompletableFuture<TunnelStats> closeFuture();

    /** Ends the tunnel: nothing to do after a clean end in both directions, {@link #abort()} otherwise. */
    @Override
    void close();
}
