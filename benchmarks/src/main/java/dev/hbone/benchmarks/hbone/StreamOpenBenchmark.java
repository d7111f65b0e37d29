package dev.hbone.benchmarks.hbone;

import dev.hbone.api.Tunnel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * A whole tunnel life on a warm pooled connection: CONNECT → 200 → END_STREAM both ways, with a server handler that
 * accepts at once and half-closes (no upstream TCP connect), so the score is the HBONE stream cost alone, not a
 * handshake. (Aborting with RST_STREAM instead would be a Rapid Reset pattern: the server's RST limit stops it.)
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class StreamOpenBenchmark {
    private BenchMesh mesh;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        mesh = new BenchMesh(incoming -> incoming.accept().shutdownOutput());
        openAndClose(); // warm the pool
    }

    @Benchmark
    public Tunnel openOnWarmConnection() throws Exception {
        return openAndClose();
    }

    private Tunnel openAndClose() throws Exception {
        Tunnel t = mesh.client.open(mesh.request("127.0.0.1:1")).get(10, TimeUnit.SECONDS);
        t.inbound().subscribe(new java.util.concurrent.Flow.Subscriber<>() {
            @Override public void onSubscribe(java.util.concurrent.Flow.Subscription s) { s.request(Long.MAX_VALUE); }
            @Override public void onNext(java.nio.ByteBuffer item) { }
            @Override public void onError(Throwable e) { }
            @Override public void onComplete() { }
        });
        t.shutdownOutput();
        t.closeFuture().get(10, TimeUnit.SECONDS);
        return t;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        mesh.close();
    }
}
