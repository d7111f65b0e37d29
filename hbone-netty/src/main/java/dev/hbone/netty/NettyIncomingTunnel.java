package dev.hbone.netty;

import dev.hbone.api.IncomingTunnel;
import io.netty.channel.ChannelHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;

/**
 * An {@link IncomingTunnel} on Netty, which can also be accepted as the raw {@link Http2StreamChannel} for
 * zero-copy splicing to another Netty channel.
 */
public interface NettyIncomingTunnel extends IncomingTunnel {
    /**
     * Answers 200 and hands the stream over as a Netty channel: {@code handler} is added to its pipeline in the same
     * event-loop task that writes the 200, before any DATA is read, and the channel's autoRead is left off — the
     * handler reads when it is ready (e.g. {@link ChannelSplice}). Inbound messages are
     * {@link io.netty.handler.codec.http2.Http2DataFrame}s and {@link io.netty.handler.codec.http2.Http2ResetFrame}s;
     * HBONE's rules (no HEADERS after the 200) are enforced before the handler.
     */
    Http2StreamChannel acceptChannel(ChannelHandler handler);

    /** The stream's channel, for its event loop and allocator; do not read or write it before accepting. */
    Http2StreamChannel channel();
}
