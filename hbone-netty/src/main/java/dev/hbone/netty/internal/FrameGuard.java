package dev.hbone.netty.internal;

import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelListener;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Flags;
import io.netty.handler.codec.http2.Http2FrameLogger;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.logging.LogLevel;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Watches the frames of one HTTP/2 connection: it reports every GOAWAY with an error this side sends (the peer broke
 * HTTP/2 or one of the abuse limits: a flood, a frame too large...), and it closes a connection whose peer sends too
 * many frames that change nothing — RST_STREAM or WINDOW_UPDATE for a stream that is no longer open, PRIORITY,
 * SETTINGS, acks of nothing, frames of unknown type — or too many WINDOW_UPDATEs and PINGs for the DATA it was sent.
 * Each is legal on its own, and none is answered, so none trips Netty's limits (its reset limit counts resets of live streams; its control-frame limit counts answers queued
 * toward a peer that does not read) — a flood of them costs parsing for as long as the attacker keeps sending. The
 * budget per window is {@code base} plus {@code perStream} for every stream opened on the connection in the window;
 * beyond it the connection ends with GOAWAY(ENHANCE_YOUR_CALM), like Netty's own limits. WINDOW_UPDATEs for open
 * streams and the connection, and PINGs, have a budget of their own: {@code base} plus {@code perDataFrame} for every
 * DATA frame sent to the peer in the window (a receiver returns window as it consumes DATA; a peer that measures the
 * bandwidth-delay product pings as DATA arrives; keepalive PINGs come seconds apart). Netty answers each PING and
 * SETTINGS at once and only limits answers queued toward a peer that does not read: without this budget, a peer
 * that reads could make the connection answer PINGs as fast as it sends them.
 *
 * <p>Netty's HTTP/2 codec shows every frame it reads to its {@link Http2FrameLogger} before acting on it, with the
 * stream state as it was before the frame, and every frame it writes: that is the hook used here (the frames are
 * still logged at TRACE on {@code dev.hbone.netty.frames}). One instance per connection, used on its event loop only.
 */
public final class FrameGuard extends Http2FrameLogger {
    /** Told of each GOAWAY with an error code this side sends. */
    @FunctionalInterface
    public interface GoAwaySent {
        /** Ignores them. */
        GoAwaySent NONE = (code, reason) -> { };

        /**
         * @param code the HTTP/2 error code (not NO_ERROR)
         * @param reason the GOAWAY's debug data: what the peer did
         */
        void goAwaySent(long code, String reason);

        /**
         * Reports each one to {@code listener} as a {@link TunnelException#connectionError}.
         *
         * @param connection names the connection in the message, e.g. {@code "HTTP/2 connection from /10.0.0.5:4123"}
         */
        static GoAwaySent reportingTo(TunnelListener listener, String connection) {
            return (code, reason) -> Listeners.failed(listener, "", TunnelException.connectionError(code,
                    connection + " closed with GOAWAY(" + errorName(code) + "): " + reason));
        }
    }

    private final int base;
    private final int perStream;
    private final int perDataFrame;
    private final long windowNanos;
    private final GoAwaySent goAwaySent;
    private Http2Connection connection;
    // The current window's counts.
    private long windowStart = System.nanoTime();
    private int idle;
    private int opened;
    private int windowUpdatesAndPings;
    private int dataSent;

    /**
     * @param base idle frames allowed per window whatever the traffic
     * @param perStream idle frames allowed per stream opened in the window
     * @param perDataFrame WINDOW_UPDATEs (open streams, the connection) and PINGs allowed per DATA frame sent in the
     *     window, beyond {@code base}
     * @param windowSeconds the (tumbling) window
     * @param goAwaySent told of each GOAWAY with an error this side sends
     */
    public FrameGuard(int base, int perStream, int perDataFrame, int windowSeconds, GoAwaySent goAwaySent) {
        super(LogLevel.TRACE, "dev.hbone.netty.frames");
        if (base < 1 || perStream < 0 || perDataFrame < 0 || windowSeconds < 1) {
            throw new IllegalArgumentException("idle frame limit: base " + base + " must be positive, per stream "
                                               + perStream + " and per DATA frame " + perDataFrame
                                               + " not negative, window " + windowSeconds + " s positive");
        }
        this.perDataFrame = perDataFrame;
        this.base = base;
        this.perStream = perStream;
        this.windowNanos = TimeUnit.SECONDS.toNanos(windowSeconds);
        this.goAwaySent = java.util.Objects.requireNonNull(goAwaySent, "goAwaySent");
    }

    /** Starts counting the streams of {@code connection} (the codec's, once built). */
    public void attach(Http2Connection connection) {
        this.connection = connection;
        connection.addListener(new Http2ConnectionAdapter() {
            @Override
            public void onStreamAdded(Http2Stream stream) {
                opened++;
            }
        });
    }

    @Override
    public void logRstStream(Direction direction, ChannelHandlerContext ctx, int streamId, long errorCode) {
        super.logRstStream(direction, ctx, streamId, errorCode);
        if (direction == Direction.INBOUND && !open(streamId)) {
            idle("RST_STREAM for a closed stream");
        }
    }

    @Override
    public void logWindowsUpdate(Direction direction, ChannelHandlerContext ctx, int streamId, int increment) {
        super.logWindowsUpdate(direction, ctx, streamId, increment);
        if (direction == Direction.INBOUND) {
            if (streamId != 0 && !open(streamId)) {
                idle("WINDOW_UPDATE for a closed stream");
            } else {
                dataPaced("WINDOW_UPDATE");
            }
        }
    }

    @Override
    public void logData(Direction direction, ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding,
                        boolean endStream) {
        super.logData(direction, ctx, streamId, data, padding, endStream);
        if (direction == Direction.OUTBOUND) {
            dataSent++; // (no clock read per DATA frame: the window rolls when a frame is counted against it)
        }
    }

    @Override
    public void logPriority(Direction direction, ChannelHandlerContext ctx, int streamId, int streamDependency,
                            short weight, boolean exclusive) {
        super.logPriority(direction, ctx, streamId, streamDependency, weight, exclusive);
        if (direction == Direction.INBOUND) {
            idle("PRIORITY");
        }
    }

    @Override
    public void logPing(Direction direction, ChannelHandlerContext ctx, long data) {
        super.logPing(direction, ctx, data);
        if (direction == Direction.INBOUND) {
            dataPaced("PING");
        }
    }

    @Override
    public void logPingAck(Direction direction, ChannelHandlerContext ctx, long data) {
        super.logPingAck(direction, ctx, data);
        if (direction == Direction.INBOUND) {
            idle("PING ack"); // we ping seconds apart: acks beyond that answer nothing
        }
    }

    @Override
    public void logSettings(Direction direction, ChannelHandlerContext ctx, Http2Settings settings) {
        super.logSettings(direction, ctx, settings);
        if (direction == Direction.INBOUND) {
            idle("SETTINGS");
        }
    }

    @Override
    public void logSettingsAck(Direction direction, ChannelHandlerContext ctx) {
        super.logSettingsAck(direction, ctx);
        if (direction == Direction.INBOUND) {
            idle("SETTINGS ack");
        }
    }

    @Override
    public void logUnknownFrame(Direction direction, ChannelHandlerContext ctx, byte frameType, int streamId,
                                Http2Flags flags, ByteBuf data) {
        super.logUnknownFrame(direction, ctx, frameType, streamId, flags, data);
        if (direction == Direction.INBOUND) {
            idle("frame of unknown type");
        }
    }

    @Override
    public void logGoAway(Direction direction, ChannelHandlerContext ctx, int lastStreamId, long errorCode,
                          ByteBuf debugData) {
        super.logGoAway(direction, ctx, lastStreamId, errorCode, debugData);
        if (direction == Direction.OUTBOUND && errorCode != Http2Error.NO_ERROR.code()) {
            goAwaySent.goAwaySent(errorCode, debugData.toString(StandardCharsets.UTF_8));
        }
    }

    /** The name of an HTTP/2 error code ({@code ENHANCE_YOUR_CALM}), or {@code 0x..} for one RFC 9113 does not name. */
    public static String errorName(long code) {
        Http2Error error = Http2Error.valueOf(code);
        return error != null ? error.name() : "0x" + Long.toHexString(code);
    }

    private boolean open(int streamId) {
        Http2Stream stream = connection == null ? null : connection.stream(streamId);
        return stream != null && stream.state() != Http2Stream.State.CLOSED;
    }

    private void roll(long now) {
        if (now - windowStart >= windowNanos) {
            windowStart = now;
            idle = 0;
            opened = 0;
            windowUpdatesAndPings = 0;
            dataSent = 0;
        }
    }

    /** A WINDOW_UPDATE for an open stream or the connection, or a PING: paced by the DATA we send. */
    private void dataPaced(String what) {
        roll(System.nanoTime());
        long allowed = base + (long) perDataFrame * dataSent;
        if (++windowUpdatesAndPings > allowed) {
            throw enhanceYourCalm("%d WINDOW_UPDATE and PING frames (last: %s) for %d DATA frames sent within %d s, "
                                  + "%d allowed", windowUpdatesAndPings, what, dataSent, windowSeconds(), allowed);
        }
    }

    private void idle(String what) {
        roll(System.nanoTime());
        long allowed = base + (long) perStream * opened;
        if (++idle > allowed) {
            throw enhanceYourCalm("%d frames that change nothing (last: %s) within %d s, %d allowed", idle, what,
                                  windowSeconds(), allowed);
        }
    }

    private long windowSeconds() {
        return TimeUnit.NANOSECONDS.toSeconds(windowNanos);
    }

    /**
     * A connection error ENHANCE_YOUR_CALM, thrown unchecked: the logger's methods cannot declare {@link
     * Http2Exception}, but Netty's frame reader, which calls them, lets it through, and its connection handler turns
     * it into GOAWAY with the exception's code.
     */
    private static RuntimeException enhanceYourCalm(String format, Object... args) {
        return FrameGuard.<RuntimeException>sneaky(
                Http2Exception.connectionError(Http2Error.ENHANCE_YOUR_CALM, format, args));
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> T sneaky(Throwable t) throws T {
        throw (T) t;
    }
}
