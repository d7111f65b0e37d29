package dev.hbone.netty.internal;

import dev.hbone.api.TunnelException;
import dev.hbone.netty.testing.HboneTestEnv;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The pool's single-flight bookkeeping when a connector completes before the pool registered on its future: at once
 * (a refused connect) or on another thread while the caller is descheduled (seen under CPU load in CI, where every
 * caller that found the connections full then recursed on the stale completed future until the stack overflowed).
 * Connections here sit on {@link EmbeddedChannel}s: the pool only asks them for slots.
 */
class ConnectionPoolTest {
    private HboneTestEnv env;
    private final List<EmbeddedChannel> channels = new ArrayList<>();
    private ConnectionPool.Key key;

    @BeforeEach
    void setUp() throws Exception {
        env = new HboneTestEnv();
        key = new ConnectionPool.Key(env.clientId, Set.of(env.serverId), new InetSocketAddress("127.0.0.1", 15008),
                                     null);
    }

    @AfterEach
    void tearDown() throws Exception {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
        env.close();
    }

    /** A connection that carries {@code maxStreams} streams, on a channel that stays active. */
    private ClientConnection connection(int maxStreams) {
        EmbeddedChannel channel = new EmbeddedChannel();
        channels.add(channel);
        ClientConnection.ClientSettings settings = new ClientConnection.ClientSettings(
                maxStreams, TimeUnit.MINUTES.toNanos(5), TimeUnit.SECONDS.toNanos(10), TimeUnit.SECONDS.toNanos(20),
                1000, Http2Support.ResetLimits.DEFAULT, dev.hbone.api.TunnelListener.NOOP);
        return ClientConnection.install(channel, new TlsEngineFactory(env.tls, false), env.tls.bindings(),
                                        env.clientId, Set.of(env.serverId), 10_000, settings, c -> { });
    }

    @Test
    void aConnectorThatCompletesAtOnceOpensOneConnectionPerFullOne() throws Exception {
        ConnectionPool pool = new ConnectionPool();
        AtomicInteger made = new AtomicInteger();
        Supplier<CompletableFuture<ClientConnection>> connector = () -> {
            made.incrementAndGet();
            return CompletableFuture.completedFuture(connection(1));
        };
        List<ClientConnection> got = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            got.add(pool.acquire(key, connector).get(5, TimeUnit.SECONDS));
        }
        assertThat(made).hasValue(50);
        assertThat(got).doesNotHaveDuplicates();
        assertThat(pool.size()).isEqualTo(50);
    }

    @Test
    void aConnectorThatFailsAtOnceIsAskedAgainByTheNextCaller() {
        ConnectionPool pool = new ConnectionPool();
        AtomicInteger made = new AtomicInteger();
        Supplier<CompletableFuture<ClientConnection>> connector = () -> CompletableFuture.failedFuture(
                TunnelException.of(TunnelException.Reason.CONNECT_FAILED, "refused #" + made.incrementAndGet()));
        assertThatThrownBy(() -> pool.acquire(key, connector).join()).hasMessageContaining("refused #1");
        assertThatThrownBy(() -> pool.acquire(key, connector).join()).hasMessageContaining("refused #2");
    }

    @Test
    void aConnectorThatThrowsFailsThatCallerOnly() throws Exception {
        ConnectionPool pool = new ConnectionPool();
        AtomicInteger calls = new AtomicInteger();
        Supplier<CompletableFuture<ClientConnection>> connector = () -> {
            if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("no event loop");
            }
            return CompletableFuture.completedFuture(connection(1));
        };
        assertThatThrownBy(() -> pool.acquire(key, connector).join()).hasMessageContaining("no event loop");
        assertThat(pool.acquire(key, connector).get(5, TimeUnit.SECONDS)).isNotNull();
    }

    @Test
    void waitersOfOneConnectionShareItThenOpenTheNext() throws Exception {
        ConnectionPool pool = new ConnectionPool();
        List<CompletableFuture<ClientConnection>> connecting = new ArrayList<>();
        Supplier<CompletableFuture<ClientConnection>> connector = () -> {
            CompletableFuture<ClientConnection> f = new CompletableFuture<>();
            connecting.add(f);
            return f;
        };
        List<CompletableFuture<ClientConnection>> waiters = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            waiters.add(pool.acquire(key, connector));
        }
        assertThat(connecting).as("single flight").hasSize(1);
        connecting.get(0).complete(connection(3));
        assertThat(waiters.subList(0, 5)).filteredOn(CompletableFuture::isDone).hasSize(3);
        assertThat(connecting).as("the two losers wait on one more connection").hasSize(2);
        connecting.get(1).complete(connection(3));
        for (CompletableFuture<ClientConnection> w : waiters) {
            assertThat(w.get(5, TimeUnit.SECONDS)).isNotNull();
        }
        assertThat(pool.size()).isEqualTo(2);
    }
}
