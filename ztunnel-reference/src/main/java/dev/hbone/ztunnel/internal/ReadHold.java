package dev.hbone.ztunnel.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * Holds what a client socket reads while its upstream is being opened, and replays it once the relay is in place.
 * Needed although autoRead is off: on EPOLLRDHUP (data followed by FIN) Netty's epoll transport reads anyway, so
 * the bytes and the input-shutdown event would otherwise reach the pipeline's tail and be lost.
 */
public final class ReadHold extends ChannelInboundHandlerAdapter {
    private final ArrayDeque<Object> held = new ArrayDeque<>();
    private boolean holding;

    /**
     * @param holding whether to hold from the start (otherwise from {@link #hold()})
     */
    public ReadHold(boolean holding) {
        this.holding = holding;
    }

    /** Starts holding (on the channel's event loop). */
    public void hold() {
        holding = true;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (holding) {
            held.add(msg);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (holding && evt instanceof ChannelInputShutdownEvent) {
            held.add(evt);
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    /** Replays what was held to the handlers after this one, which must now be in place. */
    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        boolean any = !held.isEmpty();
        Object m;
        while ((m = held.poll()) != null) {
            if (m instanceof ChannelInputShutdownEvent) {
                ctx.fireUserEventTriggered(m);
            } else if (ctx.channel().isActive()) {
                ctx.fireChannelRead(m);
            } else {
                ReferenceCountUtil.release(m);
            }
        }
        if (any) {
            ctx.fireChannelReadComplete();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Object m;
        while ((m = held.poll()) != null) {
            ReferenceCountUtil.release(m);
        }
        ctx.fireChannelInactive();
    }
}
