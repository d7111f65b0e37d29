package dev.hbone.netty.testing;

import dev.hbone.netty.internal.Transports;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/** Plain-TCP upstream servers on 127.0.0.1 for the tunnels to reach. */
public final class Upstream implements AutoCloseable {
    private final Channel server;
    private final io.netty.channel.group.ChannelGroup children =
            new io.netty.channel.group.DefaultChannelGroup(io.netty.util.concurrent.GlobalEventExecutor.INSTANCE);

    private Upstream(EventLoopGroup group, Supplier<ChannelInboundHandlerAdapter> handler) throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(Transports.serverChannel())
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new io.netty.channel.ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        children.add(ch);
                        ch.pipeline().addLast(handler.get());
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    public String authority() {
        return "127.0.0.1:" + address().getPort();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        // Close the accepted connections too while their loop still runs, so that whatever they still buffer is
        // released now (not left to the group's shutdown, where paranoid leak detection can catch it).
        children.close().awaitUninterruptibly(10, java.util.concurrent.TimeUnit.SECONDS);
    }

    /** Echoes bytes, with backpressure, and answers a FIN with a FIN after the echo. */
    public static Upstream echo(EventLoopGroup group) throws InterruptedException {
        return new Upstream(group, Echo::new);
    }

    /** Reads to EOF, then writes the byte count as text and closes. */
    public static Upstream counter(EventLoopGroup group) throws InterruptedException {
        return new Upstream(group, Counter::new);
    }

    /** Writes "hello", FIN, then counts what it reads until EOF into {@code received}. */
    public static Upstream greeter(EventLoopGroup group, CompletableFuture<Long> received) throws InterruptedException {
        return new Upstream(group, () -> new Greeter(received));
    }

    /** Writes as fast as the connection allows, forever; records when it first became unwritable. */
    public static Upstream firehose(EventLoopGroup group, AtomicLong written, CountDownLatch blocked)
            throws InterruptedException {
        return new Upstream(group, () -> new Firehose(written, blocked));
    }

    /** Accepts and never reads. */
    public static Upstream blackhole(EventLoopGroup group) throws InterruptedException {
        return new Upstream(group, () -> new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                ctx.channel().config().setAutoRead(false);
            }
        });
    }

    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
            if (!ctx.channel().isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                ctx.channel().config().setAutoRead(true);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> ((DuplexChannel) ctx.channel())
                        .shutdownOutput().addListener(ChannelFutureListener.CLOSE));
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static final class Counter extends ChannelInboundHandlerAdapter {
        private long count;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            count += ((ByteBuf) msg).readableBytes();
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                ctx.writeAndFlush(Unpooled.copiedBuffer(Long.toString(count), StandardCharsets.US_ASCII))
                   .addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static final class Greeter extends ChannelInboundHandlerAdapter {
        private final CompletableFuture<Long> received;
        private long count;

        Greeter(CompletableFuture<Long> received) {
            this.received = received;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII))
               .addListener(f -> ((DuplexChannel) ctx.channel()).shutdownOutput());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            count += ((ByteBuf) msg).readableBytes();
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                received.complete(count);
                ctx.close();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            received.complete(-1L);
        }
    }

    private static final class Firehose extends ChannelInboundHandlerAdapter {
        private final AtomicLong written;
        private final CountDownLatch blocked;
        private static final byte[] CHUNK = new byte[64 * 1024];

        Firehose(AtomicLong written, CountDownLatch blocked) {
            this.written = written;
            this.blocked = blocked;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            pump(ctx);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            pump(ctx);
        }

        private void pump(ChannelHandlerContext ctx) {
            while (ctx.channel().isActive() && ctx.channel().isWritable()) {
                ctx.write(Unpooled.wrappedBuffer(CHUNK));
                written.addAndGet(CHUNK.length);
                ctx.flush();
            }
            if (ctx.channel().isActive()) {
                blocked.countDown();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
