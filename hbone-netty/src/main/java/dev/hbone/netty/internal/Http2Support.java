package dev.hbone.netty.internal;

import dev.hbone.netty.HboneDefaults;
import io.netty.channel.Channel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2RemoteFlowController;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.UniformStreamByteDistributor;

/** The HTTP/2 codecs with HBONE's settings and the abuse limits, for both sides. */
public final class Http2Support {
    /** HTTP/2 error codes HBONE reads as a clean end of stream. */
    public static final long NO_ERROR = 0x0;
    public static final long CANCEL = 0x8;

    private Http2Support() { }

    /**
     * The RST_STREAM limits of one connection: resets received (any code) and error resets sent (any code but
     * NO_ERROR and CANCEL) per window of {@code windowSeconds}.
     */
    public record ResetLimits(int maxReceived, int maxErrorsSent, int windowSeconds) {
        public static final ResetLimits DEFAULT = of(HboneDefaults.MAX_RESETS_RECEIVED_PER_WINDOW,
                                                     HboneDefaults.MAX_ERROR_RESETS_SENT_PER_WINDOW,
                                                     HboneDefaults.RST_WINDOW);

        public ResetLimits {
            if (maxReceived < 1 || maxErrorsSent < 1 || windowSeconds < 1) {
                throw new IllegalArgumentException("reset limits and window must be positive: " + maxReceived + ", "
                                                   + maxErrorsSent + ", " + windowSeconds + " s");
            }
        }

        /** Validates; the window is rounded to whole seconds (Netty's unit), at least one. */
        public static ResetLimits of(int maxReceived, int maxErrorsSent, java.time.Duration window) {
            long seconds = window.toSeconds();
            if (window.isNegative() || window.isZero() || seconds > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("window must be between 1 s and " + Integer.MAX_VALUE + " s: "
                                                   + window);
            }
            return new ResetLimits(maxReceived, maxErrorsSent, (int) Math.max(1, seconds));
        }
    }

    public static Http2FrameCodec serverCodec(long gracefulShutdownMillis) {
        return serverCodec(gracefulShutdownMillis, ResetLimits.DEFAULT, FrameGuard.GoAwaySent.NONE);
    }

    public static Http2FrameCodec serverCodec(long gracefulShutdownMillis, ResetLimits resets,
                                              FrameGuard.GoAwaySent goAwaySent) {
        Http2Settings settings = new Http2Settings()
                .initialWindowSize(HboneDefaults.STREAM_WINDOW)
                .maxFrameSize(HboneDefaults.MAX_FRAME_SIZE)
                .maxConcurrentStreams(HboneDefaults.SERVER_MAX_CONCURRENT_STREAMS)
                .maxHeaderListSize(HboneDefaults.SERVER_MAX_HEADER_LIST_SIZE);
        return build(new HboneCodecBuilder(true), settings, gracefulShutdownMillis, resets, goAwaySent);
    }

    public static Http2FrameCodec clientCodec(long gracefulShutdownMillis) {
        return clientCodec(gracefulShutdownMillis, ResetLimits.DEFAULT, FrameGuard.GoAwaySent.NONE);
    }

    public static Http2FrameCodec clientCodec(long gracefulShutdownMillis, ResetLimits resets,
                                              FrameGuard.GoAwaySent goAwaySent) {
        Http2Settings settings = new Http2Settings()
                .pushEnabled(false)
                .initialWindowSize(HboneDefaults.STREAM_WINDOW)
                .maxFrameSize(HboneDefaults.MAX_FRAME_SIZE)
                .maxHeaderListSize(HboneDefaults.CLIENT_MAX_HEADER_LIST_SIZE);
        return build(new HboneCodecBuilder(false), settings, gracefulShutdownMillis, resets, goAwaySent);
    }

    private static Http2FrameCodec build(Http2FrameCodecBuilder builder, Http2Settings settings,
                                         long gracefulShutdownMillis, ResetLimits resets,
                                         FrameGuard.GoAwaySent goAwaySent) {
        FrameGuard guard = new FrameGuard(HboneDefaults.MAX_IDLE_FRAMES_PER_WINDOW,
                                          HboneDefaults.IDLE_FRAMES_PER_STREAM,
                                          HboneDefaults.MAX_WINDOW_UPDATES_PER_DATA_FRAME_SENT,
                                          resets.windowSeconds(), goAwaySent);
        Http2FrameCodec codec = withLimits(builder, settings, gracefulShutdownMillis, resets)
                .frameLogger(guard)
                .build();
        guard.attach(codec.connection());
        return withoutCopies(codec);
    }

    /**
     * Frames are cut out of the decrypted bytes without copying them. A DATA frame may be 1 MiB (our and ztunnel's
     * MAX_FRAME_SIZE) while TLS hands over at most 16 KiB per record: Netty's default cumulator copied the records into
     * one buffer that grew by reallocation, up to the frame's size, for every large frame (with the proxy's 512 MiB
     * heap, buffers that large were not even pooled: each was freshly allocated and zeroed). A composite cumulation
     * keeps the decrypted buffers as they are; the frame's payload is a slice of them, spliced to the TCP side as is.
     */
    private static Http2FrameCodec withoutCopies(Http2FrameCodec codec) {
        codec.setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
        return codec;
    }

    /**
     * Netty's builder with one change: the bytes a connection may send are shared among its busy streams in chunks of
     * at least {@link HboneDefaults#STREAM_WRITE_QUANTUM}, without priorities (HBONE has none). Netty's default, a
     * weighted fair queue with a 1 KiB quantum, cut the DATA of concurrent streams on a pooled connection into ~1 KiB
     * frames, each one a frame header, a buffer and a promise, copied together again into TLS records: 16 busy
     * streams on one connection cost over twice the CPU per byte of 16 streams on 16 connections.
     */
    private static final class HboneCodecBuilder extends Http2FrameCodecBuilder {
        HboneCodecBuilder(boolean server) {
            DefaultHttp2Connection connection = new DefaultHttp2Connection(server);
            UniformStreamByteDistributor distributor = new UniformStreamByteDistributor(connection);
            distributor.minAllocationChunk(HboneDefaults.STREAM_WRITE_QUANTUM);
            connection.remote().flowController(new DefaultHttp2RemoteFlowController(connection, distributor));
            connection(connection);
        }
    }

    private static Http2FrameCodecBuilder withLimits(Http2FrameCodecBuilder b, Http2Settings settings,
                                                     long gracefulShutdownMillis, ResetLimits resets) {
        return b.initialSettings(settings)
                .validateHeaders(true)
                .gracefulShutdownTimeoutMillis(gracefulShutdownMillis)
                // Netty counts every RST_STREAM received on a live stream (CANCEL included): sized for pooled
                // connections that cancel many tunnels, still far below a Rapid Reset burst.
                .decoderEnforceMaxRstFramesPerWindow(resets.maxReceived(), resets.windowSeconds())
                // Netty counts only the error resets we send (not NO_ERROR/CANCEL): MadeYouReset.
                .encoderEnforceMaxRstFramesPerWindow(resets.maxErrorsSent(), resets.windowSeconds())
                .decoderEnforceMaxConsecutiveEmptyDataFrames(HboneDefaults.MAX_CONSECUTIVE_EMPTY_DATA_FRAMES)
                .decoderEnforceMaxSmallContinuationFrames(HboneDefaults.MAX_SMALL_CONTINUATION_FRAMES)
                .encoderEnforceMaxQueuedControlFrames(HboneDefaults.MAX_QUEUED_CONTROL_FRAMES);
    }

    /** Raises the connection-level receive window from 64 KiB to {@link HboneDefaults#CONNECTION_WINDOW}. */
    public static void growConnectionWindow(Http2FrameCodec codec, Channel channel) {
        try {
            var connection = codec.connection();
            int delta = HboneDefaults.CONNECTION_WINDOW - Http2CodecUtil.DEFAULT_WINDOW_SIZE;
            connection.local().flowController().incrementWindowSize(connection.connectionStream(), delta);
            channel.flush();
        } catch (Exception e) {
            channel.pipeline().fireExceptionCaught(e);
        }
    }
}
