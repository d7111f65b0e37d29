package dev.hbone.benchmarks.hbone;

import dev.hbone.api.Tunnel;
import dev.hbone.netty.TcpForwarder;
import dev.hbone.netty.TlsProvider;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

/**
 * A first end-to-end figure on loopback, measured in one run so the ratios mean something: throughput of one
 * connection and 1-byte round-trip latency, plain TCP vs the same TCP service reached through HBONE (client Tunnel
 * API → mTLS 1.3 + HTTP/2 → server → zero-copy splice → TCP). Everything runs in this JVM (client, server, service);
 * separate processes are a later step.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar dev.hbone.benchmarks.hbone.LoopbackComparison [MiB] [pings]}
 */
public final class LoopbackComparison {
    private LoopbackComparison() { }

    public static void main(String[] args) throws Exception {
        long mib = args.length > 0 ? Long.parseLong(args[0]) : 512;
        int pings = args.length > 1 ? Integer.parseInt(args[1]) : 20_000;
        System.out.printf("JDK %s, TLS provider %s, %d MiB per throughput run, %d pings%n",
                          Runtime.version(), TlsProvider.defaultProvider(), mib, pings);
        try (BenchMesh.TcpService sink = new BenchMesh.TcpService(false);
             BenchMesh.TcpService echo = new BenchMesh.TcpService(true);
             BenchMesh mesh = new BenchMesh(TcpForwarder.builder().build())) {
            for (int round = 0; round < 2; round++) { // the first round warms up
                double tcp = tcpThroughput(sink.address(), mib);
                double hbone = hboneThroughput(mesh, sink.authority(), mib);
                Histogram tcpLat = tcpLatency(echo.address(), pings);
                Histogram hboneLat = hboneLatency(mesh, echo.authority(), pings);
                System.out.printf("%s throughput MB/s: tcp %.0f, hbone %.0f (%.0f %%)%n",
                                  round == 0 ? "warm-up" : "result ", tcp, hbone, 100 * hbone / tcp);
                System.out.printf("%s 1-byte RTT us p50/p90/p99: tcp %.1f/%.1f/%.1f, hbone %.1f/%.1f/%.1f%n",
                                  round == 0 ? "warm-up" : "result ",
                                  us(tcpLat, 50), us(tcpLat, 90), us(tcpLat, 99),
                                  us(hboneLat, 50), us(hboneLat, 90), us(hboneLat, 99));
            }
        }
        System.exit(0);
    }

    private static double us(Histogram h, double percentile) {
        return h.getValueAtPercentile(percentile) / 1000.0;
    }

    private static double tcpThroughput(InetSocketAddress sink, long mib) throws IOException {
        try (SocketChannel c = SocketChannel.open(sink)) {
            c.socket().setTcpNoDelay(true);
            ByteBuffer buf = ByteBuffer.allocateDirect(1024 * 1024);
            long start = System.nanoTime();
            for (long i = 0; i < mib; i++) {
                buf.clear();
                while (buf.hasRemaining()) {
                    c.write(buf);
                }
            }
            return mib * 1048576.0 / 1e6 / ((System.nanoTime() - start) / 1e9);
        }
    }

    private static double hboneThroughput(BenchMesh mesh, String authority, long mib) throws Exception {
        Tunnel t = mesh.client.open(mesh.request(authority)).get(10, TimeUnit.SECONDS);
        ByteBuffer buf = ByteBuffer.allocate(1024 * 1024);
        long start = System.nanoTime();
        CompletableFuture<Void> previous = CompletableFuture.completedFuture(null);
        for (long i = 0; i < mib; i++) { // two writes in flight
            buf.clear();
            CompletableFuture<Void> f = t.write(buf);
            previous.get(30, TimeUnit.SECONDS);
            previous = f;
        }
        previous.get(30, TimeUnit.SECONDS);
        double mbps = mib * 1048576.0 / 1e6 / ((System.nanoTime() - start) / 1e9);
        t.shutdownOutput();
        t.abort();
        return mbps;
    }

    private static Histogram tcpLatency(InetSocketAddress echo, int pings) throws IOException {
        Histogram h = new Histogram(3);
        try (SocketChannel c = SocketChannel.open(echo)) {
            c.socket().setTcpNoDelay(true);
            ByteBuffer one = ByteBuffer.allocateDirect(1);
            for (int i = 0; i < pings; i++) {
                long start = System.nanoTime();
                one.clear();
                c.write(one);
                one.clear();
                while (one.hasRemaining()) {
                    if (c.read(one) < 0) {
                        throw new IOException("echo closed");
                    }
                }
                h.recordValue(System.nanoTime() - start);
            }
        }
        return h;
    }

    private static Histogram hboneLatency(BenchMesh mesh, String authority, int pings) throws Exception {
        Histogram h = new Histogram(3);
        Tunnel t = mesh.client.open(mesh.request(authority)).get(10, TimeUnit.SECONDS);
        java.util.concurrent.BlockingQueue<ByteBuffer> replies = new java.util.concurrent.LinkedBlockingQueue<>();
        Flow.Subscription[] sub = new Flow.Subscription[1];
        t.inbound().subscribe(new Flow.Subscriber<>() {
            @Override public void onSubscribe(Flow.Subscription s) { sub[0] = s; s.request(1); }
            @Override public void onNext(ByteBuffer item) { replies.add(item); } // never block the event loop
            @Override public void onError(Throwable e) { }
            @Override public void onComplete() { }
        });
        ByteBuffer one = ByteBuffer.allocate(1);
        for (int i = 0; i < pings; i++) {
            long start = System.nanoTime();
            one.clear();
            t.write(one);
            replies.take();
            h.recordValue(System.nanoTime() - start);
            sub[0].request(1);
        }
        t.abort();
        return h;
    }
}
