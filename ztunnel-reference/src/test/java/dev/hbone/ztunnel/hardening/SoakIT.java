package dev.hbone.ztunnel.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelRequest;
import dev.hbone.netty.HboneTls;
import dev.hbone.netty.NettyHboneClient;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import dev.hbone.ztunnel.support.BlockingEcho;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bounded soak of the node proxy process (not in the default build: {@code ./mvnw -B -pl ztunnel-reference -am
 * verify -Psoak}, {@code -Dsoak.minutes=N}, default 3). Mixed traffic through its 15008 for the whole time: many short
 * tunnels (random 1 B - 64 KiB echoed and compared, then half-closed), some from a fresh client each time (new TLS
 * handshakes); long tunnels pumping data the whole time; CONNECTs from a denied identity (401); CONNECTs to a port
 * nobody listens on (503); and Python's h2 + ssl as a second HBONE client (hbone-netty's {@code hbone_peer.py},
 * 1 MiB integrity checks). The proxy runs with Netty's leak detection {@code paranoid}.
 *
 * <p>Every 10 s the traffic pauses for a moment: exchanges in progress finish, no new one starts, the long tunnels
 * stop writing until all they wrote has come back (they stay open, as do the pooled connections); then the proxy's
 * heap after a full GC is read and the traffic resumes. Sampled so, without the megabytes in flight that vary from one
 * instant to the next, the heap shows what the proxy retains.
 *
 * <p>Asserts: every exchange gave the expected result (no unexpected error); the sampled heap is flat — after the
 * first third (warm-up), the last third's median is at most {@link #UNDER_LOAD_TOLERANCE_KIB} above the middle
 * third's and the least-squares trend over the last two thirds is under {@link #SLOPE_TOLERANCE_KIB_PER_MIN} — and
 * once the traffic has stopped and every connection is closed, it is back within {@link #AFTER_TOLERANCE_KIB} of the
 * baseline measured before the traffic (a leak of 1 KiB per tunnel over the thousands of tunnels of a run would
 * exceed it); no {@code LEAK:}, {@code ERROR} or OutOfMemoryError in the proxy's output.
 * Figures go to {@code target/hardening/soak.md}; HARDENING.md has one run's.
 */
class SoakIT {
    static final String TD = "cluster.local";
    static final String IP = "127.0.8.1";
    static final double MINUTES = Double.parseDouble(System.getProperty("soak.minutes", "3"));
    /** Heap after GC once the traffic has stopped and every tunnel is closed, above the baseline before it. */
    static final long AFTER_TOLERANCE_KIB = 4 * 1024;
    /** Sampled heap: the last third's median above the middle third's. */
    static final long UNDER_LOAD_TOLERANCE_KIB = 2 * 1024;
    /** Sampled heap: least-squares trend over the last two thirds. */
    static final long SLOPE_TOLERANCE_KIB_PER_MIN = 1024;
    static final int LONG_TUNNELS = 8;
    static final int SHORT_WORKERS = 4;
    static final SpiffeId SERVER = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/server");
    static final SpiffeId CLIENT = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/client");
    static final SpiffeId DENIED = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/denied");

    @TempDir
    Path dir;

    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
    /** Traffic holds the read side for each exchange; the sampler takes the write side to pause it. */
    private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock(true);
    private final List<String> unexpected = java.util.Collections.synchronizedList(new ArrayList<>());

    private void count(String what) {
        counts.computeIfAbsent(what, k -> new LongAdder()).increment();
    }

    private long counted(String what) {
        LongAdder a = counts.get(what);
        return a == null ? 0 : a.sum();
    }

    private void unexpected(String what, Throwable t) {
        if (unexpected.size() < 50) {
            unexpected.add(what + ": " + t);
        }
        count("unexpected");
    }

    @Test
    void mixedTrafficForMinutesLeavesTheHeapFlatAndNothingLeaked() throws Exception {
        PythonPeer.requireH2();
        BlockingEcho echo = new BlockingEcho(new InetSocketAddress(IP, 0));
        int closedPort;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(IP, 0));
            closedPort = s.getLocalPort();
        }
        CertificateAuthority ca = CertificateAuthority.builder(TrustDomain.parse(TD)).build();
        ca.save(dir.resolve("ca"));
        X509Svid python = ca.issue(SpiffeId.parse("spiffe://cluster.local/ns/default/sa/python"), Duration.ofHours(1));
        Hardening.writeChain(dir.resolve("python.pem"), python.getChain());
        Hardening.writeKey(dir.resolve("python-key.pem"), python.getPrivateKey());
        Hardening.writeChain(dir.resolve("root.pem"), new ArrayList<>(ca.bundle().getX509Authorities()));
        Files.writeString(dir.resolve("mesh.yaml"), """
                workloads:
                - {uid: n1/server, name: server, namespace: default, serviceAccount: server, workloadIps: ["127.0.8.1"], protocol: HBONE, node: n1}
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-denied, namespace: default}
                spec:
                  action: DENY
                  rules:
                  - from: [{source: {principals: ["cluster.local/ns/default/sa/denied"]}}]
                """);
        ExecutorService workers = Executors.newCachedThreadPool();
        List<SampledHeap> samples = new ArrayList<>();
        try (ProxyProcess proxy = ProxyProcess.start("128m", List.of("-Dio.netty.leakDetection.level=paranoid"),
                List.of("--local-xds-path=" + dir.resolve("mesh.yaml"), "--node-name=n1", "--ca-mode=pem",
                        "--ca-dir=" + dir.resolve("ca"), "--inbound-address=" + IP + ":15008",
                        "--inbound-plaintext-address=" + IP + ":0", "--outbound-address=" + IP + ":0",
                        "--admin-address=" + IP + ":0", "--stats-address=" + IP + ":0",
                        "--readiness-address=" + IP + ":0", "--connection-termination-deadline=1s",
                        "--log-level=info,access=off"), Map.of());
             IdentityStore store = IdentityStore.builder(SvidSources.localCa(ca, Duration.ofHours(1))).build()) {
            HboneTls tls = HboneTls.spiffe(store, TrustBundles.of(ca.bundle()));
            NettyHboneClient pooled = NettyHboneClient.builder().tls(tls).threads(2).build();
            long baselineKib = proxy.heapUsedKib();
            long deadline = System.nanoTime() + (long) (MINUTES * 60e9);
            BooleanSupplier running = () -> System.nanoTime() < deadline;
            TunnelRequest.Builder toEcho = request(CLIENT, IP + ":" + echo.port());

            List<CompletableFuture<?>> jobs = new ArrayList<>();
            List<GoodTraffic> longTunnels = new ArrayList<>();
            for (int i = 0; i < LONG_TUNNELS; i++) {
                longTunnels.add(new GoodTraffic(pooled.open(toEcho.build()).get(30, TimeUnit.SECONDS),
                                                gate.readLock()));
            }
            for (int i = 0; i < SHORT_WORKERS; i++) {
                jobs.add(CompletableFuture.runAsync(() -> shortTunnels(pooled, toEcho, running), workers));
            }
            jobs.add(CompletableFuture.runAsync(() -> freshClients(tls, toEcho, running), workers));
            jobs.add(CompletableFuture.runAsync(() -> refusals(pooled, request(DENIED, IP + ":" + echo.port()),
                                                               401, "denied", running), workers));
            jobs.add(CompletableFuture.runAsync(() -> refusals(pooled, request(CLIENT, IP + ":" + closedPort),
                                                               503, "refused upstream", running), workers));
            jobs.add(CompletableFuture.runAsync(() -> python(echo.port(), running), workers));

            long t0 = System.nanoTime();
            long rssPeak = 0;
            while (running.getAsBoolean()) {
                rssPeak = Math.max(rssPeak, proxy.rssKib());
                assertThat(gate.writeLock().tryLock(60, TimeUnit.SECONDS)).as("traffic paused for sampling").isTrue();
                try {
                    for (GoodTraffic l : longTunnels) {
                        Hardening.await("a long tunnel's bytes back", 30, l::drained);
                    }
                    samples.add(new SampledHeap((System.nanoTime() - t0) / 60e9, proxy.heapUsedKib(), proxy.rssKib()));
                } finally {
                    gate.writeLock().unlock();
                }
                assertThat(proxy.isAlive()).as("proxy alive; output:\n%s", tail(proxy)).isTrue();
                long next = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (running.getAsBoolean() && System.nanoTime() < next) {
                    Thread.sleep(200); // sampling on a fixed period, not waiting for a condition
                }
            }
            CompletableFuture.allOf(jobs.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            long longBytes = 0;
            for (GoodTraffic l : longTunnels) {
                assertThat(l.failure()).as("a long tunnel failed").isNull();
                longBytes += l.echoed();
                l.close();
            }
            pooled.drain(Duration.ofSeconds(2)).get(30, TimeUnit.SECONDS);
            // once the traffic has stopped and the client connections are gone
            Hardening.await("the proxy's HBONE connections closed", 30, () -> {
                try {
                    return Hardening.metric(proxy.scrape(), "istio_tcp_connections_opened_total")
                           == Hardening.metric(proxy.scrape(), "istio_tcp_connections_closed_total");
                } catch (Exception e) {
                    return false;
                }
            });
            long afterKib = proxy.heapUsedKib();
            double cpu = proxy.cpuSeconds();
            String scrape = proxy.scrape();

            String report = report(samples, baselineKib, afterKib, longBytes, cpu, rssPeak, scrape);
            Path out = Path.of("target", "hardening", "soak.md");
            Files.createDirectories(out.getParent());
            Files.writeString(out, report);
            System.out.println(report);

            assertThat(unexpected).as("unexpected results").isEmpty();
            assertThat(counted("short ok")).as("short tunnels").isGreaterThan(100);
            assertThat(counted("fresh ok")).as("tunnels on fresh connections").isGreaterThan(10);
            assertThat(counted("denied")).as("denied CONNECTs").isGreaterThan(10);
            assertThat(counted("refused upstream")).as("CONNECTs to a closed port").isGreaterThan(10);
            assertThat(counted("python ok")).as("Python client exchanges").isGreaterThan(2);
            assertThat(longBytes).as("long tunnels moved data").isGreaterThan(LONG_TUNNELS * 1024L * 1024);
            assertFlat(samples);
            assertThat(afterKib).as("heap after GC once the traffic stopped vs the baseline %d KiB", baselineKib)
                    .isLessThanOrEqualTo(baselineKib + AFTER_TOLERANCE_KIB);
            assertThat(proxy.output()).as("the proxy's output")
                    .doesNotContain("LEAK:").doesNotContain("OutOfMemoryError").doesNotContain(" ERROR ");
        } finally {
            workers.shutdownNow();
            echo.close();
        }
    }

    record SampledHeap(double minute, long heapKib, long rssKib) { }

    /** Flat heap: the warm-up (first third) is ignored; then no growth beyond the stated tolerances. */
    static void assertFlat(List<SampledHeap> samples) {
        assertThat(samples).as("heap samples").hasSizeGreaterThanOrEqualTo(6);
        int third = samples.size() / 3;
        List<SampledHeap> middle = samples.subList(third, 2 * third);
        List<SampledHeap> late = samples.subList(2 * third, samples.size());
        assertThat(median(late)).as("heap after GC: last third's median vs the middle third's (KiB), samples %s",
                                    samples).isLessThanOrEqualTo(median(middle) + UNDER_LOAD_TOLERANCE_KIB);
        assertThat(slopeKibPerMinute(samples.subList(third, samples.size())))
                .as("heap after GC: trend over the last two thirds (KiB/min), samples %s", samples)
                .isLessThan((double) SLOPE_TOLERANCE_KIB_PER_MIN);
    }

    static long median(List<SampledHeap> s) {
        long[] v = s.stream().mapToLong(SampledHeap::heapKib).sorted().toArray();
        return v[v.length / 2];
    }

    static double slopeKibPerMinute(List<SampledHeap> s) {
        double mx = s.stream().mapToDouble(SampledHeap::minute).average().orElseThrow();
        double my = s.stream().mapToDouble(SampledHeap::heapKib).average().orElseThrow();
        double num = 0;
        double den = 0;
        for (SampledHeap h : s) {
            num += (h.minute() - mx) * (h.heapKib() - my);
            den += (h.minute() - mx) * (h.minute() - mx);
        }
        return den == 0 ? 0 : num / den;
    }

    private static TunnelRequest.Builder request(SpiffeId source, String authority) {
        return TunnelRequest.builder().peerAddress(new InetSocketAddress(IP, 15008)).authority(authority)
                .sourceIdentity(source).expectedIdentity(SERVER).timeout(Duration.ofSeconds(30));
    }

    private void shortTunnels(NettyHboneClient client, TunnelRequest.Builder request, BooleanSupplier running) {
        while (running.getAsBoolean()) {
            gate.readLock().lock();
            try {
                exchange(client, request);
                count("short ok");
            } catch (Exception e) {
                unexpected("short tunnel", e);
            } finally {
                gate.readLock().unlock();
            }
        }
    }

    /** A new client (a new TLS connection and handshake) for each tunnel, closed afterwards. */
    private void freshClients(HboneTls tls, TunnelRequest.Builder request, BooleanSupplier running) {
        while (running.getAsBoolean()) {
            gate.readLock().lock();
            try {
                NettyHboneClient client = NettyHboneClient.builder().tls(tls).threads(1).build();
                try {
                    exchange(client, request);
                    count("fresh ok");
                } finally {
                    client.drain(Duration.ofSeconds(1)).get(30, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                unexpected("fresh client", e);
            } finally {
                gate.readLock().unlock();
            }
        }
    }

    /** One short tunnel: random bytes echoed and compared, then a half-close and the end of the tunnel. */
    private static void exchange(NettyHboneClient client, TunnelRequest.Builder request) throws Exception {
        byte[] data = new byte[1 + ThreadLocalRandom.current().nextInt(64 * 1024)];
        ThreadLocalRandom.current().nextBytes(data);
        Tunnel tunnel = client.open(request.build()).get(30, TimeUnit.SECONDS);
        try {
            byte[] got = new byte[data.length];
            AtomicLong received = new AtomicLong();
            CompletableFuture<Void> ended = new CompletableFuture<>();
            tunnel.inbound().subscribe(new Flow.Subscriber<>() {
                @Override
                public void onSubscribe(Flow.Subscription s) {
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(ByteBuffer item) {
                    int at = (int) received.getAndAdd(item.remaining());
                    if (at + item.remaining() <= got.length) {
                        item.get(got, at, item.remaining());
                    }
                }

                @Override
                public void onError(Throwable t) {
                    ended.completeExceptionally(t);
                }

                @Override
                public void onComplete() {
                    ended.complete(null);
                }
            });
            tunnel.write(ByteBuffer.wrap(data)).get(30, TimeUnit.SECONDS);
            tunnel.shutdownOutput().get(30, TimeUnit.SECONDS);
            ended.get(30, TimeUnit.SECONDS);
            if (received.get() != data.length || !Arrays.equals(got, data)) {
                throw new IllegalStateException("echo differs: sent " + data.length + ", got " + received.get());
            }
        } finally {
            tunnel.close();
        }
    }

    private void refusals(NettyHboneClient client, TunnelRequest.Builder request, int status, String name,
                          BooleanSupplier running) {
        while (running.getAsBoolean()) {
            gate.readLock().lock();
            try {
                Tunnel t = client.open(request.build()).get(30, TimeUnit.SECONDS);
                t.abort();
                unexpected(name, new IllegalStateException("opened"));
            } catch (ExecutionException e) {
                if (e.getCause() instanceof TunnelException te && te.status().orElse(-1) == status) {
                    count(name);
                } else {
                    unexpected(name, e.getCause());
                }
            } catch (Exception e) {
                unexpected(name, e);
            } finally {
                gate.readLock().unlock();
            }
        }
    }

    /** Python's h2 + ssl as an HBONE client: 1 MiB through the proxy's echo, hashes compared. */
    private void python(int echoPort, BooleanSupplier running) {
        Path script = Path.of("..", "hbone-netty", "src", "test", "python", "hbone_peer.py").toAbsolutePath();
        while (running.getAsBoolean()) {
            gate.readLock().lock();
            try {
                Process p = new ProcessBuilder(PythonPeer.PYTHON, script.toString(), "client",
                        "--cert", dir.resolve("python.pem").toString(), "--key", dir.resolve("python-key.pem").toString(),
                        "--ca", dir.resolve("root.pem").toString(), "--peer", IP + ":15008",
                        "--expect", SERVER.toString(), "integrity", IP + ":" + echoPort, Integer.toString(1 << 20))
                        .redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0 || !out.contains("\"status\": \"200\"")
                        || !sameHashes(out)) {
                    unexpected("python client", new IllegalStateException(out));
                } else {
                    count("python ok");
                }
            } catch (Exception e) {
                unexpected("python client", e);
            } finally {
                gate.readLock().unlock();
            }
        }
    }

    private static boolean sameHashes(String json) {
        java.util.regex.Matcher sent = java.util.regex.Pattern.compile("\"sent\": \"([0-9a-f]+)\"").matcher(json);
        java.util.regex.Matcher received = java.util.regex.Pattern.compile("\"received\": \"([0-9a-f]+)\"").matcher(json);
        return sent.find() && received.find() && sent.group(1).equals(received.group(1));
    }

    private String report(List<SampledHeap> samples, long baselineKib, long afterKib, long longBytes, double cpu,
                          long rssPeak, String scrape) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Soak: %.1f min, JDK %s, proxy -Xmx128m SerialGC, leak detection paranoid%n%n",
                               MINUTES, System.getProperty("java.version")));
        b.append("| traffic | count |\n|---|---|\n");
        for (String k : List.of("short ok", "fresh ok", "denied", "refused upstream", "python ok", "unexpected")) {
            b.append("| ").append(k).append(" | ").append(counted(k)).append(" |\n");
        }
        b.append(String.format(Locale.ROOT, "| long tunnels (%d), MiB echoed | %.0f |%n", LONG_TUNNELS,
                               longBytes / 1048576.0));
        b.append(String.format(Locale.ROOT, "| proxy: connections opened (reporter=destination) | %.0f |%n",
                               Hardening.metric(scrape, "istio_tcp_connections_opened_total", "reporter=\"destination\"")));
        b.append(String.format(Locale.ROOT, "%nProxy CPU %.1f s, peak RSS %d MiB.%n%n", cpu, rssPeak / 1024));
        b.append(String.format(Locale.ROOT, "Heap after full GC: %d KiB before the traffic, %d KiB after it (every"
                               + " tunnel closed; tolerance +%d).%n%n", baselineKib, afterKib, AFTER_TOLERANCE_KIB));
        b.append("| minute | heap after full GC (traffic paused), KiB | RSS, MiB |\n|---|---|---|\n");
        for (SampledHeap s : samples) {
            b.append(String.format(Locale.ROOT, "| %.2f | %d | %d |%n", s.minute(), s.heapKib(), s.rssKib() / 1024));
        }
        int third = samples.size() / 3;
        b.append(String.format(Locale.ROOT, "%nSampled heap: median of the middle third %d KiB, of the last third %d KiB"
                               + " (tolerance +%d); trend over the last two thirds %.0f KiB/min (tolerance %d).%n",
                               median(samples.subList(third, 2 * third)), median(samples.subList(2 * third,
                               samples.size())), UNDER_LOAD_TOLERANCE_KIB,
                               slopeKibPerMinute(samples.subList(third, samples.size())), SLOPE_TOLERANCE_KIB_PER_MIN));
        if (!unexpected.isEmpty()) {
            b.append("\nUnexpected:\n");
            unexpected.forEach(u -> b.append("- ").append(u).append('\n'));
        }
        return b.toString();
    }

    private static String tail(ProxyProcess proxy) {
        List<String> lines = proxy.lines();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }
}
