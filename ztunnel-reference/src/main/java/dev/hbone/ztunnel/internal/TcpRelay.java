package dev.hbone.ztunnel.internal;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Relays bytes between two TCP channels (plain TCP routes, inbound plaintext): FIN is forwarded as FIN
 * (shutdownOutput), the other direction carries on; a side closing or failing without FIN closes the other;
 * backpressure through autoRead. Both channels must be {@link DuplexChannel}s with
 * {@link ChannelOption#ALLOW_HALF_CLOSURE} and autoRead off until this starts.
 */
public final class TcpRelay {
    private TcpRelay() { }

    /**
     * Starts relaying.
     *
     * @return completes when both channels are closed
     */
    public static CompletableFuture<Void> relay(DuplexChannel a, DuplexChannel b) {
        requireNonNull(a, "a");
        requireNonNull(b, "b");
        CompletableFuture<Void> done = new CompletableFuture<>();
        AtomicInteger open = new AtomicInteger(2);
        ChannelFutureListener closed = f -> {
            if (open.decrementAndGet() == 0) {
                done.complete(null);
            }
        };
        a.closeFuture().addListener(closed);
        b.closeFuture().addListener(closed);
        start(a, b);
        start(b, a);
        return done;
    }

    private static void start(DuplexChannel from, DuplexChannel to) {
        Runnable task = () -> {
            from.pipeline().addLast(new Direction(to));
            from.config().setAutoRead(true);
            from.read();
        };
        if (from.eventLoop().inEventLoop()) {
            task.run();
        } else {
            from.eventLoop().execute(task);
        }
    }

    private static final class Direction extends ChannelInboundHandlerAdapter {
        private final DuplexChannel to;

        Direction(DuplexChannel to) {
            this.to = to;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf) || !to.isActive()) {
                ReferenceCountUtil.release(msg);
                return;
            }
            to.write(msg).addListener(f -> {
                if (!f.isSuccess()) {
                    ctx.channel().close();
                }
            });
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            to.flush();
            if (!to.isWritable() && ctx.channel().config().isAutoRead()) {
                ctx.channel().config().setAutoRead(false);
                to.pipeline().addFirst(new ResumeWhenWritable(ctx.channel()));
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                DuplexChannel from = (DuplexChannel) ctx.channel();
                closeIfDone(from);
                to.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
                    if (to.isActive()) {
                        to.shutdownOutput().addListener(g -> closeIfDone(to));
                    }
                });
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // Nothing can reach this side any more: flush what is queued toward the other side, then close it.
            to.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.channel().close();
            to.close();
        }

        private static void closeIfDone(DuplexChannel d) {
            if (d.isInputShutdown() && d.isOutputShutdown()) {
                d.close();
            }
        }
    }

    /** Turns the source's autoRead back on once the destination drained its buffer. */
    private static final class ResumeWhenWritable extends ChannelInboundHandlerAdapter {
        private final Channel source;

        ResumeWhenWritable(Channel source) {
            this.source = source;
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                ctx.pipeline().remove(this);
                source.config().setAutoRead(true);
                source.read();
            }
            ctx.fireChannelWritabilityChanged();
        }
    }
}
