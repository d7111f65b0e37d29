package dev.hbone.ztunnel.hardening;

import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelRequest;
import dev.hbone.netty.NettyHboneClient;
import java.nio.ByteBuffer;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Lock;

/**
 * A well-behaved tunnel through the proxy to an echo server, kept busy by a thread: writes 64 KiB chunks while at
 * most 1 MiB is in flight and counts what comes back. Used to show that other connections keep moving data while
 * one is under attack (AbuseIT), and to keep long tunnels busy through a soak (SoakIT, which pauses the writes
 * through a gate while it samples memory).
 */
final class GoodTraffic implements AutoCloseable {
    private static final int CHUNK = 64 * 1024;
    private static final int IN_FLIGHT = 1024 * 1024;

    private final Tunnel tunnel;
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong echoed = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Object lock = new Object();
    private final Lock gate;
    private final Thread writer;
    private volatile boolean running = true;

    GoodTraffic(NettyHboneClient client, TunnelRequest request) throws Exception {
        this(client.open(request).get(30, TimeUnit.SECONDS), null);
    }

    /** Keeps {@code tunnel} busy; each write holds {@code gate} (if not null), so its owner can pause them. */
    GoodTraffic(Tunnel tunnel, Lock gate) {
        this.tunnel = tunnel;
        this.gate = gate;
        tunnel.inbound().subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(ByteBuffer item) {
                echoed.addAndGet(item.remaining());
                synchronized (lock) {
                    lock.notifyAll();
                }
            }

            @Override
            public void onError(Throwable t) {
                failure.compareAndSet(null, t);
            }

            @Override
            public void onComplete() {
                if (running) {
                    failure.compareAndSet(null, new IllegalStateException("good tunnel ended"));
                }
            }
        });
        writer = new Thread(this::pump, "good-traffic");
        writer.setDaemon(true);
        writer.start();
    }

    private void pump() {
        byte[] chunk = new byte[CHUNK];
        try {
            while (running && failure.get() == null) {
                synchronized (lock) {
                    while (running && written.get() - echoed.get() > IN_FLIGHT) {
                        lock.wait(100);
                    }
                }
                if (gate != null) {
                    gate.lock();
                }
                try {
                    tunnel.write(ByteBuffer.wrap(chunk)).get(60, TimeUnit.SECONDS);
                    written.addAndGet(CHUNK);
                } finally {
                    if (gate != null) {
                        gate.unlock();
                    }
                }
            }
        } catch (Exception e) {
            if (running) {
                failure.compareAndSet(null, e);
            }
        }
    }

    long echoed() {
        return echoed.get();
    }

    /** Whether everything written has come back (or the tunnel failed). */
    boolean drained() {
        return echoed.get() == written.get() || failure.get() != null;
    }

    Throwable failure() {
        return failure.get();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        writer.join(5_000);
        tunnel.close();
    }
}
