package dev.hbone.ztunnel.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

/**
 * Counts the payload bytes a TCP channel reads and writes, for the connection metrics and the access log. Sits
 * first in the pipeline; counting starts at {@link #start()} (after a SOCKS5 handshake, for example).
 */
public final class ByteCounter extends ChannelDuplexHandler {
    private volatile boolean counting;
    private volatile long read;
    private volatile long written;

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
