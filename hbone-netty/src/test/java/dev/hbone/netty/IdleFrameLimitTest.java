package dev.hbone.netty;

import dev.hbone.api.RefusalStatus;
import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelListener;
import dev.hbone.netty.testing.HboneTestEnv;
import dev.hbone.netty.testing.RawTls;
import dev.hbone.netty.testing.TunnelIo;
import io.netty.handler.codec.http2.Http2Error;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Frames that change nothing (RST_STREAM or WINDOW_UPDATE for a closed stream, PRIORITY, unknown types) are legal
 * one by one, and no Netty limit counts them: a flood of them ends the connection with GOAWAY(ENHANCE_YOUR_CALM),
 * while a peer that races one such frame against the end of each of its streams keeps its connection.
 */
class IdleFrameLimitTest {
    private static final int HEADERS = 0x1;
    private static final int PRIORITY = 0x2;
    private static final int RST_STREAM = 0x3;
    private static final int SETTINGS = 0x4;
    private static final int PING = 0x6;
    private static final int GOAWAY = 0x7;
    private static final int WINDOW_UPDATE = 0x8;
    private static final int END_STREAM = 0x1;
    private static final int END_HEADERS = 0x4;
    private static final byte[] CANCEL = {0, 0, 0, 8};

    private HboneTestEnv env;
    private NettyHboneServer server;
    private final BlockingQueue<TunnelException> failures = new LinkedBlockingQueue<>();

    @BeforeEach
    void setUp() throws Exception {
        env = new HboneTestEnv();
        TcpForwarder forwarder = TcpForwarder.builder().build();
        // A CONNECT with END_STREAM is answered at once (400, END_STREAM): the stream is then closed, with no reset.
        server = env.server(t -> {
            if (t.authority().port() == 7) {
                t.refuse(RefusalStatus.SERVICE_UNAVAILABLE, "refused in a test");
            } else {
                forwarder.handle(t);
            }
        }, new TunnelListener() {
            @Override
            public void onFailed(String authority, TunnelException failure) {
                if (failure.reason() == TunnelException.Reason.PROTOCOL_ERROR) {
                    failures.add(failure); // not the refusals of the requests below
                }
            }
        });
    }

    @AfterEach
    void tearDown() throws Exception {
        env.close();
    }

    private static byte[] frame(int type, int flags, int stream, byte[] payload) {
        return RawTls.frame(type, flags, stream, payload, payload.length);
    }

    private static byte[] refusedRequest(int stream) {
        byte[] block = RawTls.hpack(":method", "CONNECT", ":authority", "127.0.0.1:7");
        return frame(HEADERS, END_HEADERS | END_STREAM, stream, block);
    }

    /** One frame read from the server: type, flags, stream, and the first 4 (GOAWAY: 4 after the first 4) bytes. */
    private record Frame(int type, int flags, int stream, long code) { }

    /** Reads frames until a PING ack or the end of the connection. */
    private static List<Frame> untilPingAck(InputStream in) throws IOException {
        return until(in, f -> f.type() == PING && (f.flags() & 0x1) != 0);
    }

    /** Reads frames until one matches {@code last} (included) or the end of the connection. */
    private static List<Frame> until(InputStream in, java.util.function.Predicate<Frame> last) throws IOException {
        DataInputStream data = new DataInputStream(in);
        List<Frame> frames = new ArrayList<>();
        byte[] header = new byte[9];
        try {
            while (true) {
                data.readFully(header);
                int length = ((header[0] & 0xff) << 16) | ((header[1] & 0xff) << 8) | (header[2] & 0xff);
                int type = header[3] & 0xff;
                int flags = header[4] & 0xff;
                int stream = ((header[5] & 0x7f) << 24) | ((header[6] & 0xff) << 16) | ((header[7] & 0xff) << 8)
                             | (header[8] & 0xff);
                byte[] payload = new byte[length];
                data.readFully(payload);
                int at = type == GOAWAY ? 4 : 0;
                long code = payload.length >= at + 4 ? ((long) (payload[at] & 0xff) << 24
                        | (payload[at + 1] & 0xff) << 16 | (payload[at + 2] & 0xff) << 8 | (payload[at + 3] & 0xff))
                        : -1;
                Frame f = new Frame(type, flags, stream, code);
                frames.add(f);
                if (last.test(f)) {
                    return frames;
                }
            }
        } catch (IOException end) {
            return frames; // closed (EOF, reset or alert): what arrived is the answer
        }
    }

    private SSLSocket connect(OutputStream[] out) throws Exception {
        SSLSocket s = RawTls.connect(env.clientSvid(), server.localAddress(), "h2");
        out[0] = s.getOutputStream();
        out[0].write(RawTls.PREFACE);
        out[0].write(frame(SETTINGS, 0, 0, new byte[0]));
        return s;
    }

    /** After a closed request, {@code flood} ends the connection with GOAWAY(ENHANCE_YOUR_CALM), reported. */
    private void assertGoAwayEnhanceYourCalm(byte[] flood) throws Exception {
        assertGoAwayEnhanceYourCalm(flood, "frames that change nothing");
    }

    private void assertGoAwayEnhanceYourCalm(byte[] flood, String reported) throws Exception {
        OutputStream[] out = new OutputStream[1];
        try (SSLSocket s = connect(out)) {
            out[0].write(refusedRequest(1));
            out[0].write(frame(PING, 0, 0, new byte[8]));
            out[0].flush();
            List<Frame> first = untilPingAck(s.getInputStream());
            assertThat(first).as("the request was answered and closed").anySatisfy(f -> {
                assertThat(f.type()).isEqualTo(HEADERS);
                assertThat(f.flags() & END_STREAM).isNotZero();
            });
            floodUntilGoAwayEnhanceYourCalm(s, out[0], flood);
        }
        assertReported(reported);
        // Other connections are unaffected.
        Tunnel good = env.client().open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS);
        var read = TunnelIo.readAll(good);
        String written = TunnelIo.writeRandom(good, 10_000, 1, 4096).get(20, TimeUnit.SECONDS);
        assertThat(read.get(20, TimeUnit.SECONDS).sha256()).isEqualTo(written);
    }

    /** Sends {@code flood} five times (or until the server closes); its last GOAWAY must be ENHANCE_YOUR_CALM. */
    private static void floodUntilGoAwayEnhanceYourCalm(SSLSocket s, OutputStream out, byte[] flood) {
        try {
            for (int i = 0; i < 5; i++) {
                out.write(flood);
            }
            out.flush();
        } catch (IOException closedWhileWeSent) {
            // the server may close before the whole flood went out
        }
        List<long[]> goAways;
        try {
            goAways = RawTls.frames(RawTls.readToEnd(s.getInputStream()), GOAWAY);
        } catch (IOException e) {
            throw new AssertionError("no input stream", e);
        }
        assertThat(goAways).as("GOAWAY after the flood").isNotEmpty();
        assertThat(goAways.get(goAways.size() - 1)[1]).isEqualTo(Http2Error.ENHANCE_YOUR_CALM.code());
    }

    /** The server's listener hears of the GOAWAY: the code, and what the peer did. */
    private void assertReported(String what) throws InterruptedException {
        TunnelException reported = failures.poll(20, TimeUnit.SECONDS);
        assertThat(reported).isNotNull();
        assertThat(reported.reason()).isEqualTo(TunnelException.Reason.PROTOCOL_ERROR);
        assertThat(reported.goAwayCode()).hasValue(Http2Error.ENHANCE_YOUR_CALM.code());
        assertThat(reported.getMessage()).contains("closed with GOAWAY(ENHANCE_YOUR_CALM)", what);
    }

    private static byte[] repeat(byte[] frame, int times) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(frame.length * times);
        for (int i = 0; i < times; i++) {
            b.writeBytes(frame);
        }
        return b.toByteArray();
    }

    @Test
    void floodOfResetsForAClosedStreamGetsGoAwayEnhanceYourCalm() throws Exception {
        assertGoAwayEnhanceYourCalm(repeat(frame(RST_STREAM, 0, 1, CANCEL), HboneDefaults.MAX_IDLE_FRAMES_PER_WINDOW));
    }

    @Test
    void floodOfWindowUpdatesForAClosedStreamGetsGoAwayEnhanceYourCalm() throws Exception {
        assertGoAwayEnhanceYourCalm(repeat(frame(WINDOW_UPDATE, 0, 1, new byte[] {0, 0, 0, 1}),
                                           HboneDefaults.MAX_IDLE_FRAMES_PER_WINDOW));
    }

    @Test
    void floodOfWindowUpdatesOnAnOpenStreamGetsGoAwayEnhanceYourCalm() throws Exception {
        // A tunnel that is open and idle: the server sent no DATA, so window updates have nothing to return.
        OutputStream[] out = new OutputStream[1];
        try (SSLSocket s = connect(out)) {
            byte[] block = RawTls.hpack(":method", "CONNECT", ":authority", env.echo.authority());
            out[0].write(frame(HEADERS, END_HEADERS, 1, block));
            out[0].flush();
            List<Frame> answer = until(s.getInputStream(), f -> f.type() == HEADERS || f.type() == GOAWAY);
            assertThat(answer.get(answer.size() - 1)).as("the tunnel is open (the 200)").satisfies(f -> {
                assertThat(f.type()).isEqualTo(HEADERS);
                assertThat(f.stream()).isEqualTo(1);
            });
            floodUntilGoAwayEnhanceYourCalm(s, out[0], repeat(frame(WINDOW_UPDATE, 0, 1, new byte[] {0, 0, 0, 1}),
                                                              HboneDefaults.MAX_IDLE_FRAMES_PER_WINDOW));
        }
        assertReported("WINDOW_UPDATE and PING frames (last: WINDOW_UPDATE) for 0 DATA frames sent");
    }

    @Test
    void aBusyTunnelsWindowUpdatesAreNoFlood() throws Exception {
        // 64 MiB through the echo in both directions on one connection: the client returns window for every DATA
        // frame it reads, and the server's budget grows with the DATA it sends.
        Tunnel t = env.client().open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS);
        var read = TunnelIo.readAll(t);
        String written = TunnelIo.writeRandom(t, 64 << 20, 3, 16 << 10).get(60, TimeUnit.SECONDS);
        assertThat(read.get(60, TimeUnit.SECONDS).sha256()).isEqualTo(written);
        assertThat(failures).as("no connection error reported").isEmpty();
    }

    @Test
    void aReceiverReturningWindowForEveryDataFrameIsNoFlood() throws Exception {
        // Our stream window is 1 KiB, so the server echoes 2 MiB as ~2 000 small DATA frames, and we return window
        // for each one at once, on the stream and on the connection: ~4 000 WINDOW_UPDATEs, four times the base
        // budget, all within the allowance per DATA frame sent.
        int total = 2 << 20;
        OutputStream[] out = new OutputStream[1];
        long received = 0;
        try (SSLSocket s = RawTls.connect(env.clientSvid(), server.localAddress(), "h2")) {
            s.setTcpNoDelay(true); // one small frame at a time, answered at once
            out[0] = s.getOutputStream();
            out[0].write(RawTls.PREFACE);
            out[0].write(frame(SETTINGS, 0, 0, new byte[] {0, 4, 0, 0, 4, 0})); // INITIAL_WINDOW_SIZE 1024
            byte[] block = RawTls.hpack(":method", "CONNECT", ":authority", env.echo.authority());
            out[0].write(frame(HEADERS, END_HEADERS, 1, block));
            out[0].flush();
            List<Frame> answer = until(s.getInputStream(), f -> f.type() == HEADERS || f.type() == GOAWAY);
            assertThat(answer.get(answer.size() - 1).type()).as("the 200").isEqualTo(HEADERS);
            // Acknowledge the server's SETTINGS: its 4 MiB stream window applies from then on.
            assertThat(answer).anySatisfy(f -> assertThat(f.type()).isEqualTo(SETTINGS));
            out[0].write(frame(SETTINGS, 0x1, 0, new byte[0]));
            // In rounds (no second thread, so no write can block a window update): 64 KiB out, then read the echo
            // back, returning window for each DATA frame on the stream and on the connection.
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] header = new byte[9];
            byte[] chunk = new byte[8 << 10];
            int sent = 0;
            while (received < total) {
                for (int k = 0; k < 8 && sent < total; k++, sent += chunk.length) {
                    out[0].write(frame(0x0, 0, 1, chunk));
                }
                out[0].flush();
                while (received < sent) {
                    in.readFully(header);
                    int length = ((header[0] & 0xff) << 16) | ((header[1] & 0xff) << 8) | (header[2] & 0xff);
                    int type = header[3] & 0xff;
                    byte[] payload = new byte[length];
                    in.readFully(payload);
                    long after = received;
                    assertThat(type).as(() -> "no GOAWAY after " + after + " bytes: "
                            + new String(payload, java.nio.charset.StandardCharsets.ISO_8859_1)).isNotEqualTo(GOAWAY);
                    if (type == PING && (header[4] & 0x1) == 0) {
                        out[0].write(frame(PING, 0x1, 0, payload)); // the server's keepalive
                    }
                    if (type == 0x0 && length > 0) {
                        received += length;
                        byte[] increment = {(byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8),
                                            (byte) length};
                        out[0].write(frame(WINDOW_UPDATE, 0, 1, increment));
                        out[0].write(frame(WINDOW_UPDATE, 0, 0, increment));
                    }
                }
            }
        }
        assertThat(received).isEqualTo(total);
        assertThat(failures).as("no connection error reported").isEmpty();
    }

    @Test
    void floodOfPriorityFramesGetsGoAwayEnhanceYourCalm() throws Exception {
        assertGoAwayEnhanceYourCalm(repeat(frame(PRIORITY, 0, 3, new byte[] {0, 0, 0, 1, 16}),
                                           HboneDefaults.MAX_IDLE_FRAMES_PER_WINDOW));
    }

    @Test
    void floodOfPingsGetsGoAwayEnhanceYourCalm() throws Exception {
        // We read the answers (at the end; they fit in the socket buffers): Netty's limit on queued answers never
        // trips, the budget of PINGs per DATA frame sent does.
        assertGoAwayEnhanceYourCalm(repeat(frame(PING, 0, 0, new byte[8]), HboneDefaults.MAX_IDLE_FRAMES_PER_WINDOW),
                                    "PING frames");
    }

    @Test
    void floodOfSettingsGetsGoAwayEnhanceYourCalm() throws Exception {
        assertGoAwayEnhanceYourCalm(repeat(frame(SETTINGS, 0, 0, new byte[0]), HboneDefaults.MAX_IDLE_FRAMES_PER_WINDOW),
                                    "SETTINGS");
    }

    @Test
    void floodOfUnknownFramesGetsGoAwayEnhanceYourCalm() throws Exception {
        assertGoAwayEnhanceYourCalm(repeat(frame(0xfa, 0, 0, new byte[4]), HboneDefaults.MAX_IDLE_FRAMES_PER_WINDOW));
    }

    @Test
    void aResetRacedAgainstTheEndOfEveryStreamIsNoFlood() throws Exception {
        // More streams than the base budget, each followed (once answered and closed) by a RST_STREAM and a
        // WINDOW_UPDATE for it: twice the base budget of idle frames in all, within the per-stream allowance.
        int streams = HboneDefaults.MAX_IDLE_FRAMES_PER_WINDOW;
        int batch = 100;
        OutputStream[] out = new OutputStream[1];
        int answered = 0;
        try (SSLSocket s = connect(out)) {
            for (int first = 0; first < streams; first += batch) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                for (int i = first; i < first + batch; i++) {
                    b.writeBytes(refusedRequest(1 + 2 * i));
                }
                b.writeBytes(frame(PING, 0, 0, new byte[8]));
                out[0].write(b.toByteArray());
                out[0].flush();
                List<Frame> got = untilPingAck(s.getInputStream());
                assertThat(got).as("nothing but answers, no reset and no GOAWAY")
                               .allSatisfy(f -> assertThat(f.type()).isIn(HEADERS, PING, SETTINGS, WINDOW_UPDATE));
                answered += (int) got.stream().filter(f -> f.type() == HEADERS).count();
                // The streams are closed now: a frame for each of them changes nothing.
                b.reset();
                for (int i = first; i < first + batch; i++) {
                    b.writeBytes(frame(RST_STREAM, 0, 1 + 2 * i, CANCEL));
                    b.writeBytes(frame(WINDOW_UPDATE, 0, 1 + 2 * i, new byte[] {0, 0, 0, 1}));
                }
                out[0].write(b.toByteArray());
            }
            out[0].write(frame(PING, 0, 0, new byte[8]));
            out[0].flush();
            List<Frame> last = untilPingAck(s.getInputStream());
            assertThat(last).as("still open after %d idle frames", 2 * streams)
                            .noneSatisfy(f -> assertThat(f.type()).isEqualTo(GOAWAY))
                            .anySatisfy(f -> assertThat(f.type()).isEqualTo(PING));
        }
        assertThat(answered).isEqualTo(streams);
        assertThat(failures).as("no connection error reported").isEmpty();
    }
}
