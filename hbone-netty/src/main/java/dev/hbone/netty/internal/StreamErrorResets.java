package dev.hbone.netty.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2FrameStreamException;
import io.netty.handler.codec.http2.Http2Stream;

/**
 * Sits between the {@code Http2FrameCodec} and the {@code Http2MultiplexHandler} and answers a stream error the peer
 * caused (a zero WINDOW_UPDATE, a malformed header block, a flow-control violation...) with RST_STREAM carrying the
 * error's own code.
 *
 * <p>Without it the codec leaves the reset to the multiplexer, which force-closes the stream channel and so sends
 * RST_STREAM(CANCEL) — a code Netty's outbound reset limit ({@code encoderEnforceMaxRstFramesPerWindow}) does not
 * count, because a local cancel is normal. A peer could then make the server reset streams without limit after it
 * has started work on them (MadeYouReset, CVE-2025-8671). With the error's code (PROTOCOL_ERROR,
 * FLOW_CONTROL_ERROR...) each such reset counts, and the connection gets GOAWAY(ENHANCE_YOUR_CALM) at the limit.
 * The multiplexer's later close finds the stream already reset and sends nothing more.
 */
public final class StreamErrorResets extends ChannelInboundHandlerAdapter {
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Http2FrameStreamException e && e.stream() != null
                && e.stream().state() != Http2Stream.State.CLOSED && e.stream().state() != Http2Stream.State.IDLE) {
            ctx.writeAndFlush(new DefaultHttp2ResetFrame(e.error()).stream(e.stream()));
        }
        ctx.fireExceptionCaught(cause);
    }
}
