package dev.hbone.netty.internal;

import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelHandler;
import dev.hbone.api.TunnelListener;
import dev.hbone.netty.TlsBindings;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.spiffe.spiffeid.SpiffeId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * One accepted HBONE connection: waits for the mTLS handshake, checks ALPN {@code h2}, then installs the HTTP/2
 * codec and the stream multiplexer. Lives on the connection's pipeline after the {@link SslHandler}.
 */
public final class ServerConnection extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);

    private final SSLEngine engine;
    private final TlsEngineFactory tls;
    private final TlsBindings bindings;
    private final SpiffeId localIdentity;
    private final TunnelHandler handler;
    private final TunnelListener listener;
    private final ServerSettings settings;
    private Channel channel;
    private SpiffeId peerIdentity;
    private Http2FrameCodec codec;

    /** What every connection of one server shares. */
    public record ServerSettings(long gracefulShutdownMillis, long pingIntervalNanos, long pingTimeoutNanos,
                                 Http2Support.ResetLimits resetLimits) { }

    public ServerConnection(SSLEngine engine, TlsEngineFactory tls, TlsBindings bindings, SpiffeId localIdentity,
                            TunnelHandler handler, TunnelListener listener, ServerSettings settings) {
        this.engine = engine;
        this.tls = tls;
        this.bindings = bindings;
        this.localIdentity = localIdentity;
        this.handler = handler;
        this.listener = listener;
        this.settings = settings;
    }

    public SpiffeId localIdentity() {
        return localIdentity;
    }

    /** The SPIFFE ID the client proved; null only on a server without client certificates (conformance testing). */
    public SpiffeId peerIdentity() {
        return peerIdentity;
    }

    public Channel channel() {
        return channel;
    }

    /** The HTTP/2 codec once the handshake is done, else null. */
    public Http2FrameCodec codec() {
        return codec;
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
                log.debug("HBONE handshake from {} failed: {}", ctx.channel().remoteAddress(), done.cause().toString());
                refused(ctx, "TLS handshake from " + ctx.channel().remoteAddress() + " failed: "
                             + ClientConnection.rootMessage(done.cause()), done.cause());
                return;
            }
            String alpn = engine.getApplicationProtocol(); // SslHandler.applicationProtocol() is null for plain JDK engines
            if (!ApplicationProtocolNames.HTTP_2.equals(alpn)) {
                log.debug("closing {}: ALPN is {}, not h2", ctx.channel().remoteAddress(), alpn);
                refused(ctx, "ALPN from " + ctx.channel().remoteAddress() + " is " + alpn + ", not h2", null);
                return;
            }
            String sessionRefusal = tls.sessionRefusal(engine.getSession());
            if (sessionRefusal != null) {
                log.debug("closing {}: {}", ctx.channel().remoteAddress(), sessionRefusal);
                refused(ctx, "TLS session from " + ctx.channel().remoteAddress() + " refused: " + sessionRefusal, null);
                return;
            }
            try {
                // A conformance-testing server asks for no certificate: the peer has no identity (CONNECTs get 401).
                peerIdentity = tls.requiresClientCertificate() ? PeerIdentity.of(engine.getSession()) : null;
            } catch (SSLPeerUnverifiedException e) {
                log.debug("closing {}: {}", ctx.channel().remoteAddress(), e.getMessage());
                ctx.close();
                return;
            }
            codec = Http2Support.serverCodec(settings.gracefulShutdownMillis(), settings.resetLimits(),
                    FrameGuard.GoAwaySent.reportingTo(listener,
                                                      "HTTP/2 connection from " + ctx.channel().remoteAddress()));
            ServerConnection self = this;
            ctx.pipeline().addBefore(ctx.name(), null, codec);
            ctx.pipeline().addBefore(ctx.name(), null, new StreamErrorResets());
            ctx.pipeline().addBefore(ctx.name(), null, new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
                @Override
                protected void initChannel(Http2StreamChannel ch) {
                    ch.pipeline().addLast(new ServerStreamHandler(ch, self, handler, listener));
                }
            }));
            ctx.pipeline().addBefore(ctx.name(), null,
                                     new KeepaliveHandler(settings.pingIntervalNanos(), settings.pingTimeoutNanos()));
            Http2Support.growConnectionWindow(codec, ctx.channel());
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** A connection refused before any CONNECT: reported (authority unknown) and closed. */
    private void refused(ChannelHandlerContext ctx, String message, Throwable cause) {
        Listeners.failed(listener, "", TunnelException.of(TunnelException.Reason.TLS_HANDSHAKE, message, cause));
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        bindings.unbind(engine);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("HBONE connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        if (!(cause instanceof Http2Exception)) {
            // HTTP/2 errors are the codec's: it sends GOAWAY with the right code, then closes.
            ctx.close();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        // Connection-level frames the multiplexer passes on (SETTINGS, GOAWAY, acked PINGs are consumed earlier).
        io.netty.util.ReferenceCountUtil.release(msg);
    }
}
