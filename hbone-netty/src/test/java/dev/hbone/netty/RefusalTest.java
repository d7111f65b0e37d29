package dev.hbone.netty;

import dev.hbone.api.IncomingTunnel;
import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelListener;
import dev.hbone.netty.testing.HboneTestEnv;
import dev.hbone.netty.testing.TestPki;
import dev.hbone.netty.testing.TestTls;
import dev.hbone.netty.testing.TunnelIo;
import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Each refusal status, client-side timeouts, TLS failures and stream resets, seen as typed failures. */
class RefusalTest {
    private HboneTestEnv env;

    @BeforeEach
    void setUp() throws Exception {
        env = new HboneTestEnv();
    }

    @AfterEach
    void tearDown() throws Exception {
        env.close();
    }

    private TunnelException openFails(NettyHboneClient client, NettyHboneServer server, String authority) {
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () ->
                client.open(env.request(server, authority).build()).get(20, TimeUnit.SECONDS));
        assertThat(e.getCause()).isInstanceOf(TunnelException.class);
        return (TunnelException) e.getCause();
    }

    @Test
    void answersEachRefusalStatusAndKeepsTheConnection() throws Exception {
        List<TunnelException> refused = new CopyOnWriteArrayList<>();
        NettyHboneServer server = env.server(TcpForwarder.builder()
                                                         .authorizer(t -> !t.info().headers().containsKey("x-deny"))
                                                         .target(t -> t.authority().port() == 1 ? null
                                                                      : new java.net.InetSocketAddress("127.0.0.1", t.authority().port()))
                                                         .build(),
                                             new TunnelListener() {
                                                 @Override
                                                 public void onFailed(String authority, TunnelException failure) {
                                                     refused.add(failure);
                                                 }
                                             });
        NettyHboneClient client = env.client();
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            closedPort = s.getLocalPort();
        }

        TunnelException denied = null;
        try {
            client.open(env.request(server, env.echo.authority()).header("x-deny", "1").build()).get(20, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            denied = (TunnelException) e.getCause();
        }
        assertThat(denied).isNotNull();
        assertThat(denied.reason()).isEqualTo(TunnelException.Reason.REFUSED);
        assertThat(denied.status()).hasValue(401);
        assertThat(openFails(client, server, "127.0.0.1:1").status()).hasValue(503);                // unknown target
        assertThat(openFails(client, server, "127.0.0.1:" + closedPort).status()).hasValue(503);     // upstream refused
        assertThat(openFails(client, server, "10.1.2.3:80").status()).hasValue(400);                 // not our IP
        assertThat(openFails(client, server, "127.0.0.1:15008").status()).hasValue(503);             // our own port
        assertThat(openFails(client, server, "echo.local:80").status()).hasValue(400);               // not an IP

        // The refusals were stream-level: the same pooled connection still carries a good tunnel.
        Tunnel ok = client.open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS);
        CompletableFuture<TunnelIo.Received> read = TunnelIo.readAll(ok);
        assertThat(read.thenCombine(TunnelIo.writeRandom(ok, 100_000, 7, 8192), (r, s) -> r.sha256().equals(s))
                       .get(20, TimeUnit.SECONDS)).isTrue();
        assertThat(server.connectionCount()).isEqualTo(1);
        assertThat(refused).extracting(e -> e.status().orElse(0)).containsExactly(401, 503, 503, 400, 503, 400);
    }

    @Test
    void timesOutWhenTheServerNeverAnswersAndCancelsTheStream() throws Exception {
        CompletableFuture<IncomingTunnel> pending = new CompletableFuture<>();
        NettyHboneServer server = env.server(pending::complete, TunnelListener.NOOP);
        NettyHboneClient client = env.client();
        CompletableFuture<Tunnel> open = client.open(env.request(server, env.echo.authority())
                                                        .timeout(Duration.ofMillis(300)).build());
        IncomingTunnel incoming = pending.get(20, TimeUnit.SECONDS);
        assertThatThrownBy(() -> open.get(20, TimeUnit.SECONDS))
                .cause().isInstanceOf(TunnelException.class)
                .extracting(e -> ((TunnelException) e).reason()).isEqualTo(TunnelException.Reason.TIMEOUT);
        // The client gave up with RST_STREAM(CANCEL); the server learns it.
        incoming.cancelled().get(20, TimeUnit.SECONDS);
    }

    @Test
    void failsTheHandshakeWhenTheServerIsNotExpected() throws Exception {
        NettyHboneServer server = env.server();
        NettyHboneClient client = env.client();
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () ->
                client.open(env.request(server, env.echo.authority())
                                  .expectedIdentity(env.id("default", "someone-else")).build())
                      .get(20, TimeUnit.SECONDS));
        TunnelException te = (TunnelException) e.getCause();
        assertThat(te.reason()).isEqualTo(TunnelException.Reason.TLS_HANDSHAKE);
        assertThat(te.getMessage()).contains("UNEXPECTED_IDENTITY");
    }

    @Test
    void serverRefusesAClientFromAnotherTrustDomain() throws Exception {
        CompletableFuture<TunnelException> counted = new CompletableFuture<>();
        NettyHboneServer server = env.server(TcpForwarder.builder().build(), new TunnelListener() {
            @Override
            public void onFailed(String authority, TunnelException failure) {
                counted.complete(failure);
            }
        });
        TestPki other = new TestPki("other.local");
        TestPki.Svid stranger = other.issue(other.id("default", "client"));
        TestTls strangerTls = new TestTls(other, stranger);
        NettyHboneClient client = NettyHboneClient.builder().tls(strangerTls.tls(HboneTestEnv.provider())).threads(1).build();
        try {
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () ->
                    client.open(dev.hbone.api.TunnelRequest.builder().authority(env.echo.authority())
                                                            .peerAddress(server.localAddress())
                                                            .sourceIdentity(stranger.id())
                                                            .expectedIdentity(env.serverId).build())
                          .get(20, TimeUnit.SECONDS));
            // Our client cannot even trust the server (other CA); either way no tunnel and a TLS-level reason.
            assertThat(((TunnelException) e.getCause()).reason())
                    .isIn(TunnelException.Reason.TLS_HANDSHAKE, TunnelException.Reason.CONNECTION_CLOSED);
            // The server counted the refused connection, with a reason.
            assertThat(counted.get(20, TimeUnit.SECONDS).reason()).isEqualTo(TunnelException.Reason.TLS_HANDSHAKE);
        } finally {
            client.drain(Duration.ofMillis(100)).get(10, TimeUnit.SECONDS);
        }
    }

    /**
     * TLS 1.3 finishes the client's handshake before the server checks the client certificate, so the refusal
     * reaches a client that already opened its stream. The opener must fail with a TLS reason, and the failure must
     * not escape to the end of any channel pipeline (Netty forwards TLS failures to every active stream).
     */
    @Test
    void clientRefusedAfterItsHandshakeFailsWithTlsReasonAndNothingReachesAPipelineTail() throws Exception {
        ch.qos.logback.classic.Logger pipelineLog = (ch.qos.logback.classic.Logger)
                org.slf4j.LoggerFactory.getLogger("io.netty.channel.DefaultChannelPipeline");
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> tail =
                new ch.qos.logback.core.read.ListAppender<>();
        tail.start();
        pipelineLog.addAppender(tail);
        CompletableFuture<TunnelException> serverSaw = new CompletableFuture<>();
        NettyHboneServer server = env.server(TcpForwarder.builder().build(), new TunnelListener() {
            @Override
            public void onFailed(String authority, TunnelException failure) {
                serverSaw.complete(failure);
            }
        });
        CertificateAuthority otherCa = CertificateAuthority.builder(TrustDomain.parse("other.local")).build();
        SpiffeId stranger = SpiffeIds.kubernetes("other.local", "default", "client");
        try (IdentityStore strangerStore = IdentityStore.builder(SvidSources.localCa(otherCa, Duration.ofHours(1)))
                .build();
             // The stranger trusts the mesh, so only the server's check of the client certificate can refuse it.
             NettyHboneClient client = NettyHboneClient.builder()
                     .tls(HboneTls.builder().spiffe(strangerStore, TrustBundles.of(env.ca.bundle(), otherCa.bundle()))
                                  .provider(HboneTestEnv.provider()).build())
                     .threads(1).build()) {
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () ->
                    client.open(dev.hbone.api.TunnelRequest.builder().authority(env.echo.authority())
                                                            .peerAddress(server.localAddress())
                                                            .sourceIdentity(stranger)
                                                            .expectedIdentity(env.serverId).build())
                          .get(20, TimeUnit.SECONDS));
            assertThat(((TunnelException) e.getCause()).reason())
                    .isIn(TunnelException.Reason.TLS_HANDSHAKE, TunnelException.Reason.CONNECTION_CLOSED);
            assertThat(serverSaw.get(20, TimeUnit.SECONDS).getMessage()).contains("UNTRUSTED_CHAIN");
            client.drain(Duration.ofMillis(100)).get(10, TimeUnit.SECONDS);
        } finally {
            pipelineLog.detachAppender(tail);
        }
        assertThat(tail.list).extracting(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                             .noneMatch(m -> m.contains("reached at the tail of the pipeline"));
    }

    @Test
    void answers503WhenTheUpstreamConnectTimesOut() throws Exception {
        // A listener whose accept queue is full: further SYNs are dropped, so connecting hangs.
        try (java.nio.channels.ServerSocketChannel full = java.nio.channels.ServerSocketChannel.open()
                .bind(new java.net.InetSocketAddress("127.0.0.1", 0), 1)) {
            List<java.nio.channels.SocketChannel> fillers = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    java.nio.channels.SocketChannel c = java.nio.channels.SocketChannel.open();
                    c.configureBlocking(false);
                    c.connect(full.getLocalAddress());
                    fillers.add(c);
                }
                int port = ((java.net.InetSocketAddress) full.getLocalAddress()).getPort();
                NettyHboneServer server = env.server(TcpForwarder.builder().connectTimeout(Duration.ofMillis(300))
                                                                 .build(), TunnelListener.NOOP);
                TunnelException e = openFails(env.client(), server, "127.0.0.1:" + port);
                assertThat(e.status()).hasValue(503);
            } finally {
                for (java.nio.channels.SocketChannel c : fillers) {
                    c.close();
                }
            }
        }
    }

    @Test
    void aResetWithAnErrorCodeFailsTheReader() throws Exception {
        NettyHboneServer server = env.server(t -> {
            Http2StreamChannel ch = ((NettyIncomingTunnel) t).acceptChannel(new ChannelInboundHandlerAdapter());
            ch.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.INTERNAL_ERROR));
        }, TunnelListener.NOOP);
        Tunnel tunnel = env.client().open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS);
        assertThatThrownBy(() -> TunnelIo.readAll(tunnel).get(20, TimeUnit.SECONDS))
                .cause().isInstanceOf(TunnelException.class)
                .satisfies(e -> {
                    TunnelException te = (TunnelException) e;
                    assertThat(te.reason()).isEqualTo(TunnelException.Reason.RESET);
                    assertThat(te.resetCode()).hasValue(Http2Error.INTERNAL_ERROR.code());
                });
        assertThat(tunnel.closeFuture().get(10, TimeUnit.SECONDS).failure()).isPresent();
    }
}
