package dev.hbone.ztunnel.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

/**
 * Counts the payload bytes a TCP channel reads and writes, for the connection metrics and the access log. Sits
 * first in the pipeline; counting starts at {@link #start()} (after a SOCKS5 handshake, for example).
 *
 * <p>With a {@link #reportTo(Sink) sink}, the bytes counted since the last report are handed to it while the
 * connection lives — batched at the end of each read burst ({@code channelReadComplete}) and at each flush, never
 * per message — and once more by {@link #report()} when the connection completes. Reporting allocates nothing.
 */
public final class ByteCounter extends ChannelDuplexHandler {
    /** Receives byte deltas. */
    @FunctionalInterface
    public interface Sink {
        /**
         * Bytes counted since the previous call.
         *
         * @param read bytes read from the socket
         * @param written bytes written to the socket
         */
        void bytes(long read, long written);
    }

    private volatile boolean counting;
    private volatile long read;
    private volatile long written;
    private volatile Sink sink;
    private long reportedRead; // guarded by this
    private long reportedWritten; // guarded by this

    /** Reports byte deltas to {@code sink} from now on (see the class comment). */
    public void reportTo(Sink sink) {
        this.sink = sink;
    }

    /**
     * Hands the bytes counted since the last report to the sink, if there is one and anything changed. Any thread;
     * each byte is reported once.
     */
    public void report() {
        Sink s = sink;
        if (s == null) {
            return;
        }
        long r;
        long w;
        synchronized (this) { // uncontended but for the final report racing the event loop
            r = read - reportedRead;
            w = written - reportedWritten;
            if (r == 0 && w == 0) {
                return;
            }
            reportedRead += r;
            reportedWritten += w;
        }
        s.bytes(r, w);
    }

    /** Starts counting. */
    public void start() {
        counting = true;
    }

    /** Bytes read from the socket since {@link #start()}. */
    public long read() {
        return read;
    }

    /** Bytes written to the socket since {@link #start()}. */
    public long written() {
        return written;
    }

    /** Adds bytes read before the relay started (e.g. sent by a SOCKS5 client before the reply). */
    public void addRead(long n) {
        read += n;
    }

    /** Adds bytes written outside the pipeline's view (e.g. data buffered before the relay started). */
    public void addWritten(long n) {
        written += n;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (counting) {
            read += size(msg); // single writer: the channel's event loop
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (counting) {
            written += size(msg);
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (counting) {
            report();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        if (counting) {
            report();
        }
        ctx.flush();
    }

    private static long size(Object msg) {
        if (msg instanceof ByteBuf b) {
            return b.readableBytes();
        }
        if (msg instanceof ByteBufHolder h) {
            return h.content().readableBytes();
        }
        return 0;
    }
}
