package dev.hbone.benchmarks.hbone;

import dev.hbone.api.TunnelListener;
import dev.hbone.netty.HboneDefaults;
import dev.hbone.netty.HboneTls;
import dev.hbone.netty.TlsProvider;
import dev.hbone.netty.internal.ClientConnection;
import dev.hbone.netty.internal.ConnectionPool;
import dev.hbone.netty.internal.Http2Support;
import dev.hbone.netty.internal.TlsEngineFactory;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import io.netty.channel.embedded.EmbeddedChannel;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * What the client's {@code ConnectionPool} costs per tunnel on a warm pool: build the key from a request's parts (as
 * {@code NettyHboneClient.openPooled} does), find the entry, reserve a stream slot on a pooled connection, and give it
 * back. {@code keys} pools are warm (one connection each, on an in-memory channel that stays active); each operation
 * picks one at random. {@code acquireRelease2Threads} runs the same from two threads (the proxy's two event loops).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class PoolLookupBenchmark {
    @Param({"1", "16", "256"})
    public int keys;

    private IdentityStore store;
    private final ConnectionPool pool = new ConnectionPool();
    private final List<EmbeddedChannel> channels = new ArrayList<>();
    private SpiffeId[] sources;
    private Set<SpiffeId>[] expected;
    private InetSocketAddress[] destinations;
    private final Supplier<CompletableFuture<ClientConnection>> noConnector =
            () -> CompletableFuture.failedFuture(new IllegalStateException("the pool should be warm"));

    @Setup(Level.Trial)
    @SuppressWarnings("unchecked")
    public void setUp() throws Exception {
        CertificateAuthority ca = CertificateAuthority.builder(TrustDomain.parse("bench.local")).build();
        store = IdentityStore.builder(SvidSources.localCa(ca, Duration.ofHours(2))).build();
        HboneTls tls = HboneTls.builder().spiffe(store, TrustBundles.of(ca.bundle())).provider(TlsProvider.JDK).build();
        TlsEngineFactory engines = new TlsEngineFactory(tls, false);
        ClientConnection.ClientSettings settings = new ClientConnection.ClientSettings(
                HboneDefaults.CLIENT_MAX_STREAMS_PER_CONNECTION, HboneDefaults.POOL_IDLE_TIMEOUT.toNanos(),
                HboneDefaults.PING_INTERVAL.toNanos(), HboneDefaults.PING_TIMEOUT.toNanos(),
                HboneDefaults.DRAIN_DEADLINE.toMillis(), Http2Support.ResetLimits.DEFAULT, TunnelListener.NOOP);
        sources = new SpiffeId[keys];
        expected = new Set[keys];
        destinations = new InetSocketAddress[keys];
        for (int i = 0; i < keys; i++) {
            sources[i] = SpiffeId.parse("spiffe://bench.local/ns/bench/sa/client-" + (i % 4));
            expected[i] = Set.of(SpiffeId.parse("spiffe://bench.local/ns/bench/sa/server-" + i));
            destinations[i] = new InetSocketAddress("10.0." + (i / 250) + "." + (1 + i % 250), 15008);
            EmbeddedChannel channel = new EmbeddedChannel();
            channels.add(channel);
            // The TLS handshake never completes on this channel (nobody answers): the pool only needs it active.
            ClientConnection c = ClientConnection.install(channel, engines, tls.bindings(), sources[i], expected[i],
                                                          60_000, settings, x -> { });
            ConnectionPool.Key key = key(i);
            // The first acquire pools the connection and keeps one slot, so releases never make it idle.
            ClientConnection got = pool.acquire(key, () -> CompletableFuture.completedFuture(c)).get(5, TimeUnit.SECONDS);
            if (got != c) {
                throw new IllegalStateException("pool handed out another connection");
            }
        }
    }

    private ConnectionPool.Key key(int i) {
        return new ConnectionPool.Key(sources[i], expected[i], destinations[i], null);
    }

    @Benchmark
    public ClientConnection acquireRelease() {
        return acquireReleaseOne();
    }

    @Benchmark
    @Threads(2)
    public ClientConnection acquireRelease2Threads() {
        return acquireReleaseOne();
    }

    private ClientConnection acquireReleaseOne() {
        int i = keys == 1 ? 0 : ThreadLocalRandom.current().nextInt(keys);
        ConnectionPool.Key key = key(i);
        ClientConnection c = pool.acquire(key, noConnector).getNow(null);
        if (c == null) {
            throw new IllegalStateException("warm pool did not answer at once");
        }
        pool.release(key, c);
        return c;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (EmbeddedChannel c : channels) {
            c.finishAndReleaseAll();
        }
        store.close();
    }
}
