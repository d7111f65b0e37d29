package dev.hbone.netty;

import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelInfo;
import dev.hbone.api.TunnelListener;
import dev.hbone.netty.testing.HboneTestEnv;
import dev.hbone.netty.testing.RawH2Client;
import dev.hbone.netty.testing.TunnelIo;
import io.netty.handler.codec.http2.Http2Error;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * RST_STREAM limits with the defaults: a Rapid Reset burst (CVE-2023-44487) ends the connection with
 * GOAWAY(ENHANCE_YOUR_CALM), while a pooled connection that cancels hundreds of tunnels (HBONE's normal early close)
 * keeps working.
 */
class ResetLimitsTest {
    private HboneTestEnv env;

    @BeforeEach
    void setUp() throws Exception {
        env = new HboneTestEnv();
    }

    @AfterEach
    void tearDown() throws Exception {
        env.close();
    }

    /**
     * Opens and cancels up to {@code max} streams in rounds of {@code round} (each round ends with a PING round trip,
     * so it goes out as a burst of thousands per second), then one per round once {@code limit} is reached: the
     * server then reads everything we sent before it closes, and its GOAWAY is not lost to a TCP reset.
     *
     * @return how many went out before the server closed the connection
     */
    private static int burst(RawH2Client raw, int max, int round, int limit) throws Exception {
        int sent = 0;
        while (sent < max) {
            int n = sent < limit ? Math.min(round, limit - sent) : 1;
            for (int i = 0; i < n; i++) {
                if (!raw.openAndCancel(RawH2Client.connect("127.0.0.1:1"))) {
                    return sent;
                }
                sent++;
            }
            if (!raw.roundTrip()) {
                return sent;
            }
        }
        return sent;
    }

    @Test
    void rapidResetBurstGetsGoAwayEnhanceYourCalm() throws Exception {
        TcpForwarder forwarder = TcpForwarder.builder().build();
        // Port 1: a CONNECT that is never answered, so every reset arrives before the answer (the costly case).
        NettyHboneServer server = env.server(t -> {
            if (t.authority().port() != 1) {
                forwarder.handle(t);
            }
        }, TunnelListener.NOOP);
        int sent = 0;
        try (RawH2Client raw = RawH2Client.connect(env, server.localAddress())) {
            // Far more than the limit, in rounds of 100 (thousands per second); ends when the server closes.
            sent = burst(raw, 20 * HboneDefaults.MAX_RESETS_RECEIVED_PER_WINDOW, 100,
                         HboneDefaults.MAX_RESETS_RECEIVED_PER_WINDOW);
            assertThat(raw.channel().closeFuture().await(20, TimeUnit.SECONDS)).as("closed after %d resets", sent)
                                                                             .isTrue();
            Object goAway = raw.connectionEvents.poll(20, TimeUnit.SECONDS);
            assertThat(goAway).isEqualTo(new RawH2Client.GoAway(Http2Error.ENHANCE_YOUR_CALM.code()));
        }
        assertThat(sent).isGreaterThan(HboneDefaults.MAX_RESETS_RECEIVED_PER_WINDOW);
        // Other connections are unaffected.
        Tunnel good = env.client().open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS);
        var read = TunnelIo.readAll(good);
        String written = TunnelIo.writeRandom(good, 10_000, 1, 4096).get(20, TimeUnit.SECONDS);
        assertThat(read.get(20, TimeUnit.SECONDS).sha256()).isEqualTo(written);
    }

    @Test
    void pooledConnectionCancellingHundredsOfTunnelsKeepsWorking() throws Exception {
        TcpForwarder forwarder = TcpForwarder.builder().build();
        Set<InetSocketAddress> clientConnections = ConcurrentHashMap.newKeySet();
        // Port 1: accepted without an upstream; the client cancels each one after the 200.
        NettyHboneServer server = env.server(t -> {
            if (t.authority().port() == 1) {
                t.accept();
            } else {
                forwarder.handle(t);
            }
        }, new TunnelListener() {
            @Override
            public void onOpened(TunnelInfo tunnel) {
                clientConnections.add(tunnel.remoteAddress());
            }
        });
        NettyHboneClient client = env.client();
        // Netty's default (200 RST_STREAM per 30 s) would close the connection two thirds of the way through.
        int cancels = 300;
        for (int i = 0; i < cancels; i++) {
            Tunnel t = client.open(env.request(server, "127.0.0.1:1").build()).get(20, TimeUnit.SECONDS);
            t.abort(); // RST_STREAM(CANCEL)
            t.closeFuture().get(20, TimeUnit.SECONDS);
        }
        Tunnel good = client.open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS);
        var read = TunnelIo.readAll(good);
        String written = TunnelIo.writeRandom(good, 10_000, 2, 4096).get(20, TimeUnit.SECONDS);
        assertThat(read.get(20, TimeUnit.SECONDS).sha256()).isEqualTo(written);
        assertThat(clientConnections).as("every tunnel on the one pooled connection").hasSize(1);
        assertThat(client.pooledConnections()).isEqualTo(1);
    }

    @Test
    void madeYouResetGetsGoAwayEnhanceYourCalm() throws Exception {
        // MadeYouReset (CVE-2025-8671): the client makes the server send error resets (here HEADERS after the 200,
        // answered with RST_STREAM(PROTOCOL_ERROR)); one more than the limit ends the connection.
        NettyHboneServer server = env.server(); // forwards to the echo upstream, reading the stream as it goes
        try (RawH2Client raw = RawH2Client.connect(env, server.localAddress())) {
            int provoked = 0;
            while (provoked <= HboneDefaults.MAX_ERROR_RESETS_SENT_PER_WINDOW && raw.channel().isActive()) {
                RawH2Client.RawStream s = raw.open(RawH2Client.connect(env.echo.authority()), false, null);
                Object answer = s.next();
                if (answer == RawH2Client.CLOSED) {
                    break;
                }
                assertThat(((io.netty.handler.codec.http2.Http2HeadersFrame) answer).headers().status().toString())
                        .isEqualTo("200");
                s.sendHeaders(new io.netty.handler.codec.http2.DefaultHttp2Headers().add("x-trailer", "1"), true);
                Object reset = s.next();
                if (reset instanceof io.netty.handler.codec.http2.Http2ResetFrame rst) {
                    assertThat(rst.errorCode()).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
                    provoked++;
                } else {
                    break; // the connection went away
                }
            }
            assertThat(raw.channel().closeFuture().await(20, TimeUnit.SECONDS)).as("closed after %d", provoked)
                                                                             .isTrue();
            assertThat(raw.connectionEvents.poll(20, TimeUnit.SECONDS))
                    .isEqualTo(new RawH2Client.GoAway(Http2Error.ENHANCE_YOUR_CALM.code()));
        }
    }

    @Test
    void codecStreamErrorsAreResetWithTheirCodeAndCountTowardTheLimit() throws Exception {
        // MadeYouReset through the codec: a zero WINDOW_UPDATE on an open stream is a stream error the codec hands to
        // the multiplexer. It must answer RST_STREAM(PROTOCOL_ERROR) -- counted by the outbound reset limit -- not
        // RST_STREAM(CANCEL), which is not counted and would let a peer make the server reset streams forever.
        NettyHboneServer server = env.server();
        try (javax.net.ssl.SSLSocket s = dev.hbone.netty.testing.RawTls.connect(env.clientSvid(), server.localAddress(),
                                                                                 "h2")) {
            java.io.ByteArrayOutputStream frames = new java.io.ByteArrayOutputStream();
            frames.write(dev.hbone.netty.testing.RawTls.PREFACE);
            frames.write(dev.hbone.netty.testing.RawTls.frame(0x4, 0, 0, new byte[0], 0));
            byte[] block = dev.hbone.netty.testing.RawTls.hpack(":method", "CONNECT", ":authority",
                                                                env.echo.authority());
            int streams = HboneDefaults.MAX_ERROR_RESETS_SENT_PER_WINDOW + 1; // all read before the close: no TCP reset
            for (int i = 0; i < streams; i++) {
                int id = 1 + 2 * i;
                frames.write(dev.hbone.netty.testing.RawTls.frame(0x1, 0x4, id, block, block.length));
                frames.write(dev.hbone.netty.testing.RawTls.frame(0x8, 0, id, new byte[4], 4)); // increment 0
            }
            s.getOutputStream().write(frames.toByteArray());
            s.getOutputStream().flush();
            byte[] answer = dev.hbone.netty.testing.RawTls.readToEnd(s.getInputStream());
            java.util.List<long[]> resets = dev.hbone.netty.testing.RawTls.frames(answer, 0x3);
            assertThat(resets).isNotEmpty().allSatisfy(r -> assertThat(r[1]).as("reset code")
                    .isEqualTo(Http2Error.PROTOCOL_ERROR.code()));
            java.util.List<long[]> goAways = dev.hbone.netty.testing.RawTls.frames(answer, 0x7);
            assertThat(goAways).isNotEmpty();
            assertThat(goAways.get(goAways.size() - 1)[1]).isEqualTo(Http2Error.ENHANCE_YOUR_CALM.code());
        }
    }

    @Test
    void limitsAreConfigurable() throws Exception {
        NettyHboneServer server = env.server(t -> { }, TunnelListener.NOOP, env.serverId,
                                             b -> b.resetLimits(5, 5, java.time.Duration.ofSeconds(60)));
        try (RawH2Client raw = RawH2Client.connect(env, server.localAddress())) {
            burst(raw, 1000, 3, 5);
            assertThat(raw.channel().closeFuture().await(20, TimeUnit.SECONDS)).isTrue();
            Object goAway = raw.connectionEvents.poll(20, TimeUnit.SECONDS);
            assertThat(goAway).isEqualTo(new RawH2Client.GoAway(Http2Error.ENHANCE_YOUR_CALM.code()));
        }
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () ->
                NettyHboneClient.builder().resetLimits(0, 1, java.time.Duration.ofSeconds(1)));
    }
}
