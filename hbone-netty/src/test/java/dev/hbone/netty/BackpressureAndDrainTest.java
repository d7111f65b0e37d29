package dev.hbone.netty;

import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelStats;
import dev.hbone.netty.testing.HboneTestEnv;
import dev.hbone.netty.testing.TunnelIo;
import dev.hbone.netty.testing.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** A slow reader bounds what the writer gets to buffer; drains let tunnels finish and force-close at a deadline. */
class BackpressureAndDrainTest {
    /** Stream window + socket buffers on both hops + Netty's watermarks, with a wide margin. */
    private static final long IN_FLIGHT_BOUND = 48L * 1024 * 1024;

    private HboneTestEnv env;

    @BeforeEach
    void setUp() throws Exception {
        env = new HboneTestEnv();
    }

    @AfterEach
    void tearDown() throws Exception {
        env.close();
    }

    @Test
    void aSlowReaderBoundsTheWritersBufferedBytes() throws Exception {
        AtomicLong written = new AtomicLong();
        CountDownLatch blocked = new CountDownLatch(1);
        try (Upstream firehose = Upstream.firehose(env.group, written, blocked)) {
            NettyHboneServer server = env.server();
            Tunnel tunnel = env.client().open(env.request(server, firehose.authority()).build()).get(20, TimeUnit.SECONDS);
            BlockingQueue<ByteBuffer> items = new LinkedBlockingQueue<>();
            CompletableFuture<Flow.Subscription> subscription = new CompletableFuture<>();
            tunnel.inbound().subscribe(new Flow.Subscriber<>() {
                @Override public void onSubscribe(Flow.Subscription s) { subscription.complete(s); }
                @Override public void onNext(ByteBuffer item) { items.add(item); }
                @Override public void onError(Throwable t) { }
                @Override public void onComplete() { }
            });
            Flow.Subscription s = subscription.get(10, TimeUnit.SECONDS);
            // The upstream fills every buffer between it and us and then has to stop.
            assertThat(blocked.await(20, TimeUnit.SECONDS)).isTrue();
            long received = 0;
            for (int i = 0; i < 300; i++) { // read slowly: one buffer per round trip to this thread
                s.request(1);
                ByteBuffer item = items.poll(20, TimeUnit.SECONDS);
                assertThat(item).isNotNull();
                received += item.remaining();
                assertThat(written.get() - received).as("bytes in flight").isLessThan(IN_FLIGHT_BOUND);
            }
            assertThat(received).isPositive();
            tunnel.abort();
        }
    }

    @Test
    void serverDrainFinishesOpenTunnelsAndRefusesNewConnections() throws Exception {
        NettyHboneServer server = env.server();
        NettyHboneClient client = env.client();
        Tunnel open = client.open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS);
        CompletableFuture<Void> drained = server.drain(Duration.ofSeconds(20));
        assertThat(drained).isNotDone();

        NettyHboneClient late = env.client();
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () ->
                late.open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS));
        assertThat(e.getCause()).isInstanceOf(TunnelException.class);

        CompletableFuture<TunnelIo.Received> read = TunnelIo.readAll(open);
        String sent = TunnelIo.writeRandom(open, 2_000_000, 9, 64 * 1024).get(20, TimeUnit.SECONDS);
        assertThat(read.get(20, TimeUnit.SECONDS).sha256()).isEqualTo(sent);
        drained.get(20, TimeUnit.SECONDS);
        assertThat(server.connectionCount()).isZero();
    }

    @Test
    void drainForceClosesAtTheDeadline() throws Exception {
        NettyHboneServer server = env.server();
        NettyHboneClient client = env.client();
        Tunnel open = client.open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS);
        server.drain(Duration.ofMillis(200)).get(20, TimeUnit.SECONDS);
        TunnelStats stats = open.closeFuture().get(20, TimeUnit.SECONDS);
        assertThat(stats.failure()).isPresent(); // it did not end cleanly: it was cut
    }

    @Test
    void clientDrainRefusesNewTunnels() throws Exception {
        NettyHboneServer server = env.server();
        NettyHboneClient client = env.client();
        client.open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS).close();
        client.drain(Duration.ofMillis(200)).get(20, TimeUnit.SECONDS);
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () ->
                client.open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS));
        assertThat(((TunnelException) e.getCause()).reason()).isEqualTo(TunnelException.Reason.SHUTTING_DOWN);
    }
}
