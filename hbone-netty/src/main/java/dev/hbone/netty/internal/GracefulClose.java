package dev.hbone.netty.internal;

import io.netty.channel.Channel;
import io.netty.handler.codec.http2.Http2FrameCodec;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Closes an HTTP/2 connection with GOAWAY(NO_ERROR), letting its streams finish until a deadline. */
public final class GracefulClose {
    private GracefulClose() { }

    public static CompletableFuture<Void> close(Channel ch, Duration deadline) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        ch.closeFuture().addListener(f -> done.complete(null));
        ch.eventLoop().execute(() -> {
            Http2FrameCodec codec = ch.pipeline().get(Http2FrameCodec.class);
            if (codec != null) {
                // Http2ConnectionHandler.close sends GOAWAY, then closes once the streams are done or this expires.
                codec.gracefulShutdownTimeoutMillis(deadline.toMillis());
            }
            ch.close();
        });
        // Force-close whatever is left at the deadline (plus a little for the codec's own timer).
        ch.eventLoop().schedule(() -> {
            ch.close();
        }, deadline.toMillis() + 500, TimeUnit.MILLISECONDS);
        return done;
    }
}
