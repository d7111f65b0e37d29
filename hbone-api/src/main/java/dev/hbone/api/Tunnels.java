package dev.hbone.api;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicReference;

import static java.util.Objects.requireNonNull;

/** Helpers for using a {@link Tunnel} with blocking Java sockets. */
public final class Tunnels {
    private static final int BUFFER_SIZE = 64 * 1024;

    private Tunnels() { }

    /**
     * Copies bytes both ways between {@code tunnel} and a connected blocking {@code socket} until both directions
     * have ended, keeping half-close (a FIN becomes end-of-stream and back) and backpressure (one buffer in flight
     * each way). A tunnel failure resets the socket (SO_LINGER 0); a socket failure aborts the tunnel.
     *
     * @param executor runs the blocking socket-to-tunnel copy loop (one task)
     * @return completes when both directions ended; the socket is closed by then
     */
    public static CompletableFuture<Void> splice(Tunnel tunnel, SocketChannel socket, Executor executor) {
        requireNonNull(tunnel, "tunnel");
        requireNonNull(socket, "socket");
        requireNonNull(executor, "executor");
        CompletableFuture<Void> up = new CompletableFuture<>();
        CompletableFuture<Void> down = new CompletableFuture<>();
        tunnel.inbound().subscribe(new SocketWriter(socket, down));
        executor.execute(() -> {
            ByteBuffer buf = ByteBuffer.allocate(BUFFER_SIZE);
            try {
                while (true) {
                    buf.clear();
                    int n = socket.read(buf);
                    if (n < 0) {
                        tunnel.shutdownOutput().get();
                        up.complete(null);
                        return;
                    }
                    buf.flip();
                    tunnel.write(buf).get();
                }
            } catch (IOException | ExecutionException e) {
                tunnel.abort();
                up.completeExceptionally(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                tunnel.abort();
                up.completeExceptionally(e);
            }
        });
        return CompletableFuture.allOf(up, down).whenComplete((v, e) -> {
            if (e != null) {
                resetQuietly(socket);
            } else {
                closeQuietly(socket);
            }
        });
    }

    private static void resetQuietly(SocketChannel socket) {
        try {
            socket.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException | RuntimeException ignored) {
            // already closed
        }
        closeQuietly(socket);
    }

    private static void closeQuietly(SocketChannel socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing left to do
        }
    }

    /** Writes tunnel data to the socket on the transport's thread: one buffer of demand at a time. */
    private static final class SocketWriter implements Flow.Subscriber<ByteBuffer> {
        private final SocketChannel socket;
        private final CompletableFuture<Void> done;
        private final AtomicReference<Flow.Subscription> subscription = new AtomicReference<>();

        SocketWriter(SocketChannel socket, CompletableFuture<Void> done) {
            this.socket = socket;
            this.done = done;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription.set(s);
            s.request(1);
        }

        @Override
        public void onNext(ByteBuffer item) {
            try {
                // A blocking write: a slow socket holds back the next request(1), so the tunnel stops reading
                // and HTTP/2 flow control pushes back to the sender.
                while (item.hasRemaining()) {
                    socket.write(item);
                }
                subscription.get().request(1);
            } catch (IOException e) {
                subscription.get().cancel();
                done.completeExceptionally(e);
            }
        }

        @Override
        public void onError(Throwable t) {
            done.completeExceptionally(t instanceof CompletionException && t.getCause() != null ? t.getCause() : t);
        }

        @Override
        public void onComplete() {
            try {
                socket.shutdownOutput();
                done.complete(null);
            } catch (IOException e) {
                done.completeExceptionally(e);
            }
        }
    }
}
