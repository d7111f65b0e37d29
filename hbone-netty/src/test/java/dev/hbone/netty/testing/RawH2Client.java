package dev.hbone.netty.testing;

import dev.hbone.netty.internal.TlsEngineFactory;
import dev.hbone.netty.internal.Transports;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;

import javax.net.ssl.SSLEngine;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A deliberately lax HTTP/2 client over our mTLS, for sending what a real HBONE client never would. Each stream
 * records what it receives.
 */
public final class RawH2Client implements AutoCloseable {
    /** Marks the end of a stream channel in {@link RawStream#events}. */
    public static final Object CLOSED = "CLOSED";

    private final Channel channel;

    private RawH2Client(Channel channel) {
        this.channel = channel;
    }

    public static RawH2Client connect(HboneTestEnv env, InetSocketAddress server) throws Exception {
        env.tls.loadIdentity(env.clientId).get(10, TimeUnit.SECONDS);
        TlsEngineFactory tls = new TlsEngineFactory(env.tls, false);
        SslHandler[] ssl = new SslHandler[1];
        Channel ch = new Bootstrap().group(env.group).channel(Transports.socketChannel())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        SSLEngine engine = tls.newEngine(ch.alloc());
                        env.tls.bindings().bind(engine, env.clientId, Set.of(env.serverId));
                        ssl[0] = new SslHandler(engine);
                        ch.pipeline().addLast(ssl[0], Http2FrameCodecBuilder.forClient().validateHeaders(false).build(),
                                              new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    }
                }).connect(server).sync().channel();
        ssl[0].handshakeFuture().sync();
        return new RawH2Client(ch);
    }

    public Channel channel() {
        return channel;
    }

    /** Opens a stream and sends {@code headers} (and {@code data}, if not null, in the same flush). */
    public RawStream open(Http2Headers headers, boolean endStream, String data) throws Exception {
        RawStream s = new RawStream();
        Http2StreamChannel ch = new Http2StreamChannelBootstrap(channel).handler(s).open().sync().getNow();
        s.channel = ch;
        ch.write(new DefaultHttp2HeadersFrame(headers, endStream && data == null));
        if (data != null) {
            ch.write(new DefaultHttp2DataFrame(Unpooled.copiedBuffer(data, StandardCharsets.UTF_8), endStream));
        }
        ch.flush();
        return s;
    }

    public static Http2Headers connect(String authority) {
        return new DefaultHttp2Headers().method("CONNECT").authority(authority);
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }

    /** One stream and what it received: header frames, DATA payloads as strings, resets, then {@link #CLOSED}. */
    public static final class RawStream extends ChannelInboundHandlerAdapter {
        public final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        public Http2StreamChannel channel;

        /** A DATA frame's payload and END_STREAM flag. */
        public record Data(String text, boolean endStream) { }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2DataFrame d) {
                events.add(new Data(d.content().toString(StandardCharsets.UTF_8), d.isEndStream()));
            } else if (msg instanceof Http2HeadersFrame h) {
                events.add(h);
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof Http2ResetFrame) {
                events.add(evt);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            events.add(CLOSED);
        }

        public Object next() throws InterruptedException {
            Object o = events.poll(20, TimeUnit.SECONDS);
            if (o == null) {
                throw new AssertionError("no frame within 20 s");
            }
            return o;
        }

        /** Sends DATA. */
        public void send(String text, boolean endStream) {
            channel.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8), endStream));
        }

        /** Sends a HEADERS frame (e.g. trailers). */
        public void sendHeaders(Http2Headers headers, boolean endStream) {
            channel.writeAndFlush(new DefaultHttp2HeadersFrame(headers, endStream));
        }

        @Override
        public String toString() {
            return "RawStream" + events;
        }
    }
}
