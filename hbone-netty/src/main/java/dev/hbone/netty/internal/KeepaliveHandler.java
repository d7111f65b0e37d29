package dev.hbone.netty.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * Sends a PING every interval on an HTTP/2 connection and closes it if a PING stays unanswered for the timeout.
 * Sits after the frame codec on the connection's pipeline.
 */
public final class KeepaliveHandler extends ChannelInboundHandlerAdapter {
    private final long intervalNanos;
    private final long timeoutNanos;
    private ScheduledFuture<?> timer;
    private long outstandingSince = -1;
    private long outstandingPayload;

    public KeepaliveHandler(long intervalNanos, long timeoutNanos) {
        this.intervalNanos = intervalNanos;
        this.timeoutNanos = timeoutNanos;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        timer = ctx.executor().scheduleAtFixedRate(() -> tick(ctx), intervalNanos, intervalNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (timer != null) {
            timer.cancel(false);
        }
    }

    private void tick(ChannelHandlerContext ctx) {
        long now = System.nanoTime();
        if (outstandingSince >= 0) {
            if (now - outstandingSince >= timeoutNanos) {
                // The peer is gone: no point in a graceful GOAWAY that waits for its streams.
                Http2FrameCodec codec = ctx.pipeline().get(Http2FrameCodec.class);
                if (codec != null) {
                    codec.gracefulShutdownTimeoutMillis(0);
                }
                ctx.channel().close();
            }
            return;
        }
        outstandingSince = now;
        outstandingPayload = now;
        ctx.writeAndFlush(new DefaultHttp2PingFrame(outstandingPayload, false));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2PingFrame ping) {
            if (ping.ack() && ping.content() == outstandingPayload) {
                outstandingSince = -1;
            }
            ReferenceCountUtil.release(msg);
            return;
        }
        ctx.fireChannelRead(msg);
    }
}
