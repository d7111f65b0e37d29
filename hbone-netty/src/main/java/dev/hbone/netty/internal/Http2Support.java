package dev.hbone.netty.internal;

import dev.hbone.netty.HboneDefaults;
import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Settings;

/** The HTTP/2 codecs with HBONE's settings and the abuse limits, for both sides. */
public final class Http2Support {
    /** HTTP/2 error codes HBONE reads as a clean end of stream. */
    public static final long NO_ERROR = 0x0;
    public static final long CANCEL = 0x8;

    private Http2Support() { }

    public static Http2FrameCodec serverCodec(long gracefulShutdownMillis) {
        Http2Settings settings = new Http2Settings()
                .initialWindowSize(HboneDefaults.STREAM_WINDOW)
                .maxFrameSize(HboneDefaults.MAX_FRAME_SIZE)
                .maxConcurrentStreams(HboneDefaults.SERVER_MAX_CONCURRENT_STREAMS)
                .maxHeaderListSize(HboneDefaults.SERVER_MAX_HEADER_LIST_SIZE);
        return withLimits(Http2FrameCodecBuilder.forServer(), settings, gracefulShutdownMillis).build();
    }

    public static Http2FrameCodec clientCodec(long gracefulShutdownMillis) {
        Http2Settings settings = new Http2Settings()
                .pushEnabled(false)
                .initialWindowSize(HboneDefaults.STREAM_WINDOW)
                .maxFrameSize(HboneDefaults.MAX_FRAME_SIZE)
                .maxHeaderListSize(HboneDefaults.CLIENT_MAX_HEADER_LIST_SIZE);
        return withLimits(Http2FrameCodecBuilder.forClient(), settings, gracefulShutdownMillis).build();
    }

    private static Http2FrameCodecBuilder withLimits(Http2FrameCodecBuilder b, Http2Settings settings,
                                                     long gracefulShutdownMillis) {
        return b.initialSettings(settings)
                .validateHeaders(true)
                .gracefulShutdownTimeoutMillis(gracefulShutdownMillis)
                .decoderEnforceMaxRstFramesPerWindow(HboneDefaults.MAX_RST_FRAMES_PER_WINDOW,
                                                     HboneDefaults.RST_WINDOW_SECONDS)
                .encoderEnforceMaxRstFramesPerWindow(HboneDefaults.MAX_RST_FRAMES_PER_WINDOW,
                                                     HboneDefaults.RST_WINDOW_SECONDS)
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
