package dev.hbone.ztunnel.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * Holds what a client socket reads while its upstream is being opened, and replays it once the relay is in place.
 * The socket keeps autoRead on meanwhile (up to {@link #LIMIT} held bytes): with autoRead off, Netty's epoll
 * transport still reads on EPOLLRDHUP (data followed by FIN), and a later {@code read()} on that half-closed socket
 * fails ({@code epoll_ctl} ENOENT) and closes it — a client that sends its request and FIN at once would lose
 * the answer.
 */
public final class ReadHold extends ChannelInboundHandlerAdapter {
    /** Held bytes above which the socket stops reading until the relay starts. */
    public static final int LIMIT = 1024 * 1024;

    private final ArrayDeque<Object> held = new ArrayDeque<>();
    private long heldBytes;
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
            if (msg instanceof io.netty.buffer.ByteBuf b) {
                heldBytes += b.readableBytes();
                if (heldBytes > LIMIT) {
                    ctx.channel().config().setAutoRead(false);
                }
            }
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

    /**
     * Stops holding, replays what was held to the handlers after this one (which must now be in place) and leaves
     * the pipeline. Call on the channel's event loop.
     */
    public void release(Channel channel) {
        ChannelHandlerContext ctx = channel.pipeline().context(this);
        holding = false;
        if (ctx == null) {
            return;
        }
        boolean any = !held.isEmpty();
        Object m;
        while ((m = held.poll()) != null) {
            if (m instanceof ChannelInputShutdownEvent) {
                ctx.fireUserEventTriggered(m);
            } else {
                ctx.fireChannelRead(m);
            }
        }
        if (any) {
            ctx.fireChannelReadComplete();
        }
        channel.pipeline().remove(this);
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
