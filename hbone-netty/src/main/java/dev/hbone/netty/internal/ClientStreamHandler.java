package dev.hbone.netty.internal;

import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelInfo;
import dev.hbone.api.TunnelListener;
import dev.hbone.api.TunnelRequest;
import dev.hbone.api.TunnelStats;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The first handler of a client stream: sends the CONNECT, waits for the answer, and on 200 installs the handler
 * that carries the tunnel; afterwards it guards HBONE's rules (HEADERS after the 200 resets the stream). For raw
 * channels ({@link #reportRaw}) it also counts the payload bytes each way and reports the tunnel to the
 * {@link TunnelListener}, as {@link ServerStreamHandler} does on the server side.
 */
public final class ClientStreamHandler extends ChannelDuplexHandler {
    private final Http2StreamChannel channel;
    private final CompletableFuture<Http2StreamChannel> established;
    // Dropped once the answer is in: it holds the request (headers and all) for as long as the tunnel lives.
    private Function<Http2StreamChannel, ChannelHandler> onEstablished;
    private boolean open;

    // Raw-channel reporting (event-loop state); listener == null when a StreamTunnel reports instead.
    private TunnelListener listener;
    private TunnelInfo info;
    private long openedNanos;
    private long bytesIn;
    private long bytesOut;
    private TunnelException rawFailure;

    public ClientStreamHandler(Http2StreamChannel channel, CompletableFuture<Http2StreamChannel> established,
                               Function<Http2StreamChannel, ChannelHandler> onEstablished) {
        this.channel = channel;
        this.established = established;
        this.onEstablished = onEstablished;
    }

    /** The CONNECT request for {@code request}, with extra headers (e.g. x-forwarded-network) after its own. */
    public static Http2Headers connectHeaders(TunnelRequest request, Map<String, String> extra) {
        Http2Headers h = new DefaultHttp2Headers()
                .method(HttpMethod.CONNECT.asciiName())
                .authority(request.authority());
        request.headers().forEach(h::add);
        extra.forEach(h::set);
        return h;
    }

    /**
     * Reports this stream as a raw tunnel: {@code onOpened} once the tunnel's handler is in place (the 200 arrived),
     * {@code onClosed} with the bytes counted here when the stream ends. Called on the event loop while the 200 is
     * handled.
     */
    public void reportRaw(TunnelListener listener, TunnelInfo info) {
        this.listener = listener;
        this.info = info;
        this.openedNanos = System.nanoTime();
    }

    /** Sends the request; called once the stream channel is registered. */
    public void sendRequest(Http2Headers headers) {
        channel.writeAndFlush(new DefaultHttp2HeadersFrame(headers, false)).addListener(f -> {
            if (!f.isSuccess()) {
                fail(TunnelException.of(TunnelException.Reason.CONNECTION_CLOSED,
                                        "cannot send the CONNECT: " + f.cause(), f.cause()));
                channel.close();
            }
        });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (open) {
            if (listener != null && msg instanceof Http2DataFrame data) {
                bytesIn += data.content().readableBytes();
            }
            if (msg instanceof Http2HeadersFrame) {
                ReferenceCountUtil.release(msg);
                rawFailed(TunnelException.of(TunnelException.Reason.PROTOCOL_ERROR, "HEADERS frame after the 200"));
                ctx.fireExceptionCaught(TunnelException.of(TunnelException.Reason.PROTOCOL_ERROR,
                                                           "HEADERS frame after the 200"));
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.PROTOCOL_ERROR)).addListener(f -> channel.close());
                return;
            }
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            if (msg instanceof Http2HeadersFrame headers) {
                Function<Http2StreamChannel, ChannelHandler> establish = onEstablished;
                onEstablished = null;
                CharSequence status = headers.headers().status();
                if (status != null && "200".contentEquals(status) && !headers.isEndStream()) {
                    try {
                        channel.pipeline().addLast(establish.apply(channel));
                    } catch (RuntimeException e) {
                        // E.g. a handler that is not @Sharable and already in use: fail the opener now rather than
                        // let the exception reach the pipeline's tail and the opener wait for its timeout.
                        listener = null;
                        fail(TunnelException.of(TunnelException.Reason.CONNECTION_CLOSED,
                                                "cannot install the tunnel's handler: " + e, e));
                        channel.close();
                        return;
                    }
                    open = true;
                    if (listener != null) {
                        Listeners.opened(listener, info);
                    }
                    channel.config().setAutoRead(false);
                    if (!established.complete(channel)) {
                        channel.close(); // the opener gave up (timeout) meanwhile
                    }
                } else {
                    int code = parseStatus(status);
                    fail(code == 200 ? TunnelException.of(TunnelException.Reason.PROTOCOL_ERROR, "200 with END_STREAM")
                                     : code < 0 ? TunnelException.of(TunnelException.Reason.PROTOCOL_ERROR,
                                                                     "response without a valid :status")
                                                : TunnelException.refused(code));
                    channel.close();
                }
            } else if (msg instanceof Http2DataFrame) {
                fail(TunnelException.of(TunnelException.Reason.PROTOCOL_ERROR, "DATA before the response"));
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.PROTOCOL_ERROR)).addListener(f -> channel.close());
            } else if (msg instanceof Http2ResetFrame rst) {
                fail(TunnelException.reset(rst.errorCode()));
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        // RST_STREAM arrives as a user event (Http2MultiplexHandler).
        if (evt instanceof Http2ResetFrame rst) {
            if (!open) {
                fail(TunnelException.reset(rst.errorCode()));
            } else if (rst.errorCode() != Http2Support.NO_ERROR && rst.errorCode() != Http2Support.CANCEL) {
                rawFailed(TunnelException.reset(rst.errorCode()));
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * Before the answer, this is the stream's last handler. Http2MultiplexHandler forwards connection failures caused
     * by TLS (e.g. the server's alert refusing our certificate, which TLS 1.3 delivers after our handshake completed)
     * to every active stream, so they end here: fail the opener with the reason instead of reaching the pipeline's
     * tail.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (open) {
            rawFailed(TunnelException.of(TunnelException.Reason.CONNECTION_CLOSED, String.valueOf(cause.getMessage()),
                                         cause));
            ctx.fireExceptionCaught(cause);
            return;
        }
        boolean tls = false;
        for (Throwable t = cause; t != null && !tls; t = t.getCause() == t ? null : t.getCause()) {
            tls = t instanceof javax.net.ssl.SSLException;
        }
        fail(TunnelException.of(tls ? TunnelException.Reason.TLS_HANDSHAKE : TunnelException.Reason.CONNECTION_CLOSED,
                                (tls ? "the peer refused the TLS session: " : "connection failed before the response: ")
                                + ClientConnection.rootMessage(cause), cause));
        channel.close();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (listener != null && msg instanceof Http2DataFrame data) {
            bytesOut += data.content().readableBytes();
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        fail(TunnelException.of(TunnelException.Reason.CONNECTION_CLOSED, "stream closed before the response"));
        if (listener != null) {
            TunnelListener l = listener;
            listener = null; // once
            Listeners.closed(l, info, new TunnelStats(bytesOut, bytesIn, Duration.ofNanos(System.nanoTime() - openedNanos),
                                                      Optional.ofNullable(rawFailure)));
        }
        ctx.fireChannelInactive();
    }

    private void rawFailed(TunnelException e) {
        if (listener != null && rawFailure == null) {
            rawFailure = e;
        }
    }

    private void fail(TunnelException e) {
        established.completeExceptionally(e);
    }

    private static int parseStatus(CharSequence status) {
        if (status == null || status.length() != 3) {
            return -1;
        }
        try {
            return Integer.parseInt(status.toString());
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
