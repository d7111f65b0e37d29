package dev.hbone.netty;

import dev.hbone.api.IncomingTunnel;
import dev.hbone.api.TunnelListener;
import dev.hbone.netty.testing.HboneTestEnv;
import dev.hbone.netty.testing.RawH2Client;
import dev.hbone.netty.testing.RawH2Client.RawStream;
import dev.hbone.netty.testing.RawTls;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * HBONE-level bad input (security-tests.md): each gets a clear refusal, and the other tunnels on the same
 * connection carry on.
 */
class BadInputTest {
    private HboneTestEnv env;
    private NettyHboneServer server;
    private RawH2Client raw;
    private final Queue<IncomingTunnel> held = new ConcurrentLinkedQueue<>();

    @BeforeEach
    void setUp() throws Exception {
        env = new HboneTestEnv();
        TcpForwarder forwarder = TcpForwarder.builder().build();
        // Port 1 is a target whose upstream never connects: the server holds the CONNECT unanswered.
        server = env.server(t -> {
            if (t.authority().port() == 1) {
                held.add(t);
            } else {
                forwarder.handle(t);
            }
        }, TunnelListener.NOOP);
        raw = RawH2Client.connect(env, server.localAddress());
    }

    @AfterEach
    void tearDown() throws Exception {
        raw.close();
        env.close();
    }

    /** A good tunnel on the raw connection, opened before the bad input. */
    private RawStream openGood() throws Exception {
        RawStream s = raw.open(RawH2Client.connect(env.echo.authority()), false, null);
        assertThat(status(s.next())).isEqualTo("200");
        return s;
    }

    /** The good tunnel still echoes and half-closes. */
    private static void assertStillWorks(RawStream s) throws Exception {
        s.send("still here", true);
        StringBuilder got = new StringBuilder();
        while (true) {
            Object e = s.next();
            if (e instanceof RawStream.Data d) {
                got.append(d.text());
                if (d.endStream()) {
                    break;
                }
            } else {
                throw new AssertionError("unexpected " + e);
            }
        }
        assertThat(got.toString()).isEqualTo("still here");
    }

    private static String status(Object event) {
        assertThat(event).isInstanceOf(Http2HeadersFrame.class);
        return String.valueOf(((Http2HeadersFrame) event).headers().status());
    }

    /** A refusal is a 400 with END_STREAM; Netty's own header validation may answer with RST_STREAM instead. */
    private static void assertRefused(RawStream s) throws Exception {
        Object e = s.next();
        if (e instanceof Http2HeadersFrame h) {
            assertThat(String.valueOf(h.headers().status())).isEqualTo("400");
            assertThat(h.isEndStream()).isTrue();
        } else {
            assertThat(e).isInstanceOf(Http2ResetFrame.class);
            assertThat(((Http2ResetFrame) e).errorCode()).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
        }
    }

    @Test
    void refusesANonConnectMethod() throws Exception {
        RawStream good = openGood();
        RawStream bad = raw.open(new DefaultHttp2Headers().method("GET").scheme("https").path("/")
                                                         .authority(env.echo.authority()), true, null);
        assertRefused(bad);
        assertStillWorks(good);
    }

    @Test
    void refusesConnectWithPathOrScheme() throws Exception {
        RawStream good = openGood();
        assertRefused(raw.open(RawH2Client.connect(env.echo.authority()).path("/"), false, null));
        assertRefused(raw.open(RawH2Client.connect(env.echo.authority()).scheme("https"), false, null));
        assertStillWorks(good);
    }

    @Test
    void refusesMissingOrMalformedAuthorities() throws Exception {
        RawStream good = openGood();
        assertRefused(raw.open(new DefaultHttp2Headers().method("CONNECT"), false, null));
        for (String authority : List.of("foo", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", "[::1", "::1:80",
                                        "user@127.0.0.1:80", "127.0.0.1:80/x", "127.0.0.01:80", "-a.b:80", "a..b:80")) {
            assertRefused(raw.open(RawH2Client.connect(authority), false, null));
        }
        assertStillWorks(good);
    }

    @Test
    void refusesDataBeforeTheAnswer() throws Exception {
        RawStream good = openGood();
        RawStream eager = raw.open(RawH2Client.connect("127.0.0.1:1"), false, "too early");
        Object e = eager.next();
        assertThat(status(e)).isEqualTo("400");
        assertStillWorks(good);
    }

    @Test
    void resetsAStreamThatSendsHeadersAfterThe200() throws Exception {
        RawStream good = openGood();
        RawStream trailers = openGood();
        trailers.sendHeaders(new DefaultHttp2Headers().add("x-trailer", "1"), true);
        Object e = trailers.next();
        assertThat(e).isInstanceOf(Http2ResetFrame.class);
        assertThat(((Http2ResetFrame) e).errorCode()).isEqualTo(Http2Error.PROTOCOL_ERROR.code());
        assertStillWorks(good);
    }

    @Test
    void aMalformedRequestIsResetAndReportedAsAStreamProtocolError() throws Exception {
        java.util.concurrent.BlockingQueue<dev.hbone.api.TunnelException> failures =
                new java.util.concurrent.LinkedBlockingQueue<>();
        NettyHboneServer reporting = env.server(t -> { }, new TunnelListener() {
            @Override
            public void onFailed(String authority, dev.hbone.api.TunnelException failure) {
                failures.add(failure);
            }
        });
        try (SSLSocket s = RawTls.connect(env.clientSvid(), reporting.localAddress(), "h2")) {
            OutputStream out = s.getOutputStream();
            out.write(RawTls.PREFACE);
            out.write(RawTls.frame(0x4, 0, 0, new byte[0], 0));
            byte[] block = RawTls.hpack(":method", "GET", ":authority", "example.com"); // no :scheme, no :path
            out.write(RawTls.frame(0x1, 0x5, 1, block, block.length));
            out.write(RawTls.frame(0x7, 0, 0, new byte[8], 8)); // our GOAWAY ends the test connection
            out.flush();
            s.shutdownOutput();
            List<long[]> resets = RawTls.frames(RawTls.readToEnd(s.getInputStream()), 0x3);
            assertThat(resets).singleElement().satisfies(r -> assertThat(r[1]).isEqualTo(Http2Error.PROTOCOL_ERROR.code()));
        }
        dev.hbone.api.TunnelException failure = failures.poll(20, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(failure).isNotNull();
        assertThat(failure.reason()).isEqualTo(dev.hbone.api.TunnelException.Reason.PROTOCOL_ERROR);
        assertThat(failure.goAwayCode()).as("one stream, not the connection").isEmpty();
        assertThat(failure.getMessage()).startsWith("malformed request");
    }

    @Test
    void aRawServerTunnelResetForHeadersAfterThe200IsReportedAsFailed() throws Exception {
        java.util.concurrent.CompletableFuture<dev.hbone.api.TunnelStats> closed = new java.util.concurrent.CompletableFuture<>();
        NettyHboneServer rawServer = env.server(t -> {
            var stream = ((NettyIncomingTunnel) t).acceptChannel(new io.netty.channel.ChannelInboundHandlerAdapter());
            stream.config().setAutoRead(true); // a raw handler that reads
        }, new TunnelListener() {
            @Override
            public void onClosed(dev.hbone.api.TunnelInfo tunnel, dev.hbone.api.TunnelStats stats) {
                closed.complete(stats);
            }
        });
        try (RawH2Client client = RawH2Client.connect(env, rawServer.localAddress())) {
            RawStream s = client.open(RawH2Client.connect(env.echo.authority()), false, null);
            assertThat(status(s.next())).isEqualTo("200");
            s.sendHeaders(new DefaultHttp2Headers().add("x-trailer", "1"), true);
            assertThat(s.next()).isInstanceOf(Http2ResetFrame.class);
            dev.hbone.api.TunnelStats stats = closed.get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(stats.failure()).hasValueSatisfying(f -> assertThat(f.reason())
                    .isEqualTo(dev.hbone.api.TunnelException.Reason.PROTOCOL_ERROR));
        }
    }

    @Test
    void closesAConnectionWithoutTls() throws Exception {
        try (Socket s = new Socket(server.localAddress().getAddress(), server.localAddress().getPort())) {
            s.setSoTimeout(20_000);
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] answer = RawTls.readToEnd(s.getInputStream());
            assertThat(new String(answer, StandardCharsets.ISO_8859_1)).doesNotContain("HTTP/1.1 200");
        }
        assertStillWorks(openGood());
    }

    @Test
    void closesTlsWithoutAlpnH2() throws Exception {
        byte[] answer;
        try (SSLSocket s = RawTls.connect(env.clientSvid(), server.localAddress(), "http/1.1")) {
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            answer = RawTls.readToEnd(s.getInputStream());
        } catch (SSLException refusedInHandshake) {
            answer = new byte[0]; // the JDK server refuses with no_application_protocol
        }
        assertThat(answer).isEmpty();
    }

    @Test
    void refusesTls12() throws Exception {
        org.junit.jupiter.api.Assertions.assertThrows(SSLException.class, () -> {
            try (SSLSocket s = RawTls.connectWith(env.clientSvid(), server.localAddress(), "TLSv1.2", "h2")) {
                s.getOutputStream().write(RawTls.PREFACE);
                RawTls.readToEnd(s.getInputStream());
            }
        });
    }

    @Test
    void closesHttp11SpokenOverH2() throws Exception {
        try (SSLSocket s = RawTls.connect(env.clientSvid(), server.localAddress(), "h2")) {
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            byte[] answer = RawTls.readToEnd(s.getInputStream());
            assertThat(new String(answer, StandardCharsets.ISO_8859_1)).doesNotContain("HTTP/1.1");
        }
    }

    @Test
    void closesTheConnectionOnAnOversizedFrame() throws Exception {
        try (SSLSocket s = RawTls.connect(env.clientSvid(), server.localAddress(), "h2")) {
            OutputStream out = s.getOutputStream();
            out.write(RawTls.PREFACE);
            out.write(RawTls.frame(0x4, 0, 0, new byte[0], 0));                     // SETTINGS
            out.write(RawTls.frame(0x0, 0, 1, new byte[64], 2 * 1024 * 1024));     // DATA claiming 2 MiB > 1 MiB
            out.flush();
            byte[] answer = RawTls.readToEnd(s.getInputStream());
            List<long[]> goAways = RawTls.frames(answer, 0x7);
            assertThat(goAways).isNotEmpty();
            assertThat(goAways.get(goAways.size() - 1)[1]).as("GOAWAY code %s", java.util.Arrays.deepToString(goAways.toArray())).isEqualTo(Http2Error.FRAME_SIZE_ERROR.code());
        }
    }

    @Test
    void refusesStreamsAboveMaxConcurrentStreams() throws Exception {
        try (SSLSocket s = RawTls.connect(env.clientSvid(), server.localAddress(), "h2")) {
            OutputStream out = s.getOutputStream();
            ByteArrayOutputStream frames = new ByteArrayOutputStream();
            frames.write(RawTls.PREFACE);
            frames.write(RawTls.frame(0x4, 0, 0, new byte[0], 0));
            byte[] block = RawTls.hpack(":method", "CONNECT", ":authority", "127.0.0.1:1");
            int streams = HboneDefaultsAccess.serverMaxConcurrentStreams() + 1;
            for (int i = 0; i < streams; i++) {
                frames.write(RawTls.frame(0x1, 0x4, 1 + 2 * i, block, block.length)); // HEADERS, END_HEADERS
            }
            frames.write(RawTls.frame(0x7, 0, 0, new byte[8], 8)); // our GOAWAY ends the test connection
            out.write(frames.toByteArray());
            out.flush();
            s.shutdownOutput();
            byte[] answer = RawTls.readToEnd(s.getInputStream());
            List<long[]> resets = RawTls.frames(answer, 0x3);
            int last = 1 + 2 * (streams - 1);
            assertThat(resets).anySatisfy(r -> {
                assertThat(r[0]).isEqualTo(last);
                assertThat(r[1]).isEqualTo(Http2Error.REFUSED_STREAM.code());
            });
            // Only the excess stream was refused.
            assertThat(resets).allSatisfy(r -> assertThat(r[0]).isEqualTo(last));
        } catch (javax.net.ssl.SSLException e) {
            throw new AssertionError("connection dropped instead of refusing one stream", e);
        }
    }

    /** Keeps the limit in one place. */
    private static final class HboneDefaultsAccess {
        static int serverMaxConcurrentStreams() {
            return HboneDefaults.SERVER_MAX_CONCURRENT_STREAMS;
        }
    }
}
