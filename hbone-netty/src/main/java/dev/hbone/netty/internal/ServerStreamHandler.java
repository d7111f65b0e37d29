package dev.hbone.netty.internal;

import dev.hbone.api.Authority;
import dev.hbone.api.RefusalStatus;
import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelHandler;
import dev.hbone.api.TunnelInfo;
import dev.hbone.api.TunnelListener;
import dev.hbone.netty.NettyIncomingTunnel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelPromise;
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
import io.spiffe.spiffeid.SpiffeId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

import static java.util.Objects.requireNonNull;

/**
 * The first handler of every server-side stream: validates the CONNECT, hands it to the {@link TunnelHandler},
 * writes the answer, and afterwards guards the HBONE rules (no DATA before the 200, no HEADERS after it).
 */
public final class ServerStreamHandler extends ChannelDuplexHandler implements NettyIncomingTunnel {
    private static final Logger log = LoggerFactory.getLogger(ServerStreamHandler.class);

    private final Http2StreamChannel channel;
    private final ServerConnection connection;
    private final TunnelHandler handler;
    private final TunnelListener listener;
    // A field and an updater, not an AtomicBoolean: one object less per open tunnel.
    private static final AtomicIntegerFieldUpdater<ServerStreamHandler> ANSWERED =
            AtomicIntegerFieldUpdater.newUpdater(ServerStreamHandler.class, "answered");
    private volatile int answered;
    private final CompletableFuture<Void> cancelled = new CompletableFuture<>();

    // Event-loop state.
    private boolean requestSeen;
    private boolean established;
    private boolean raw;
    private long openedNanos;
    private long bytesIn;
    private long bytesOut;
    private TunnelException rawFailure;
    private TunnelInfo info;
    private Authority authority;

    public ServerStreamHandler(Http2StreamChannel channel, ServerConnection connection, TunnelHandler handler,
                               TunnelListener listener) {
        this.channel = channel;
        this.connection = connection;
        this.handler = handler;
        this.listener = listener;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (established) {
            if (msg instanceof Http2DataFrame data) {
                bytesIn += data.content().readableBytes();
            }
            if (msg instanceof Http2HeadersFrame) {
                ReferenceCountUtil.release(msg);
                if (raw && rawFailure == null) {
                    rawFailure = TunnelException.of(TunnelException.Reason.PROTOCOL_ERROR, "HEADERS frame after the 200");
                }
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.PROTOCOL_ERROR))
                   .addListener(f -> channel.close());
                return;
            }
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            if (msg instanceof Http2HeadersFrame headers && !requestSeen) {
                requestSeen = true;
                onRequest(ctx, headers);
            } else if (msg instanceof Http2DataFrame) {
                refuseNow(RefusalStatus.BAD_REQUEST, "DATA before the 200");
            } else if (msg instanceof Http2HeadersFrame) {
                refuseNow(RefusalStatus.BAD_REQUEST, "second HEADERS before the 200");
            } else if (msg instanceof Http2ResetFrame) {
                cancelled.complete(null);
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onRequest(ChannelHandlerContext ctx, Http2HeadersFrame frame) {
        ConnectRequests.Verdict verdict = ConnectRequests.check(frame.headers(), frame.isEndStream());
        if (verdict instanceof ConnectRequests.Malformed m) {
            resetMalformed(m.reason());
            return;
        }
        if (verdict instanceof ConnectRequests.Refused r) {
            refuseNow(RefusalStatus.BAD_REQUEST, r.reason());
            return;
        }
        ConnectRequests.Accepted request = (ConnectRequests.Accepted) verdict;
        authority = request.authority();
        if (connection.peerIdentity() == null) {
            // Only on a server built for conformance testing without client certificates: no identity, no tunnel.
            refuseNow(RefusalStatus.UNAUTHORIZED, "the client presented no certificate");
            return;
        }
        String authorityText = request.authorityText();
        info = new TunnelInfo(connection.localIdentity(), connection.peerIdentity(), authorityText,
                              (InetSocketAddress) connection.channel().localAddress(),
                              (InetSocketAddress) connection.channel().remoteAddress(), request.headers());
        try {
            handler.handle(this);
        } catch (RuntimeException e) {
            log.warn("tunnel handler failed for {}", authorityText, e);
            refuse(RefusalStatus.SERVICE_UNAVAILABLE, "handler failed: " + e);
        }
    }

    /**
     * A malformed request is a stream error of type PROTOCOL_ERROR (RFC 9113 section 8.1.1): RST_STREAM, no answer. It
     * counts toward the error-reset limit like any other reset a peer provokes.
     */
    private void resetMalformed(String reason) {
        answered = 1;
        Listeners.failed(listener, "", TunnelException.of(TunnelException.Reason.PROTOCOL_ERROR, "malformed request: " + reason));
        log.debug("resetting stream {}: malformed request: {}", channel.stream().id(), reason);
        channel.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.PROTOCOL_ERROR)).addListener(f -> channel.close());
    }

    private void refuseNow(RefusalStatus status, String reason) {
        if (!ANSWERED.compareAndSet(this, 0, 1)) {
            // The handler already answered 200 from another thread; the client broke the rules anyway.
            channel.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.PROTOCOL_ERROR))
                   .addListener(f -> channel.close());
            return;
        }
        writeRefusal(status, reason);
    }

    private void writeRefusal(RefusalStatus status, String reason) {
        String authorityText = info != null ? info.authority() : authority != null ? authority.toString() : "";
        Listeners.failed(listener, authorityText, TunnelException.refused(status.code()));
        log.debug("refusing CONNECT {} with {}: {}", authorityText, status.code(), reason);
        Http2Headers response = new DefaultHttp2Headers().status(Integer.toString(status.code()));
        channel.writeAndFlush(new DefaultHttp2HeadersFrame(response, true)).addListener(f -> channel.close());
    }

    // NettyIncomingTunnel

    @Override
    public TunnelInfo info() {
        return info;
    }

    @Override
    public Authority authority() {
        return authority;
    }

    @Override
    public Http2StreamChannel channel() {
        return channel;
    }

    @Override
    public Tunnel accept() {
        StreamTunnel tunnel = new StreamTunnel(channel, info, listener);
        establish(tunnel);
        return tunnel;
    }

    @Override
    public Http2StreamChannel acceptChannel(ChannelHandler next) {
        requireNonNull(next, "handler");
        establish(next);
        return channel;
    }

    private void establish(ChannelHandler next) {
        if (!ANSWERED.compareAndSet(this, 0, 1)) {
            throw new IllegalStateException("this tunnel was already answered");
        }
        Runnable task = () -> {
            try {
                channel.pipeline().addLast(next);
            } catch (RuntimeException e) {
                // E.g. a handler that is not @Sharable and already in use: refuse instead of leaving the CONNECT
                // unanswered (or the exception on an event loop).
                log.warn("cannot install the handler of tunnel {}", info.authority(), e);
                writeRefusal(RefusalStatus.SERVICE_UNAVAILABLE, "cannot install the tunnel's handler: " + e);
                return;
            }
            if (!channel.isActive()) {
                // The client left while the upstream was being connected; the new handler sees channelInactive.
                channel.pipeline().fireChannelInactive();
                return;
            }
            established = true;
            raw = !(next instanceof StreamTunnel); // a StreamTunnel reports its own totals
            openedNanos = System.nanoTime();
            channel.config().setAutoRead(false);
            channel.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"), false));
            Listeners.opened(listener, info);
        };
        // Inline on the stream's loop, so that a caller there can add its handlers before any read happens.
        if (channel.eventLoop().inEventLoop()) {
            task.run();
        } else {
            channel.eventLoop().execute(task);
        }
    }

    @Override
    public void refuse(RefusalStatus status, String reason) {
        requireNonNull(status, "status");
        requireNonNull(reason, "reason");
        if (!ANSWERED.compareAndSet(this, 0, 1)) {
            throw new IllegalStateException("this tunnel was already answered");
        }
        channel.eventLoop().execute(() -> writeRefusal(status, reason));
    }

    @Override
    public CompletableFuture<Void> cancelled() {
        return cancelled;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        // RST_STREAM arrives as a user event (Http2MultiplexHandler); before an answer it means the client gave up.
        if (evt instanceof Http2ResetFrame rst) {
            if (!established) {
                cancelled.complete(null);
            } else if (rst.errorCode() != Http2Support.NO_ERROR && rst.errorCode() != Http2Support.CANCEL) {
                rawFailure = TunnelException.reset(rst.errorCode());
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * Http2MultiplexHandler forwards TLS-caused connection failures to every active stream. Once established, the
     * tunnel's handler after this one owns the stream's failures; before that, this is the last handler: the
     * connection is going away, so end the stream here rather than let the exception reach the pipeline's tail.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (established) {
            if (raw && rawFailure == null) {
                rawFailure = TunnelException.of(TunnelException.Reason.CONNECTION_CLOSED,
                                                String.valueOf(cause.getMessage()), cause);
            }
            ctx.fireExceptionCaught(cause);
            return;
        }
        log.debug("stream {} of {} failed before an answer: {}", channel.stream().id(), channel.parent().remoteAddress(),
                  cause.toString());
        cancelled.complete(null);
        channel.close();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (raw && msg instanceof Http2DataFrame data) {
            bytesOut += data.content().readableBytes();
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelled.complete(null);
        if (established && raw) {
            Listeners.closed(listener, info, new dev.hbone.api.TunnelStats(
                    bytesOut, bytesIn, java.time.Duration.ofNanos(System.nanoTime() - openedNanos),
                    Optional.ofNullable(rawFailure)));
        }
        ctx.fireChannelInactive();
    }

    SpiffeId peerIdentity() {
        return connection.peerIdentity();
    }
}
