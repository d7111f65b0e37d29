package dev.hbone.benchmarks.e2e;

import dev.hbone.netty.internal.Transports;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.ReferenceCountUtil;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The harness's application servers, one process: {@code --listen IP:PORT=sink} discards and counts what it reads
 * (throughput is measured here, where the bytes arrive, so nothing buffered on the way counts);
 * {@code --listen IP:PORT=echo} answers every byte. Commands on stdin, one per line, answered on stdout:
 * {@code bytes} → {@code BYTES <total bytes the sinks read>}, {@code conns} → {@code CONNS <open connections>},
 * {@code quit}. Prints {@code READY} once every listener is bound.
 */
public final class LoadServer {
    private static final LongAdder SUNK = new LongAdder();
    private static final AtomicLong OPEN = new AtomicLong();

    private LoadServer() { }

    public static void main(String[] args) throws Exception {
        int threads = 1;
        List<String> listens = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--listen" -> listens.add(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        EventLoopGroup group = Transports.newGroup(threads, "load-server");
        List<Channel> bound = new ArrayList<>();
        for (String l : listens) {
            String[] parts = l.split("=");
            InetSocketAddress address = E2eAddresses.parse(parts[0]);
            ChannelHandler handler = switch (parts[1]) {
                case "sink" -> Sink.INSTANCE;
                case "echo" -> Echo.INSTANCE;
                default -> throw new IllegalArgumentException("unknown kind " + parts[1]);
            };
            bound.add(new ServerBootstrap().group(group).channel(Transports.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(handler).bind(address).sync().channel());
        }
        System.out.println("READY");
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            switch (line.trim()) {
                case "bytes" -> System.out.println("BYTES " + SUNK.sum());
                case "conns" -> System.out.println("CONNS " + OPEN.get());
                case "quit" -> {
                    for (Channel c : bound) {
                        c.close();
                    }
                    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
                    System.exit(0);
                }
                default -> System.out.println("ERROR unknown command " + line);
            }
            System.out.flush();
        }
        System.exit(0); // the harness went away
    }

    /** Counts open connections and closes a connection on error; the subclasses say what to do with the bytes. */
    private abstract static class Counted extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            OPEN.incrementAndGet();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            OPEN.decrementAndGet();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    @ChannelHandler.Sharable
    private static final class Sink extends Counted {
        static final Sink INSTANCE = new Sink();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf b) {
                SUNK.add(b.readableBytes());
            }
            ReferenceCountUtil.release(msg);
        }
    }

    @ChannelHandler.Sharable
    private static final class Echo extends Counted {
        static final Echo INSTANCE = new Echo();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }
    }
}
