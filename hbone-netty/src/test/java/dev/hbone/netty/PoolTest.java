package dev.hbone.netty;

import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelException;
import dev.hbone.netty.internal.ClientConnection;
import dev.hbone.netty.testing.HboneTestEnv;
import dev.hbone.netty.testing.TunnelIo;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Connection pooling: multiplexing, overflow, single-flight creation, GOAWAY, idle release. */
class PoolTest {
    private HboneTestEnv env;

    @BeforeEach
    void setUp() throws Exception {
        env = new HboneTestEnv();
    }

    @AfterEach
    void tearDown() throws Exception {
        env.close();
    }

    private List<Tunnel> openAll(NettyHboneClient client, NettyHboneServer server, int n) throws Exception {
        List<CompletableFuture<Tunnel>> opening = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            opening.add(client.open(env.request(server, env.echo.authority()).build()));
        }
        List<Tunnel> tunnels = new ArrayList<>();
        for (CompletableFuture<Tunnel> f : opening) {
            tunnels.add(f.get(20, TimeUnit.SECONDS));
        }
        return tunnels;
    }

    @Test
    void multiplexesTunnelsOnOneConnection() throws Exception {
        NettyHboneServer server = env.server();
        NettyHboneClient client = env.client();
        List<Tunnel> tunnels = new ArrayList<>();
        for (int i = 0; i < 5; i++) { // one after the other
            tunnels.add(client.open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS));
        }
        assertThat(client.pooledConnections()).isEqualTo(1);
        assertThat(server.connectionCount()).isEqualTo(1);
        assertThat(tunnels).extracting(t -> ((NettyTunnel) t).channel().parent()).containsOnly(
                ((NettyTunnel) tunnels.get(0)).channel().parent());
    }

    @Test
    void overflowsToASecondConnectionWhenFull() throws Exception {
        NettyHboneServer server = env.server();
        NettyHboneClient client = env.client(b -> b.maxStreamsPerConnection(2));
        List<Tunnel> tunnels = openAll(client, server, 3);
        assertThat(client.pooledConnections()).isEqualTo(2);
        assertThat(server.connectionCount()).isEqualTo(2);
        // A freed slot is reused rather than opening a third connection.
        tunnels.get(0).abort();
        tunnels.get(0).closeFuture().get(10, TimeUnit.SECONDS);
        openAll(client, server, 1);
        assertThat(server.connectionCount()).isEqualTo(2);
    }

    @Test
    void createsOneConnectionForConcurrentOpeners() throws Exception {
        NettyHboneServer server = env.server();
        NettyHboneClient client = env.client();
        openAll(client, server, 60); // all started before any handshake finished
        assertThat(server.connectionCount()).isEqualTo(1);
        assertThat(client.pooledConnections()).isEqualTo(1);
    }

    @Test
    void takesNoNewStreamsAfterGoAway() throws Exception {
        NettyHboneServer server = env.server();
        NettyHboneClient client = env.client();
        Tunnel first = client.open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS);
        CompletableFuture<Long> goAwaySeen = new CompletableFuture<>();
        io.netty.channel.Channel connection = ((NettyTunnel) first).channel().parent();
        ChannelPipeline parent = connection.pipeline();
        // Added on the connection's loop and awaited: a handler added from another thread skips events until its
        // handlerAdded has run there.
        connection.eventLoop().submit(() -> parent.addBefore(parent.context(ClientConnection.class).name(), "probe", new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                long code = msg instanceof Http2GoAwayFrame g ? g.errorCode() : -1;
                ctx.fireChannelRead(msg);
                if (code >= 0) {
                    goAwaySeen.complete(code); // after the connection handled it
                }
            }
        })).get(10, TimeUnit.SECONDS);

        CompletableFuture<Void> drained = server.drain(Duration.ofSeconds(20));
        assertThat(goAwaySeen.get(20, TimeUnit.SECONDS)).isEqualTo(Http2Error.NO_ERROR.code());
        assertThat(client.pooledConnections()).isZero();

        // The server stopped listening: a new tunnel needs a new connection, and that cannot be made.
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () ->
                client.open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS));
        assertThat(((TunnelException) e.getCause()).reason()).isIn(TunnelException.Reason.CONNECT_FAILED,
                                                                   TunnelException.Reason.CONNECTION_CLOSED);

        // The tunnel opened before the GOAWAY finishes normally, and then the drain completes.
        CompletableFuture<TunnelIo.Received> read = TunnelIo.readAll(first);
        String sent = TunnelIo.writeRandom(first, 500_000, 3, 32 * 1024).get(20, TimeUnit.SECONDS);
        assertThat(read.get(20, TimeUnit.SECONDS).sha256()).isEqualTo(sent);
        drained.get(20, TimeUnit.SECONDS);
    }

    @Test
    void closesAConnectionWhosePingsGoUnanswered() throws Exception {
        // A "server" that completes the TLS handshake and then ignores every byte: no SETTINGS, no PING acks.
        io.netty.channel.Channel mute = new io.netty.bootstrap.ServerBootstrap()
                .group(env.group).channel(dev.hbone.netty.internal.Transports.serverChannel())
                .childHandler(new io.netty.channel.ChannelInitializer<io.netty.channel.Channel>() {
                    @Override
                    protected void initChannel(io.netty.channel.Channel ch) {
                        javax.net.ssl.SSLEngine engine = new dev.hbone.netty.internal.TlsEngineFactory(env.tls, true)
                                .newEngine(ch.alloc());
                        env.tls.bindings().bind(engine, env.serverId, java.util.Set.of());
                        ch.pipeline().addLast(new io.netty.handler.ssl.SslHandler(engine),
                                              new ChannelInboundHandlerAdapter() {
                                                  @Override
                                                  public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                                      io.netty.util.ReferenceCountUtil.release(msg);
                                                  }
                                              });
                    }
                }).bind(new java.net.InetSocketAddress("127.0.0.1", 0)).sync().channel();
        try {
            env.tls.loadIdentity(env.serverId).get(10, TimeUnit.SECONDS);
            NettyHboneClient client = env.client(b -> b.ping(Duration.ofMillis(100), Duration.ofMillis(300)));
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () ->
                    client.open(dev.hbone.api.TunnelRequest.builder().authority(env.echo.authority())
                                        .peerAddress((java.net.InetSocketAddress) mute.localAddress())
                                        .sourceIdentity(env.clientId).expectedIdentity(env.serverId)
                                        .timeout(Duration.ofSeconds(30)).build())
                          .get(40, TimeUnit.SECONDS));
            // Closed by the keep-alive, long before the 30 s open timeout.
            assertThat(((TunnelException) e.getCause()).reason()).isEqualTo(TunnelException.Reason.CONNECTION_CLOSED);
        } finally {
            mute.close().sync();
        }
    }

    @Test
    void releasesIdleConnections() throws Exception {
        NettyHboneServer server = env.server();
        NettyHboneClient client = env.client(b -> b.idleTimeout(Duration.ofMillis(100)));
        Tunnel tunnel = client.open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS);
        io.netty.channel.Channel connection = ((NettyTunnel) tunnel).channel().parent();
        tunnel.abort();
        connection.closeFuture().await(20, TimeUnit.SECONDS);
        assertThat(connection.isActive()).isFalse();
        assertThat(client.pooledConnections()).isZero();
    }
}
