package dev.hbone.netty;

import dev.hbone.netty.internal.HalfClosedReadGuard;
import dev.hbone.netty.internal.Http2Support;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static java.util.Objects.requireNonNull;

/**
 * Relays bytes between a TCP channel and an HBONE stream channel without copying, with HBONE's half-close and
 * reset rules and backpressure both ways (a side that cannot write turns the other side's autoRead off, so the
 * HTTP/2 window or the TCP window pushes back on the sender).
 *
 * <ul>
 *   <li>TCP FIN → empty DATA with END_STREAM; END_STREAM → TCP FIN (shutdownOutput).</li>
 *   <li>RST_STREAM NO_ERROR/CANCEL → the TCP side is closed gracefully; any other code → it is reset (SO_LINGER 0).</li>
 *   <li>The TCP side failing or closing without FIN → RST_STREAM(CANCEL).</li>
 * </ul>
 * The TCP channel must be a {@link DuplexChannel} opened with {@link ChannelOption#ALLOW_HALF_CLOSURE}.
 */
public final class ChannelSplice {
    private ChannelSplice() { }

    /**
     * Starts relaying. Both channels' autoRead is managed from here on.
     *
     * @return completes when both channels are closed
     */
    public static CompletableFuture<Void> splice(DuplexChannel tcp, Http2StreamChannel stream) {
        requireNonNull(tcp, "tcp");
        requireNonNull(stream, "stream");
        CompletableFuture<Void> done = new CompletableFuture<>();
        AtomicInteger open = new AtomicInteger(2);
        ChannelFutureListener closed = f -> {
            if (open.decrementAndGet() == 0) {
                done.complete(null);
            }
        };
        tcp.closeFuture().addListener(closed);
        stream.closeFuture().addListener(closed);
        runOn(tcp, () -> {
            // A peer may send its FIN before the relay is in place, or while reads are paused for backpressure; a
            // later read() on that half-closed epoll socket would close it and lose the other direction.
            if (tcp.pipeline().get(HalfClosedReadGuard.class) == null) {
                tcp.pipeline().addFirst(HalfClosedReadGuard.INSTANCE);
            }
            tcp.pipeline().addLast(new TcpToStream(stream));
            tcp.config().setAutoRead(true);
            tcp.read();
        });
        runOn(stream, () -> {
            stream.pipeline().addLast(new StreamToTcp(tcp));
            stream.config().setAutoRead(true);
            stream.read();
        });
        return done;
    }

    /** Inline when already on the channel's loop, so no read can slip in before the handler is there. */
    private static void runOn(Channel channel, Runnable task) {
        if (channel.eventLoop().inEventLoop()) {
            task.run();
        } else {
            channel.eventLoop().execute(task);
        }
    }

    private static final class TcpToStream extends ChannelInboundHandlerAdapter {
        private final Http2StreamChannel stream;
        private boolean finSent;

        TcpToStream(Http2StreamChannel stream) {
            this.stream = stream;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf buf && stream.isActive() && !finSent) {
                stream.write(new DefaultHttp2DataFrame(buf));
                return;
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            stream.flush();
            if (!stream.isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent && !finSent) {
                finSent = true;
                stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true));
                closeIfBothDone(ctx.channel());
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                stream.config().setAutoRead(true);
                stream.read();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!finSent) {
                stream.close(); // RST_STREAM(CANCEL)
            } else {
                // Our FIN went out; whatever the stream still sends has nowhere to go.
                stream.eventLoop().execute(() -> {
                    if (stream.isActive()) {
                        stream.close();
                    }
                });
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static final class StreamToTcp extends ChannelInboundHandlerAdapter {
        private final DuplexChannel tcp;

        StreamToTcp(DuplexChannel tcp) {
            this.tcp = tcp;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2DataFrame data) {
                boolean end = data.isEndStream();
                if (data.content().isReadable() && tcp.isActive()) {
                    tcp.write(data.content().retain());
                }
                data.release();
                if (end) {
                    tcp.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> tcp.shutdownOutput()
                                                                          .addListener(x -> closeIfBothDone(tcp)));
                }
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            // RST_STREAM arrives as a user event (Http2MultiplexHandler).
            if (evt instanceof Http2ResetFrame rst) {
                long code = rst.errorCode();
                if (code == Http2Support.NO_ERROR || code == Http2Support.CANCEL) {
                    tcp.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
                } else {
                    reset(tcp);
                }
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            tcp.flush();
            if (!tcp.isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                tcp.config().setAutoRead(true);
                tcp.read();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // The stream is gone (both ends done, a reset, or the connection lost): flush and close the TCP side.
            if (tcp.isActive()) {
                tcp.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            reset(tcp);
            ctx.close();
        }
    }

    private static void closeIfBothDone(Channel tcp) {
        if (tcp instanceof DuplexChannel d && d.isInputShutdown() && d.isOutputShutdown()) {
            d.close();
        }
    }

    private static void reset(DuplexChannel tcp) {
        if (tcp.isActive()) {
            tcp.config().setOption(ChannelOption.SO_LINGER, 0);
            tcp.close();
        }
    }
}
