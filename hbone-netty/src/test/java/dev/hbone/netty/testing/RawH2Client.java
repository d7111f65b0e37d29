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
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2PingFrame;
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
    /** Connection-level frames received: {@link GoAway}s and {@link Ping}s. */
    public final BlockingQueue<Object> connectionEvents;

    /** A GOAWAY's error code. */
    public record GoAway(long errorCode) { }

    /** A PING (not an ack) from the peer. */
    public record Ping(long content) { }

    private final BlockingQueue<Long> pingAcks;
    private long nextPing = 1;

    private RawH2Client(Channel channel, BlockingQueue<Object> connectionEvents, BlockingQueue<Long> pingAcks) {
        this.channel = channel;
        this.connectionEvents = connectionEvents;
        this.pingAcks = pingAcks;
    }

    /**
     * Sends a PING after everything written so far and waits for its ack: the peer has read all of it. A burst
     * paced in such rounds never leaves unread bytes at the peer, so a peer that closes on us does so with FIN (and
     * its GOAWAY arrives) rather than a TCP reset.
     *
     * @return false if the connection closed instead
     */
    public boolean roundTrip() throws InterruptedException {
        long payload = nextPing++;
        channel.writeAndFlush(new DefaultHttp2PingFrame(payload));
        while (channel.isActive() || !pingAcks.isEmpty()) {
            Long ack = pingAcks.poll(50, TimeUnit.MILLISECONDS);
            if (ack != null && ack == payload) {
                return true;
            }
        }
        return false;
    }

    public static RawH2Client connect(HboneTestEnv env, InetSocketAddress server) throws Exception {
        return connect(env, server, true);
    }

    /**
     * Connects; with {@code answerPings} false the client never acks the peer's PINGs (a peer that stopped
     * responding while its socket stays open).
     */
    public static RawH2Client connect(HboneTestEnv env, InetSocketAddress server, boolean answerPings)
            throws Exception {
        BlockingQueue<Object> connectionEvents = new LinkedBlockingQueue<>();
        BlockingQueue<Long> pingAcks = new LinkedBlockingQueue<>();
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
                        ch.pipeline().addLast(ssl[0], Http2FrameCodecBuilder.forClient().validateHeaders(false)
                                                                      .autoAckPingFrame(answerPings).build(),
                                              new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()),
                                              new ChannelInboundHandlerAdapter() {
                                                  @Override
                                                  public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                                      if (msg instanceof Http2GoAwayFrame g) {
                                                          connectionEvents.add(new GoAway(g.errorCode()));
                                                      } else if (msg instanceof Http2PingFrame p) {
                                                          if (p.ack()) {
                                                              pingAcks.add(p.content());
                                                          } else {
                                                              connectionEvents.add(new Ping(p.content()));
                                                          }
                                                      }
                                                      ReferenceCountUtil.release(msg);
                                                  }

                                                  @Override
                                                  public void exceptionCaught(ChannelHandlerContext ctx, Throwable t) {
                                                      ctx.close(); // the peer closed on us: expected in these tests
                                                  }
                                              });
                    }
                }).connect(server).sync().channel();
        ssl[0].handshakeFuture().sync();
        return new RawH2Client(ch, connectionEvents, pingAcks);
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

    /**
     * Opens a stream, sends {@code headers} and resets it right away (RST_STREAM(CANCEL)), all on the event loop,
     * without waiting for anything: the Rapid Reset pattern.
     *
     * @return false if the connection is gone
     */
    public boolean openAndCancel(Http2Headers headers) throws Exception {
        if (!channel.isActive()) {
            return false;
        }
        var opened = new Http2StreamChannelBootstrap(channel).handler(new ChannelInboundHandlerAdapter()).open().await();
        if (!opened.isSuccess()) {
            return false;
        }
        Http2StreamChannel ch = opened.getNow();
        ch.eventLoop().execute(() -> {
            ch.writeAndFlush(new DefaultHttp2HeadersFrame(headers, false));
            ch.close(); // RST_STREAM(CANCEL) once the stream exists
        });
        return true;
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
