package dev.hbone.netty.internal;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;

/**
 * Drops {@code read()} requests on a socket whose input is already shut down (FIN received). Netty's epoll
 * transport fails such a read with {@code epoll_ctl(..) ENOENT} and closes the socket — losing the other direction,
 * which a half-closed TCP connection still needs (e.g. a client that sends its request and FIN before the relay
 * toward its upstream is in place). {@link dev.hbone.netty.ChannelSplice} installs it on every TCP side it relays;
 * callers that read before splicing (the node proxy's listeners) add it themselves.
 */
@ChannelHandler.Sharable
public final class HalfClosedReadGuard extends ChannelOutboundHandlerAdapter {
    /** The shared instance. */
    public static final HalfClosedReadGuard INSTANCE = new HalfClosedReadGuard();

    private HalfClosedReadGuard() { }

    @Override
    public void read(ChannelHandlerContext ctx) {
        if (ctx.channel() instanceof DuplexChannel d && d.isInputShutdown()) {
            return;
        }
        ctx.read();
    }
}
