package dev.hbone.benchmarks.hbone;

import dev.hbone.api.Tunnel;
import dev.hbone.netty.TcpForwarder;
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
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * Bytes through one established tunnel: client Tunnel API → TLS → HTTP/2 → server → splice → a TCP sink, on
 * loopback. One op writes {@code chunk} bytes and waits until HTTP/2 flow control let them out, so the score times
 * the chunk size is the sustained throughput of one stream.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class TunnelThroughputBenchmark {
    @Param({"65536", "1048576"})
    public int chunk;

    private BenchMesh mesh;
    private BenchMesh.TcpService sink;
    private Tunnel tunnel;
    private ByteBuffer data;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        sink = new BenchMesh.TcpService(false);
        mesh = new BenchMesh(TcpForwarder.builder().build());
        tunnel = mesh.client.open(mesh.request(sink.authority())).get(10, TimeUnit.SECONDS);
        data = ByteBuffer.allocate(chunk);
    }

    @Benchmark
    public void writeChunk() throws Exception {
        data.clear();
        tunnel.write(data).get(10, TimeUnit.SECONDS);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        tunnel.abort();
        mesh.close();
        sink.close();
    }
}
