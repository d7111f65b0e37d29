package dev.hbone.netty.internal;

import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelListener;
import dev.hbone.netty.TlsBindings;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.spiffe.spiffeid.SpiffeId;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One client HBONE connection (over a TCP socket, or — for double HBONE — over an outer tunnel's stream): runs the
 * mTLS handshake, checks ALPN and installs HTTP/2; then counts the streams the pool has handed out on it.
 */
public final class ClientConnection extends ChannelInboundHandlerAdapter {
    private final SSLEngine engine;
    private final TlsEngineFactory tls;
    private final TlsBindings bindings;
    private final SpiffeId localIdentity;
    private final ClientSettings settings;
    private final CompletableFuture<ClientConnection> ready = new CompletableFuture<>();
    private final Consumer<ClientConnection> onGoingAway;
    private Channel channel;
    private volatile SpiffeId peerIdentity;
    private volatile Http2FrameCodec codec;

    // Guarded by this.
    private int reserved;
    private boolean goingAway;
    private ScheduledFuture<?> idleTimer;

    /** What every connection of one client shares. */
    public record ClientSettings(int maxStreams, long idleTimeoutNanos, long pingIntervalNanos,
                                 long pingTimeoutNanos, long gracefulShutdownMillis,
                                 Http2Support.ResetLimits resetLimits, TunnelListener listener) {
        public ClientSettings {
            java.util.Objects.requireNonNull(resetLimits, "resetLimits");
            java.util.Objects.requireNonNull(listener, "listener");
        }
    }

    /**
     * Adds TLS and this handler to {@code channel}'s pipeline (a fresh TCP channel or an outer tunnel stream).
     */
    public static ClientConnection install(Channel channel, TlsEngineFactory tls, TlsBindings bindings,
                                           SpiffeId localIdentity, Set<SpiffeId> expectedPeers,
                                           long handshakeTimeoutMillis, ClientSettings settings,
                                           Consumer<ClientConnection> onGoingAway) {
        SSLEngine engine = tls.newEngine(channel.alloc());
        bindings.bind(engine, localIdentity, expectedPeers);
        SslHandler ssl = new SslHandler(engine);
        ssl.setHandshakeTimeoutMillis(handshakeTimeoutMillis);
        ClientConnection connection = new ClientConnection(engine, tls, bindings, localIdentity, settings, onGoingAway);
        channel.pipeline().addLast(ssl, connection);
        return connection;
    }

    private ClientConnection(SSLEngine engine, TlsEngineFactory tls, TlsBindings bindings, SpiffeId localIdentity,
                             ClientSettings settings, Consumer<ClientConnection> onGoingAway) {
        this.engine = engine;
        this.tls = tls;
        this.bindings = bindings;
        this.localIdentity = localIdentity;
        this.settings = settings;
        this.onGoingAway = onGoingAway;
    }

    /** Completes when HTTP/2 is ready, or fails with a {@link TunnelException}. */
    public CompletableFuture<ClientConnection> ready() {
        return ready;
    }

    public Channel channel() {
        return channel;
    }

    public SpiffeId localIdentity() {
        return localIdentity;
    }

    public SpiffeId peerIdentity() {
        return peerIdentity;
    }

    /** Takes a stream slot if this connection can carry one more stream. */
    public synchronized boolean tryReserve() {
        if (goingAway || !channel.isActive() || reserved >= maxStreams()) {
            return false;
        }
        reserved++;
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
        return true;
    }

    /** Gives a stream slot back; an idle connection is closed after the idle timeout. */
    public void release(Runnable onIdle) {
        boolean closeNow = false;
        synchronized (this) {
            reserved--;
            if (reserved == 0) {
                if (goingAway) {
                    closeNow = true;
                } else {
                    idleTimer = channel.eventLoop().schedule(onIdle, settings.idleTimeoutNanos(), TimeUnit.NANOSECONDS);
                }
            }
        }
        if (closeNow) {
            channel.close();
        }
    }

    /** Whether no stream is open (for the pool's idle check). */
    public synchronized boolean isIdle() {
        return reserved == 0;
    }

    public synchronized int reservedStreams() {
        return reserved;
    }

    public synchronized boolean isGoingAway() {
        return goingAway;
    }

    /** Takes no new streams from now on; closes when the last one ends. */
    public void goAway() {
        boolean closeNow;
        synchronized (this) {
            goingAway = true;
            closeNow = reserved == 0;
        }
        onGoingAway.accept(this);
        if (closeNow) {
            channel.close();
        }
    }

    private int maxStreams() {
        Http2FrameCodec c = codec;
        int peerLimit = c == null ? Integer.MAX_VALUE : c.connection().local().maxActiveStreams();
        return Math.min(settings.maxStreams(), peerLimit);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent done) {
            bindings.unbind(engine);
            if (!done.isSuccess()) {
                fail(ctx, TunnelException.of(TunnelException.Reason.TLS_HANDSHAKE,
                                             "TLS handshake with " + ctx.channel().remoteAddress() + " failed: "
                                             + rootMessage(done.cause()), done.cause()));
                return;
            }
            String alpn = engine.getApplicationProtocol(); // SslHandler.applicationProtocol() is null for plain JDK engines
            if (!ApplicationProtocolNames.HTTP_2.equals(alpn)) {
                fail(ctx, TunnelException.of(TunnelException.Reason.TLS_HANDSHAKE, "peer did not negotiate ALPN h2 ("
                                                                                   + alpn + ')'));
                return;
            }
            String sessionRefusal = tls.sessionRefusal(engine.getSession());
            if (sessionRefusal != null) {
                fail(ctx, TunnelException.of(TunnelException.Reason.TLS_HANDSHAKE, "TLS session with "
                                                                                   + ctx.channel().remoteAddress()
                                                                                   + " refused: " + sessionRefusal));
                return;
            }
            try {
                peerIdentity = PeerIdentity.of(engine.getSession());
            } catch (SSLPeerUnverifiedException e) {
                fail(ctx, TunnelException.of(TunnelException.Reason.TLS_HANDSHAKE, e.getMessage(), e));
                return;
            }
            Http2FrameCodec c = Http2Support.clientCodec(settings.gracefulShutdownMillis(), settings.resetLimits(),
                    FrameGuard.GoAwaySent.reportingTo(settings.listener(),
                                                      "HTTP/2 connection to " + ctx.channel().remoteAddress()));
            ctx.pipeline().addBefore(ctx.name(), null, c);
            ctx.pipeline().addBefore(ctx.name(), null, new StreamErrorResets());
            ctx.pipeline().addBefore(ctx.name(), null, new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                @Override
                protected void initChannel(Http2StreamChannel ch) {
                    ch.close(); // servers cannot push (push is disabled); refuse anything else inbound
                }
            }));
            ctx.pipeline().addBefore(ctx.name(), null,
                                     new KeepaliveHandler(settings.pingIntervalNanos(), settings.pingTimeoutNanos()));
            Http2Support.growConnectionWindow(c, ctx.channel());
            codec = c;
            ready.complete(this);
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2GoAwayFrame) {
            goAway();
        }
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        bindings.unbind(engine);
        ready.completeExceptionally(TunnelException.of(TunnelException.Reason.CONNECTION_CLOSED,
                                                       "connection to " + ctx.channel().remoteAddress()
                                                       + " closed during setup"));
        synchronized (this) {
            goingAway = true;
        }
        onGoingAway.accept(this);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!ready.isDone()) {
            // The handshake failure event follows and names the reason; keep the first cause here.
            return;
        }
        if (!(cause instanceof Http2Exception)) {
            // HTTP/2 errors are the codec's: it sends GOAWAY with the right code, then closes.
            ctx.close();
        }
    }

    private void fail(ChannelHandlerContext ctx, TunnelException e) {
        ready.completeExceptionally(e);
        ctx.close();
    }

    static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root == t ? String.valueOf(t.getMessage()) : t.getMessage() + " (" + root.getMessage() + ')';
    }
}
