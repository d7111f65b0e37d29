package dev.hbone.netty.testing;

import dev.hbone.api.Tunnel;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;

/** Reads and writes tunnels in tests, with checksums. */
public final class TunnelIo {
    private TunnelIo() { }

    /** The result of reading a tunnel to its end. */
    public record Received(long bytes, String sha256, byte[] head) { }

    /** Reads everything until end-of-stream, one buffer of demand at a time. */
    public static CompletableFuture<Received> readAll(Tunnel tunnel) {
        CompletableFuture<Received> done = new CompletableFuture<>();
        tunnel.inbound().subscribe(new Flow.Subscriber<>() {
            private final MessageDigest digest = sha256();
            private final ByteBuffer head = ByteBuffer.allocate(64);
            private Flow.Subscription s;
            private long bytes;

            @Override public void onSubscribe(Flow.Subscription s) {
                this.s = s;
                s.request(1);
            }

            @Override public void onNext(ByteBuffer item) {
                bytes += item.remaining();
                ByteBuffer dup = item.duplicate();
                while (head.hasRemaining() && dup.hasRemaining()) {
                    head.put(dup.get());
                }
                digest.update(item);
                s.request(1);
            }

            @Override public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override public void onComplete() {
                byte[] h = new byte[head.position()];
                head.flip().get(h);
                done.complete(new Received(bytes, HexFormat.of().formatHex(digest.digest()), h));
            }
        });
        return done;
    }

    /**
     * Writes {@code size} pseudo-random bytes from {@code seed} in chunks, one write outstanding at a time, then
     * half-closes. Completes with the SHA-256 of what was written.
     */
    public static CompletableFuture<String> writeRandom(Tunnel tunnel, long size, long seed, int chunk) {
        MessageDigest digest = sha256();
        Random random = new Random(seed);
        CompletableFuture<String> done = new CompletableFuture<>();
        writeNext(tunnel, size, random, chunk, digest, done);
        return done;
    }

    private static void writeNext(Tunnel tunnel, long remaining, Random random, int chunk, MessageDigest digest,
                                  CompletableFuture<String> done) {
        if (remaining == 0) {
            tunnel.shutdownOutput().whenComplete((v, e) -> {
                if (e != null) {
                    done.completeExceptionally(e);
                } else {
                    done.complete(HexFormat.of().formatHex(digest.digest()));
                }
            });
            return;
        }
        byte[] bytes = new byte[(int) Math.min(chunk, remaining)];
        random.nextBytes(bytes);
        digest.update(bytes);
        tunnel.write(ByteBuffer.wrap(bytes)).whenComplete((v, e) -> {
            if (e != null) {
                done.completeExceptionally(e);
            } else {
                writeNext(tunnel, remaining - bytes.length, random, chunk, digest, done);
            }
        });
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
