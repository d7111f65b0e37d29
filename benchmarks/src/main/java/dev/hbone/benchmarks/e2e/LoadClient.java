package dev.hbone.benchmarks.e2e;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The harness's application client, one process driven by commands on stdin (one per line, {@code key=value}
 * arguments); it reaches a target either directly ({@code via=direct}) or through a node proxy's SOCKS5 listener
 * ({@code via=socks socks=IP:PORT}), always from a chosen source address ({@code src=A.B.C.D[+N]}: the workload
 * IP(s) the proxy recognises the client by).
 *
 * <ul>
 *   <li>{@code stream target= n= src= [chunk=65536]}: opens n connections (source i mod |src|), prints
 *       {@code READY}, then writes as fast as it can on each until {@code stop}, then {@code DONE {json}}. The
 *       harness measures at the receiving server, so buffered bytes do not count.</li>
 *   <li>{@code latency target= n= rate= size= warmup= seconds= src=}: open-loop requests of {@code size} bytes at a
 *       fixed total {@code rate} spread round-robin over n echo connections; the latency of each is measured from
 *       its <em>intended</em> send time (no coordinated omission); {@code RESULT {json}}.</li>
 *   <li>{@code connect target= src= count= concurrency= seconds=}: opens connections (through SOCKS5: until the
 *       proxy's success reply, i.e. the tunnel is established end to end) and closes them; source i mod |src|;
 *       stops after count or seconds; {@code RESULT {json}}.</li>
 *   <li>{@code idle target= src= count= concurrency=}: opens and keeps connections; {@code RESULT {json}}.
 *       {@code active k= threads= size=}: 1 KB echo round trips on the first k kept connections until {@code stop};
 *       {@code closeidle}.</li>
 * </ul>
 */
public final class LoadClient {
    private static final int TIMEOUT_MS = 30_000;

    private final List<Socket> idle = Collections.synchronizedList(new ArrayList<>());
    private Runnable stopper;

    private LoadClient() { }

    public static void main(String[] args) throws Exception {
        LoadClient client = new LoadClient();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            line = line.trim();
            if (line.isEmpty()) {
                continue;
            }
            if (line.equals("quit")) {
                break;
            }
            try {
                client.run(line);
            } catch (Throwable t) {
                System.out.println("ERROR " + t.toString().replace('\n', ' '));
            }
            System.out.flush();
        }
        System.exit(0);
    }

    private void run(String line) throws Exception {
        String[] words = line.split("\\s+");
        Map<String, String> a = new HashMap<>();
        for (int i = 1; i < words.length; i++) {
            int eq = words[i].indexOf('=');
            a.put(words[i].substring(0, eq), words[i].substring(eq + 1));
        }
        switch (words[0]) {
            case "stream" -> stream(a);
            case "stop" -> {
                Runnable s = stopper;
                stopper = null;
                if (s == null) {
                    throw new IllegalStateException("nothing to stop");
                }
                s.run();
            }
            case "latency" -> latency(a);
            case "connect" -> connect(a);
            case "idle" -> keepIdle(a);
            case "active" -> active(a);
            case "closeidle" -> {
                int n = idle.size();
                synchronized (idle) {
                    for (Socket s : idle) {
                        closeQuietly(s);
                    }
                    idle.clear();
                }
                reply("RESULT", Map.of("closed", n));
            }
            default -> throw new IllegalArgumentException("unknown command " + words[0]);
        }
    }

    // --- connections ---------------------------------------------------------------------------------------------

    private record Route(InetSocketAddress socks, InetSocketAddress target, List<InetAddress> sources) {
        static Route of(Map<String, String> a) {
            String via = a.getOrDefault("via", "direct");
            InetSocketAddress socks = via.equals("socks") ? E2eAddresses.parse(a.get("socks")) : null;
            return new Route(socks, E2eAddresses.parse(a.get("target")), E2eAddresses.range(a.get("src")));
        }

        InetAddress source(int i) {
            return sources.get(i % sources.size());
        }
    }

    /** Opens a connection from {@code source} to the target, through SOCKS5 when the route says so. */
    private static Socket open(Route route, InetAddress source) throws IOException {
        SocketChannel channel = SocketChannel.open();
        Socket s = channel.socket();
        try {
            s.setTcpNoDelay(true);
            s.bind(new InetSocketAddress(source, 0));
            s.connect(route.socks() != null ? route.socks() : route.target(), TIMEOUT_MS);
            s.setSoTimeout(TIMEOUT_MS);
            if (route.socks() != null) {
                socks5(s, route.target());
            }
            return s;
        } catch (IOException | RuntimeException e) {
            closeQuietly(s);
            throw e;
        }
    }

    /** RFC 1928 CONNECT without authentication; returns once the proxy answered success. */
    private static void socks5(Socket s, InetSocketAddress target) throws IOException {
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        out.write(new byte[] {5, 1, 0});
        out.flush();
        byte[] method = readFully(in, 2);
        if (method[0] != 5 || method[1] != 0) {
            throw new IOException("SOCKS5 method refused: " + method[1]);
        }
        byte[] ip = target.getAddress().getAddress();
        out.write(new byte[] {5, 1, 0, 1, ip[0], ip[1], ip[2], ip[3], (byte) (target.getPort() >> 8),
                              (byte) target.getPort()});
        out.flush();
        byte[] reply = readFully(in, 10);
        if (reply[1] != 0) {
            throw new IOException("SOCKS5 reply " + reply[1]);
        }
    }

    private static byte[] readFully(InputStream in, int n) throws IOException {
        byte[] b = new byte[n];
        int off = 0;
        while (off < n) {
            int r = in.read(b, off, n - off);
            if (r < 0) {
                throw new IOException("closed after " + off + " of " + n + " bytes");
            }
            off += r;
        }
        return b;
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    // --- stream ----------------------------------------------------------------------------------------------------

    private void stream(Map<String, String> a) throws Exception {
        Route route = Route.of(a);
        int n = Integer.parseInt(a.get("n"));
        int chunk = Integer.parseInt(a.getOrDefault("chunk", "65536"));
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                sockets.add(open(route, route.source(i)));
            }
        } catch (IOException e) {
            sockets.forEach(LoadClient::closeQuietly);
            throw e;
        }
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong written = new AtomicLong();
        AtomicInteger failures = new AtomicInteger();
        List<Thread> writers = new ArrayList<>();
        for (Socket s : sockets) {
            Thread t = new Thread(() -> {
                ByteBuffer buf = ByteBuffer.allocateDirect(chunk);
                SocketChannel ch = s.getChannel();
                long mine = 0;
                try {
                    while (running.get()) {
                        buf.clear();
                        while (buf.hasRemaining()) {
                            mine += ch.write(buf);
                        }
                    }
                } catch (IOException e) {
                    if (running.get()) {
                        failures.incrementAndGet();
                    }
                }
                written.addAndGet(mine);
            }, "writer");
            t.setDaemon(true);
            writers.add(t);
        }
        writers.forEach(Thread::start);
        System.out.println("READY");
        stopper = () -> {
            running.set(false);
            sockets.forEach(LoadClient::closeQuietly); // unblocks writers stuck on a full window
            for (Thread t : writers) {
                try {
                    t.join(10_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            reply("DONE", Map.of("written", written.get(), "failures", failures.get()));
        };
    }

    // --- latency ---------------------------------------------------------------------------------------------------

    private void latency(Map<String, String> a) throws Exception {
        Route route = Route.of(a);
        int n = Integer.parseInt(a.get("n"));
        double rate = Double.parseDouble(a.get("rate"));
        int size = Integer.parseInt(a.getOrDefault("size", "1024"));
        double warmup = Double.parseDouble(a.getOrDefault("warmup", "1"));
        double seconds = Double.parseDouble(a.get("seconds"));
        long warmupCount = (long) (warmup * rate);
        int total = (int) ((warmup + seconds) * rate);
        long periodNanos = (long) (1e9 / rate);
        List<Socket> sockets = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            sockets.add(open(route, route.source(i)));
        }
        Recorder response = new Recorder(3);
        Recorder service = new Recorder(3);
        long[] sentAt = new long[total];
        AtomicInteger received = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        long start = System.nanoTime() + 20_000_000L;
        CountDownLatch readersDone = new CountDownLatch(n);
        for (int c = 0; c < n; c++) {
            Socket s = sockets.get(c);
            int expected = total / n + (c < total % n ? 1 : 0); // requests c, c + n, c + 2n, ...
            Thread reader = new Thread(() -> {
                ByteBuffer buf = ByteBuffer.allocateDirect(size);
                SocketChannel ch = s.getChannel();
                try {
                    for (int got = 0; got < expected; got++) {
                        buf.clear();
                        while (buf.hasRemaining()) {
                            if (ch.read(buf) < 0) {
                                return;
                            }
                        }
                        long now = System.nanoTime();
                        int seq = (int) buf.getLong(0);
                        if (seq >= warmupCount) {
                            response.recordValue(Math.max(0, now - (start + seq * periodNanos)));
                            service.recordValue(Math.max(0, now - sentAt[seq]));
                        }
                        received.incrementAndGet();
                    }
                } catch (IOException e) {
                    errors.incrementAndGet();
                } finally {
                    readersDone.countDown();
                }
            }, "reader");
            reader.setDaemon(true);
            reader.start();
        }
        ByteBuffer[] out = new ByteBuffer[n];
        for (int c = 0; c < n; c++) {
            out[c] = ByteBuffer.allocateDirect(size);
        }
        long late = 0;
        for (int i = 0; i < total; i++) {
            long intended = start + i * periodNanos;
            waitUntil(intended);
            int c = i % n;
            ByteBuffer b = out[c];
            b.clear();
            b.putLong(0, i);
            long now = System.nanoTime();
            if (now - intended > periodNanos) {
                late++;
            }
            sentAt[i] = now;
            SocketChannel ch = sockets.get(c).getChannel();
            while (b.hasRemaining()) {
                ch.write(b);
            }
        }
        boolean complete = readersDone.await(10, TimeUnit.SECONDS) && received.get() >= total;
        sockets.forEach(LoadClient::closeQuietly);
        Histogram r = response.getIntervalHistogram();
        Histogram sv = service.getIntervalHistogram();
        Map<String, Object> result = new LinkedHashMap<>();
        percentiles(result, "", r);
        percentiles(result, "service_", sv);
        result.put("count", r.getTotalCount());
        result.put("received", received.get());
        result.put("sent", total);
        result.put("lateSends", late);
        result.put("errors", errors.get());
        result.put("complete", complete);
        reply("RESULT", result);
    }

    private static void percentiles(Map<String, Object> result, String prefix, Histogram h) {
        result.put(prefix + "p50us", h.getValueAtPercentile(50) / 1e3);
        result.put(prefix + "p90us", h.getValueAtPercentile(90) / 1e3);
        result.put(prefix + "p99us", h.getValueAtPercentile(99) / 1e3);
        result.put(prefix + "p999us", h.getValueAtPercentile(99.9) / 1e3);
        result.put(prefix + "maxus", h.getMaxValue() / 1e3);
        result.put(prefix + "meanus", h.getMean() / 1e3);
    }

    /** One reply line to the harness: {@code TAG {json}}. */
    private static void reply(String tag, Map<String, ?> result) {
        System.out.println(tag + " " + JsonText.line(result));
    }

    /** Sleeps until shortly before {@code deadline}, then spins: the timer's slack would otherwise add ~50 µs. */
    private static void waitUntil(long deadline) {
        long spinNanos = 100_000;
        for (long left = deadline - System.nanoTime(); left > 0; left = deadline - System.nanoTime()) {
            if (left > spinNanos) {
                LockSupport.parkNanos(left - spinNanos);
            } else {
                Thread.onSpinWait();
            }
        }
    }

    // --- connect ---------------------------------------------------------------------------------------------------

    private void connect(Map<String, String> a) throws Exception {
        Route route = Route.of(a);
        int count = Integer.parseInt(a.get("count"));
        int concurrency = Integer.parseInt(a.get("concurrency"));
        double seconds = Double.parseDouble(a.getOrDefault("seconds", "60"));
        Histogram h = new Histogram(3);
        AtomicInteger next = new AtomicInteger();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicLong lastDone = new AtomicLong();
        List<String> firstErrors = Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();
        long deadline = start + (long) (seconds * 1e9);
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        List<Future<?>> workers = new ArrayList<>();
        for (int w = 0; w < concurrency; w++) {
            workers.add(pool.submit(() -> {
                for (int i; (i = next.getAndIncrement()) < count && System.nanoTime() < deadline; ) {
                    long t0 = System.nanoTime();
                    try {
                        Socket s = open(route, route.source(i));
                        s.close();
                        long t1 = System.nanoTime();
                        synchronized (h) {
                            h.recordValue(t1 - t0);
                        }
                        ok.incrementAndGet();
                        lastDone.accumulateAndGet(t1, Math::max);
                    } catch (IOException | RuntimeException e) {
                        failed.incrementAndGet();
                        if (firstErrors.size() < 3) {
                            firstErrors.add(e.toString());
                        }
                    }
                }
            }));
        }
        for (Future<?> f : workers) {
            f.get();
        }
        pool.shutdown();
        double elapsed = (Math.max(lastDone.get(), start + 1) - start) / 1e9;
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("ok", ok.get());
        result.put("failed", failed.get());
        result.put("seconds", elapsed);
        result.put("perSecond", ok.get() / elapsed);
        result.put("p50ms", h.getValueAtPercentile(50) / 1e6);
        result.put("p99ms", h.getValueAtPercentile(99) / 1e6);
        result.put("errors", String.join("; ", firstErrors));
        reply("RESULT", result);
    }

    // --- idle and active -------------------------------------------------------------------------------------------

    private void keepIdle(Map<String, String> a) throws Exception {
        Route route = Route.of(a);
        int count = Integer.parseInt(a.get("count"));
        int concurrency = Integer.parseInt(a.get("concurrency"));
        AtomicInteger next = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        List<String> firstErrors = Collections.synchronizedList(new ArrayList<>());
        long start = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        List<Future<?>> workers = new ArrayList<>();
        for (int w = 0; w < concurrency; w++) {
            workers.add(pool.submit(() -> {
                for (int i; (i = next.getAndIncrement()) < count; ) {
                    try {
                        idle.add(open(route, route.source(i)));
                    } catch (IOException | RuntimeException e) {
                        failed.incrementAndGet();
                        if (firstErrors.size() < 3) {
                            firstErrors.add(e.toString());
                        }
                    }
                }
            }));
        }
        for (Future<?> f : workers) {
            f.get();
        }
        pool.shutdown();
        double elapsed = (System.nanoTime() - start) / 1e9;
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("open", idle.size());
        result.put("failed", failed.get());
        result.put("seconds", elapsed);
        result.put("errors", String.join("; ", firstErrors));
        reply("RESULT", result);
    }

    private void active(Map<String, String> a) {
        int k = Math.min(Integer.parseInt(a.get("k")), idle.size());
        int threads = Integer.parseInt(a.getOrDefault("threads", "8"));
        int size = Integer.parseInt(a.getOrDefault("size", "1024"));
        List<Socket> active;
        synchronized (idle) {
            active = new ArrayList<>(idle.subList(0, k));
        }
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong roundTrips = new AtomicLong();
        AtomicInteger failures = new AtomicInteger();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int first = t;
            Thread w = new Thread(() -> {
                ByteBuffer buf = ByteBuffer.allocateDirect(size);
                while (running.get()) {
                    for (int i = first; i < active.size() && running.get(); i += threads) {
                        SocketChannel ch = active.get(i).getChannel();
                        try {
                            buf.clear();
                            while (buf.hasRemaining()) {
                                ch.write(buf);
                            }
                            buf.clear();
                            while (buf.hasRemaining()) {
                                if (ch.read(buf) < 0) {
                                    throw new IOException("closed");
                                }
                            }
                            roundTrips.incrementAndGet();
                        } catch (IOException e) {
                            failures.incrementAndGet();
                        }
                    }
                }
            }, "active");
            w.setDaemon(true);
            workers.add(w);
        }
        workers.forEach(Thread::start);
        System.out.println("READY " + k);
        stopper = () -> {
            running.set(false);
            for (Thread t : workers) {
                try {
                    t.join(30_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            reply("DONE", Map.of("roundTrips", roundTrips.get(), "failures", failures.get()));
        };
    }
}
