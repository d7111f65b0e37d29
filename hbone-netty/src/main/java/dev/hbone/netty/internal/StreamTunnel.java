package dev.hbone.netty.internal;

import dev.hbone.netty.NettyTunnel;
import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelInfo;
import dev.hbone.api.TunnelListener;
import dev.hbone.api.TunnelStats;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

import static java.util.Objects.requireNonNull;

/**
 * The {@link dev.hbone.api.Tunnel} of one established HBONE stream: the last handler of the {@link Http2StreamChannel}'s
 * pipeline. Inbound DATA is read only on the subscriber's demand (the channel's autoRead is off), so the HTTP/2
 * window is returned to the peer only as fast as the subscriber consumes; at most the frames of one pending read
 * wait in {@link #pending}.
 */
public final class StreamTunnel extends ChannelInboundHandlerAdapter implements NettyTunnel, Flow.Subscription {
    private final Http2StreamChannel channel;
    private final TunnelInfo info;
    private final TunnelListener listener;
    private final long openedNanos = System.nanoTime();
    private final LongAdder bytesSent = new LongAdder();
    private final AtomicBoolean outputShutdown = new AtomicBoolean();
    private final AtomicBoolean subscribed = new AtomicBoolean();
    private final CompletableFuture<TunnelStats> closeFuture = new CompletableFuture<>();
    private volatile boolean cleanEnd;

    // Event-loop state.
    private Flow.Subscriber<? super ByteBuffer> subscriber;
    private final ArrayDeque<ByteBuffer> pending = new ArrayDeque<>();
    private long demand;
    private long bytesReceived;
    private boolean inputEnded;
    private boolean outputEnded;
    private TunnelException failure;
    private boolean terminalDelivered;

    public StreamTunnel(Http2StreamChannel channel, TunnelInfo info, TunnelListener listener) {
        this.channel = requireNonNull(channel, "channel");
        this.info = requireNonNull(info, "info");
        this.listener = requireNonNull(listener, "listener");
    }

    @Override
    public Http2StreamChannel channel() {
        return channel;
    }

    @Override
    public TunnelInfo info() {
        return info;
    }

    @Override
    public CompletableFuture<Void> write(ByteBuffer data) {
        requireNonNull(data, "data");
        if (outputShutdown.get()) {
            data.position(data.limit());
            return CompletableFuture.failedFuture(TunnelException.of(TunnelException.Reason.PROTOCOL_ERROR,
                                                                     "output already shut down"));
        }
        int n = data.remaining();
        ByteBuf copy = channel.alloc().buffer(n).writeBytes(data); // pooled, direct: TLS encrypts it in place
        bytesSent.add(n);
        return toFuture(channel.writeAndFlush(new DefaultHttp2DataFrame(copy)));
    }

    @Override
    public boolean isWritable() {
        return channel.isWritable();
    }

    @Override
    public CompletableFuture<Void> shutdownOutput() {
        if (!outputShutdown.compareAndSet(false, true)) {
            return CompletableFuture.completedFuture(null);
        }
        ChannelFuture f = channel.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true));
        f.addListener(x -> {
            if (x.isSuccess()) {
                outputEnded = true;
            }
        });
        return toFuture(f);
    }

    @Override
    public Flow.Publisher<ByteBuffer> inbound() {
        return s -> {
            requireNonNull(s, "subscriber");
            if (!subscribed.compareAndSet(false, true)) {
                s.onSubscribe(new Flow.Subscription() {
                    @Override public void request(long n) { }
                    @Override public void cancel() { }
                });
                s.onError(new IllegalStateException("a tunnel's inbound bytes may be subscribed once"));
                return;
            }
            channel.eventLoop().execute(() -> {
                subscriber = s;
                s.onSubscribe(this);
                drain();
            });
        };
    }

    @Override
    public void request(long n) {
        channel.eventLoop().execute(() -> {
            if (n <= 0) {
                fail(TunnelException.of(TunnelException.Reason.PROTOCOL_ERROR, "non-positive demand " + n));
                channel.close();
                return;
            }
            demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
            drain();
        });
    }

    @Override
    public void cancel() {
        abort();
    }

    @Override
    public void abort() {
        // close() on a stream that is not yet closed sends RST_STREAM(CANCEL).
        channel.close();
    }

    @Override
    public CompletableFuture<TunnelStats> closeFuture() {
        return closeFuture;
    }

    @Override
    public void close() {
        if (!cleanEnd) {
            abort();
        }
    }

    // Inbound events, on the event loop.

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof Http2DataFrame data) {
                int n = data.content().readableBytes();
                if (n > 0) {
                    ByteBuffer copy = ByteBuffer.allocate(n);
                    data.content().readBytes(copy);
                    pending.add(copy.flip());
                    bytesReceived += n;
                }
                if (data.isEndStream()) {
                    inputEnded = true;
                }
            } else if (msg instanceof Http2ResetFrame rst) {
                long code = rst.errorCode();
                if (code == Http2Support.NO_ERROR || code == Http2Support.CANCEL) {
                    inputEnded = true;
                    outputEnded = true;
                } else {
                    fail(TunnelException.reset(code));
                }
            } else if (msg instanceof Http2HeadersFrame) {
                // HBONE uses no trailers: HEADERS after the 200 is a stream error.
                fail(TunnelException.of(TunnelException.Reason.PROTOCOL_ERROR, "HEADERS frame after the 200"));
                ctx.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.PROTOCOL_ERROR)).addListener(f -> channel.close());
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
        drain();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        drain();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        // Netty delivers RST_STREAM as a user event: it is not flow-controlled, so it must not wait for a read.
        if (evt instanceof Http2ResetFrame) {
            channelRead(ctx, evt);
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (!(inputEnded && (outputEnded || outputShutdown.get())) && failure == null) {
            fail(TunnelException.of(TunnelException.Reason.CONNECTION_CLOSED, "stream closed before both ends finished"));
        }
        drain();
        cleanEnd = failure == null;
        TunnelStats stats = new TunnelStats(bytesSent.sum(), bytesReceived,
                                            Duration.ofNanos(System.nanoTime() - openedNanos),
                                            Optional.ofNullable(failure));
        Listeners.closed(listener, info, stats);
        closeFuture.complete(stats);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail(TunnelException.of(TunnelException.Reason.CONNECTION_CLOSED, String.valueOf(cause.getMessage()), cause));
        channel.close();
    }

    private void fail(TunnelException e) {
        if (failure == null) {
            failure = e;
        }
    }

    /** Delivers what the demand allows, then reads more if there is demand left. */
    private void drain() {
        if (subscriber == null || terminalDelivered) {
            return;
        }
        if (failure != null) {
            terminalDelivered = true;
            pending.clear();
            subscriber.onError(failure);
            return;
        }
        while (demand > 0 && !pending.isEmpty()) {
            demand--;
            subscriber.onNext(pending.poll());
            if (terminalDelivered || subscriber == null) {
                return;
            }
        }
        if (pending.isEmpty() && inputEnded) {
            terminalDelivered = true;
            subscriber.onComplete();
            return;
        }
        if (demand > 0 && pending.isEmpty() && channel.isActive()) {
            channel.read();
        }
    }

    private static CompletableFuture<Void> toFuture(ChannelFuture f) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        f.addListener(x -> {
            if (x.isSuccess()) {
                result.complete(null);
            } else {
                result.completeExceptionally(TunnelException.of(TunnelException.Reason.CONNECTION_CLOSED,
                                                                "write failed: " + x.cause(), x.cause()));
            }
        });
        return result;
    }
}
