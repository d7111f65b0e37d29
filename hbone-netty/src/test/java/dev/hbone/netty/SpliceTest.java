package dev.hbone.netty;

import dev.hbone.api.Tunnel;
import dev.hbone.api.Tunnels;
import dev.hbone.netty.testing.HboneTestEnv;
import dev.hbone.netty.testing.RawH2Client.RawStream;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The two ways to plug a tunnel into something else: a blocking socket, and a raw Netty stream channel. */
class SpliceTest {
    private HboneTestEnv env;
    private final ExecutorService executor = Executors.newCachedThreadPool();

    @BeforeEach
    void setUp() throws Exception {
        env = new HboneTestEnv();
    }

    @AfterEach
    void tearDown() throws Exception {
        executor.shutdownNow();
        env.close();
    }

    @Test
    void splicesABlockingSocketWithHalfClose() throws Exception {
        NettyHboneServer server = env.server();
        Tunnel tunnel = env.client().open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS);
        try (ServerSocketChannel listener = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
             SocketChannel app = SocketChannel.open(listener.getLocalAddress())) {
            SocketChannel accepted = listener.accept();
            CompletableFuture<Void> spliced = Tunnels.splice(tunnel, accepted, executor);
            byte[] payload = new byte[3 * 1024 * 1024];
            new java.util.Random(3).nextBytes(payload);
            CompletableFuture<byte[]> echoed = CompletableFuture.supplyAsync(() -> readAll(app), executor);
            app.write(ByteBuffer.wrap(payload));
            app.shutdownOutput(); // FIN → END_STREAM → the echo's FIN → our EOF
            assertThat(echoed.get(30, TimeUnit.SECONDS)).isEqualTo(payload);
            spliced.get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void handsNettyUsersTheRawStreamChannel() throws Exception {
        NettyHboneServer server = env.server();
        RawStream frames = new RawStream();
        Http2StreamChannel stream = env.client().openChannel(env.request(server, env.echo.authority()).build(), frames)
                                       .get(20, TimeUnit.SECONDS);
        frames.channel = stream;
        stream.config().setAutoRead(true);
        stream.read();
        stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("zero copy", StandardCharsets.UTF_8), true));
        StringBuilder got = new StringBuilder();
        while (true) {
            Object e = frames.next();
            if (e instanceof RawStream.Data d) {
                got.append(d.text());
                if (d.endStream()) {
                    break;
                }
            }
        }
        assertThat(got.toString()).isEqualTo("zero copy");
    }

    @Test
    void reportsRawClientChannelsToTheListener() throws Exception {
        NettyHboneServer server = env.server();
        java.util.concurrent.BlockingQueue<Object> events = new java.util.concurrent.LinkedBlockingQueue<>();
        NettyHboneClient client = env.client(b -> b.listener(new dev.hbone.api.TunnelListener() {
            @Override
            public void onOpened(dev.hbone.api.TunnelInfo tunnel) {
                events.add(tunnel);
            }

            @Override
            public void onClosed(dev.hbone.api.TunnelInfo tunnel, dev.hbone.api.TunnelStats stats) {
                events.add(stats);
            }

            @Override
            public void onFailed(String authority, dev.hbone.api.TunnelException failure) {
                events.add(failure);
            }
        }));
        RawStream frames = new RawStream();
        Http2StreamChannel stream = client.openChannel(env.request(server, env.echo.authority()).build(), frames)
                                          .get(20, TimeUnit.SECONDS);
        frames.channel = stream;
        Object opened = events.poll(20, TimeUnit.SECONDS);
        assertThat(opened).isInstanceOf(dev.hbone.api.TunnelInfo.class);
        assertThat(((dev.hbone.api.TunnelInfo) opened).authority()).isEqualTo(env.echo.authority());
        assertThat(((dev.hbone.api.TunnelInfo) opened).peerIdentity()).isEqualTo(env.serverId);
        stream.config().setAutoRead(true);
        stream.read();
        stream.write(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("raw ", StandardCharsets.UTF_8)));
        stream.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer("bytes", StandardCharsets.UTF_8), true));
        while (!(frames.next() instanceof RawStream.Data d && d.endStream())) {
            // read the echo up to its END_STREAM
        }
        Object closed = events.poll(20, TimeUnit.SECONDS);
        assertThat(closed).isInstanceOf(dev.hbone.api.TunnelStats.class);
        dev.hbone.api.TunnelStats stats = (dev.hbone.api.TunnelStats) closed;
        assertThat(stats.bytesSent()).isEqualTo(9);
        assertThat(stats.bytesReceived()).isEqualTo(9);
        assertThat(stats.failure()).isEmpty();
        assertThat(stats.duration().isNegative()).isFalse();

        // A raw channel that cannot be opened (nothing listens on port 1: the server answers 503) is reported too.
        var refused = client.openChannel(env.request(server, "127.0.0.1:1").build(), new RawStream());
        org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                                                      () -> refused.get(20, TimeUnit.SECONDS));
        assertThat(events.poll(20, TimeUnit.SECONDS)).isInstanceOf(dev.hbone.api.TunnelException.class);
        assertThat(events).isEmpty();
    }

    @Test
    void reportsARawClientChannelResetByThePeerAsFailed() throws Exception {
        NettyHboneServer server = env.server(t -> ((NettyIncomingTunnel) t)
                .acceptChannel(new io.netty.channel.ChannelInboundHandlerAdapter())
                .writeAndFlush(new io.netty.handler.codec.http2.DefaultHttp2ResetFrame(
                        io.netty.handler.codec.http2.Http2Error.INTERNAL_ERROR)), dev.hbone.api.TunnelListener.NOOP);
        java.util.concurrent.CompletableFuture<dev.hbone.api.TunnelStats> closed = new CompletableFuture<>();
        NettyHboneClient client = env.client(b -> b.listener(new dev.hbone.api.TunnelListener() {
            @Override
            public void onClosed(dev.hbone.api.TunnelInfo tunnel, dev.hbone.api.TunnelStats stats) {
                closed.complete(stats);
            }
        }));
        client.openChannel(env.request(server, env.echo.authority()).build(), new RawStream())
              .get(20, TimeUnit.SECONDS);
        dev.hbone.api.TunnelStats stats = closed.get(20, TimeUnit.SECONDS);
        assertThat(stats.failure()).hasValueSatisfying(f -> {
            assertThat(f.reason()).isEqualTo(dev.hbone.api.TunnelException.Reason.RESET);
            assertThat(f.resetCode()).hasValue(io.netty.handler.codec.http2.Http2Error.INTERNAL_ERROR.code());
        });
    }

    @Test
    void aClientHandlerThatCannotBeInstalledFailsTheOpenAtOnce() throws Exception {
        NettyHboneServer server = env.server();
        NettyHboneClient client = env.client();
        RawStream notSharable = new RawStream();
        Http2StreamChannel first = client.openChannel(env.request(server, env.echo.authority()).build(), notSharable)
                                         .get(20, TimeUnit.SECONDS);
        // The same (non-@Sharable) handler again: the 200 arrives, the handler cannot be added.
        var second = client.openChannel(env.request(server, env.echo.authority())
                                           .timeout(java.time.Duration.ofSeconds(120)).build(), notSharable);
        var e = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                                                              () -> second.get(30, TimeUnit.SECONDS));
        assertThat(e.getCause()).isInstanceOf(dev.hbone.api.TunnelException.class)
                                .hasMessageContaining("cannot install the tunnel's handler");
        first.close();
    }

    @Test
    void aServerHandlerThatCannotBeInstalledIsRefusedWith503() throws Exception {
        io.netty.channel.ChannelHandler notSharable = new io.netty.channel.ChannelInboundHandlerAdapter();
        NettyHboneServer server = env.server(t -> ((NettyIncomingTunnel) t).acceptChannel(notSharable),
                                             dev.hbone.api.TunnelListener.NOOP);
        NettyHboneClient client = env.client();
        Tunnel first = client.open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS);
        var e = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class, () ->
                client.open(env.request(server, env.echo.authority()).build()).get(30, TimeUnit.SECONDS));
        assertThat(e.getCause()).isInstanceOf(dev.hbone.api.TunnelException.class);
        assertThat(((dev.hbone.api.TunnelException) e.getCause()).status()).hasValue(503);
        first.abort();
    }

    private static byte[] readAll(SocketChannel c) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            while (c.read(buf) >= 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            return out.toByteArray();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
