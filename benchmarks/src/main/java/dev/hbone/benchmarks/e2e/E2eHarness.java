package dev.hbone.benchmarks.e2e;

import dev.hbone.spiffe.ca.CertificateAuthority;
import io.spiffe.spiffeid.TrustDomain;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The end-to-end benchmark: the load client, two reference proxies (the shaded {@code ztunnel.jar}), two TLS relays
 * and the application servers run as separate processes on loopback, and every figure is reported next to baselines
 * measured in the same run:
 *
 * <pre>
 *  direct   client ─────────────────────────────────────────────── server
 *  tcp      client ─SOCKS5─ proxy A ─plain TCP (workload protocol TCP) ─ server
 *  tls      client ── relay-out ═mTLS 1.3, no HTTP/2═ relay-in ──── server
 *  hbone    client ─SOCKS5─ proxy A ═HBONE (mTLS + HTTP/2 CONNECT)═ proxy B ── server
 * </pre>
 *
 * For each JDK × TLS provider (the proxies and relays run on that JDK with {@code -Dhbone.tls.provider}; the load
 * client and servers always on the harness's own JDK): latency at a fixed request rate, throughput with 1/4/16
 * streams (pooled on one HBONE connection, or spread over one connection each), connection rates (warm pooled
 * stream opens; new tunnels with distinct identities), memory per idle and per active tunnel, CPU per GB.
 * Results: a JSON file, a Markdown summary next to it, and a PNG chart ({@link E2eChart}).
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.hbone.benchmarks.e2e.E2eHarness [--quick] [options]
 * </pre>
 * Run {@code --help} for the options.
 */
public final class E2eHarness {
    static final String TD = "cluster.local";
    static final int SINK = 9000;
    static final int ECHO = 9001;
    static final int SOCKS = 15080;
    static final int HBONE = 15008;
    static final int CLIENT_WORKLOADS = 16;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** What one run does. */
    static final class Options {
        boolean quick;
        List<String[]> jdks = new ArrayList<>();      // {label, home}
        List<String> providers = new ArrayList<>();
        Path ztunnelJar;
        Path out;
        Path work;
        int subnet = 20;
        int repeats = 3;
        double warmSeconds = 1;
        double windowSeconds = 2;
        double latencyWarmup = 1;
        double latencySeconds = 3;
        int rate = 1000;
        int messageSize = 1024;
        int[] streams = {1, 4, 16};
        int identities = 1500;
        int warmIdentities = 4000;
        int connectConcurrency = 32;
        double connectSeconds = 2;
        int idleTunnels = 10_000;
        int activeTunnels = 1000;
        int workerThreads = 2;
        long settleMillis = 500;
        List<String> phases = List.of("latency", "throughput", "connections", "memory");
        List<String> modes = List.of();
        String proxyHeap = "512m";
        String proxyLogLevel = "info,access=off";
        List<String> proxyJvmArgs = new ArrayList<>();
        Path loadJavaHome = Path.of(System.getProperty("java.home"));
        String command;

        static Options parse(String[] args) {
            Options o = new Options();
            o.command = "java -cp benchmarks/target/benchmarks.jar " + E2eHarness.class.getName()
                        + (args.length == 0 ? "" : " " + String.join(" ", args));
            List<String> a = Arrays.asList(args);
            o.quick = a.contains("--quick");
            if (o.quick) {
                // Every path and phase once, in seconds: a smoke test of the harness, not a measurement.
                o.subnet = 50;
                o.repeats = 1;
                o.warmSeconds = 0.2;
                o.windowSeconds = 0.3;
                o.latencyWarmup = 0.1;
                o.latencySeconds = 0.3;
                o.streams = new int[] {2};
                o.identities = 10;
                o.warmIdentities = 0;
                o.connectConcurrency = 4;
                o.connectSeconds = 0.3;
                o.idleTunnels = 100;
                o.activeTunnels = 20;
                o.settleMillis = 100;
                o.proxyHeap = "256m";
            }
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                switch (arg) {
                    case "--quick" -> { }
                    case "--jdk" -> {
                        String[] kv = args[++i].split("=", 2);
                        o.jdks.add(kv);
                    }
                    case "--providers" -> o.providers.addAll(List.of(args[++i].split(",")));
                    case "--ztunnel-jar" -> o.ztunnelJar = Path.of(args[++i]);
                    case "--out" -> o.out = Path.of(args[++i]);
                    case "--work" -> o.work = Path.of(args[++i]);
                    case "--subnet" -> o.subnet = Integer.parseInt(args[++i]);
                    case "--repeats" -> o.repeats = Integer.parseInt(args[++i]);
                    case "--window" -> o.windowSeconds = Double.parseDouble(args[++i]);
                    case "--latency-seconds" -> o.latencySeconds = Double.parseDouble(args[++i]);
                    case "--rate" -> o.rate = Integer.parseInt(args[++i]);
                    case "--streams" -> o.streams = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt)
                                                          .toArray();
                    case "--identities" -> o.identities = Integer.parseInt(args[++i]);
                    case "--warm-identities" -> o.warmIdentities = Integer.parseInt(args[++i]);
                    case "--idle-tunnels" -> o.idleTunnels = Integer.parseInt(args[++i]);
                    case "--active-tunnels" -> o.activeTunnels = Integer.parseInt(args[++i]);
                    case "--worker-threads" -> o.workerThreads = Integer.parseInt(args[++i]);
                    case "--proxy-jvm-arg" -> o.proxyJvmArgs.add(args[++i]);
                    case "--phases" -> o.phases = List.of(args[++i].split(","));
                    case "--modes" -> o.modes = List.of(args[++i].split(","));
                    case "--proxy-log-level" -> o.proxyLogLevel = args[++i];
                    case "--load-java-home" -> o.loadJavaHome = Path.of(args[++i]);
                    case "--help", "-h" -> {
                        System.out.println(HELP);
                        System.exit(0);
                    }
                    default -> throw new IllegalArgumentException("unknown option " + arg + " (--help)");
                }
            }
            if (o.jdks.isEmpty()) {
                if (o.quick) {
                    o.jdks.add(new String[] {Runtime.version().feature() + "", System.getProperty("java.home")});
                } else {
                    for (String[] candidate : List.of(
                            new String[] {"17", "/usr/lib/jvm/java-17-openjdk-amd64"},
                            new String[] {"25", "/usr/lib/jvm/temurin-25-jdk-amd64"})) {
                        if (Files.isExecutable(Path.of(candidate[1], "bin", "java"))) {
                            o.jdks.add(candidate);
                        }
                    }
                }
            }
            if (o.providers.isEmpty()) {
                o.providers.addAll(o.quick ? List.of("OPENSSL") : List.of("OPENSSL", "JDK"));
            }
            boolean inModule = !Files.isDirectory(Path.of("benchmarks")) && Files.isDirectory(Path.of("src"));
            Path root = inModule ? Path.of("..") : Path.of(".");
            if (o.ztunnelJar == null) {
                o.ztunnelJar = root.resolve("ztunnel-reference/target/ztunnel.jar");
            }
            String stamp = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
            if (o.work == null) {
                o.work = root.resolve("benchmarks/target/e2e/" + stamp);
            }
            if (o.out == null) {
                o.out = o.quick ? o.work.resolve("e2e-quick.json")
                                : root.resolve("benchmarks/results/e2e-" + LocalDate.now(ZoneOffset.UTC) + ".json");
            }
            int subnets = (o.identities + o.warmIdentities + 253) / 254;
            if (o.subnet + subnets > 254) {
                throw new IllegalArgumentException("--identities + --warm-identities need " + subnets
                        + " /24s above 127.0." + o.subnet + ".x: use a lower --subnet or fewer identities");
            }
            return o;
        }
    }

    static final String HELP = """
            E2eHarness [--quick] [options]
              --quick                  a tiny version in seconds (one JDK, default provider, few identities)
              --jdk LABEL=JAVA_HOME    JDK of the proxies and relays (repeatable; default 17 and 25 when installed)
              --providers P,...        OPENSSL and/or JDK (default both)
              --ztunnel-jar PATH       default ztunnel-reference/target/ztunnel.jar
              --out FILE.json          default benchmarks/results/e2e-<date>.json (quick: under --work)
              --work DIR               logs and configuration (default benchmarks/target/e2e/<time>)
              --subnet N               use 127.0.N.x (and the /24s above it for identities: 127.0.N+1.x onwards, 254
                                       each); default 20, quick 50
              --repeats N              repeats of each latency/throughput/connection measurement (default 3)
              --window S               throughput measurement window, seconds (default 2)
              --latency-seconds S      measured seconds per latency run (default 3, after 1 s warm-up)
              --rate RPS               latency request rate (default 1000)
              --streams 1,4,16         stream counts
              --identities N           distinct source identities for the new-tunnel rate (default 1500)
              --warm-identities N      more, used once each to warm the handshake path up first (default 4000)
              --idle-tunnels N         idle tunnels for the memory figure (default 10000)
              --active-tunnels N       of those, made active (default 1000)
              --worker-threads N       proxy data-path threads (default 2, as the proxy)
              --proxy-jvm-arg ARG      extra JVM option for proxies and relays (repeatable; e.g. JFR)
              --phases P,...           latency,throughput,connections,memory (default all; e.g. to profile one)
              --modes M,...            only these paths (direct,tcp,tls,hbone,hbone-pooled,hbone-spread,hbone-warm,
                                       hbone-new-identity); default all
              --proxy-log-level L      the proxies' --log-level (default info,access=off; "info" logs every connection)
              --load-java-home DIR     JDK of the load client and servers (default: this JVM's)
            """;

    private final Options o;
    private final String s;           // "127.0.N."
    private final String nodeA;
    private final String nodeB;       // also the server workload's IP
    private final String tcpDest;
    private final String relayOut;
    private final String relayIn;
    private final String client0;
    private final String memoryClient;
    private final String directSource;
    private final String identityStart;
    private final Path caDir;
    private final Path config;
    private ChildProcess server;
    private ChildProcess client;

    E2eHarness(Options o) {
        this.o = o;
        this.s = "127.0." + o.subnet + ".";
        this.nodeA = s + "1";
        this.nodeB = s + "2";
        this.tcpDest = s + "3";
        this.relayOut = s + "4";
        this.relayIn = s + "5";
        this.client0 = s + "10";
        this.memoryClient = s + (10 + CLIENT_WORKLOADS - 1);
        this.directSource = s + "9";
        this.identityStart = "127.0." + (o.subnet + 1) + ".1";
        this.caDir = o.work.resolve("ca");
        this.config = o.work.resolve("mesh.yaml");
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        Map<String, Object> result = new E2eHarness(o).run();
        System.out.println("results: " + o.out.toAbsolutePath().normalize());
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> cells = (List<Map<String, Object>>) result.get("cells");
        System.exit(cells.stream().allMatch(c -> c.get("error") == null) ? 0 : 1);
    }

    /** Runs everything; writes the JSON, the Markdown summary and the chart; returns the result tree. */
    Map<String, Object> run() throws Exception {
        if (!Files.isRegularFile(o.ztunnelJar)) {
            throw new IllegalStateException("no " + o.ztunnelJar.toAbsolutePath().normalize()
                                            + ": build it with ./mvnw -B -pl benchmarks -am package");
        }
        Files.createDirectories(o.work);
        long t0 = System.nanoTime();
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("date", ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_INSTANT));
        root.put("command", o.command);
        root.put("quick", o.quick);
        root.put("machine", machine());
        root.put("loadAverageAtStart", loadAverage());
        root.put("harnessJdk", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        root.put("settings", settings());
        List<Map<String, Object>> cells = new ArrayList<>();
        root.put("cells", cells);
        CertificateAuthority.builder(TrustDomain.parse(TD)).build().save(caDir);
        Thread cleanup = new Thread(() -> ChildProcess.closeAll(), "e2e-cleanup"); // a killed harness kills its own
        Runtime.getRuntime().addShutdownHook(cleanup);
        Files.writeString(config, meshConfig());
        try {
            startLoad();
            for (String[] jdk : o.jdks) {
                for (String provider : o.providers) {
                    Map<String, Object> cell = new LinkedHashMap<>();
                    cells.add(cell);
                    try {
                        runCell(jdk, provider, cell);
                    } catch (Exception e) {
                        cell.put("error", String.valueOf(e));
                        System.err.println("cell " + jdk[0] + "/" + provider + " failed: " + e);
                        e.printStackTrace();
                    }
                    write(root);
                }
            }
        } finally {
            if (client != null) {
                client.close();
            }
            if (server != null) {
                server.close();
            }
        }
        Runtime.getRuntime().removeShutdownHook(cleanup);
        root.put("loadAverageAtEnd", loadAverage());
        root.put("elapsedSeconds", (System.nanoTime() - t0) / 1e9);
        write(root);
        E2eChart.render(root, png(o.out));
        Files.writeString(md(o.out), E2eSummary.markdown(root));
        System.out.println(E2eSummary.markdown(root));
        return root;
    }

    static Path png(Path json) {
        return json.resolveSibling(json.getFileName().toString().replaceFirst("\\.json$", "") + ".png");
    }

    static Path md(Path json) {
        return json.resolveSibling(json.getFileName().toString().replaceFirst("\\.json$", "") + ".md");
    }

    private void write(Map<String, Object> root) throws IOException {
        Files.createDirectories(o.out.toAbsolutePath().getParent());
        Files.writeString(o.out, JsonText.write(root));
    }

    // --- set-up ----------------------------------------------------------------------------------------------------

    private Map<String, Object> settings() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("repeats", o.repeats);
        m.put("throughputWarmSeconds", o.warmSeconds);
        m.put("throughputWindowSeconds", o.windowSeconds);
        m.put("latencyWarmupSeconds", o.latencyWarmup);
        m.put("latencySeconds", o.latencySeconds);
        m.put("latencyRate", o.rate);
        m.put("messageBytes", o.messageSize);
        m.put("streams", Arrays.stream(o.streams).boxed().toList());
        m.put("identities", o.identities);
        m.put("warmUpIdentities", o.warmIdentities);
        m.put("connectConcurrency", o.connectConcurrency);
        m.put("idleTunnels", o.idleTunnels);
        m.put("activeTunnels", o.activeTunnels);
        m.put("proxyWorkerThreads", o.workerThreads);
        m.put("proxyJvm", String.join(" ", proxyJvm("<provider>")));
        m.put("addresses", "proxy A " + nodeA + ", proxy B / server " + nodeB + ", TCP server " + tcpDest
                           + ", relays " + relayOut + " → " + relayIn + ", client workloads " + client0 + "+"
                           + CLIENT_WORKLOADS + ", identities " + identityStart + "+" + o.identities);
        return m;
    }

    /** The local configuration both proxies read: node A serves the clients, node B the servers. */
    String meshConfig() {
        StringBuilder y = new StringBuilder("# generated by E2eHarness\nworkloads:\n");
        List<InetAddress> clients = E2eAddresses.range(client0 + "+" + CLIENT_WORKLOADS);
        for (int i = 0; i < clients.size(); i++) {
            workload(y, "n-a", "client-" + i, clients.get(i).getHostAddress(), "HBONE");
        }
        List<InetAddress> ids = E2eAddresses.range(identityStart + "+" + (o.identities + o.warmIdentities));
        for (int i = 0; i < ids.size(); i++) {
            workload(y, "n-a", "id-" + i, ids.get(i).getHostAddress(), "HBONE");
        }
        workload(y, "n-b", "server", nodeB, "HBONE");
        workload(y, "n-b", "server-tcp", tcpDest, "TCP");
        return y.toString();
    }

    private static void workload(StringBuilder y, String node, String name, String ip, String protocol) {
        y.append("- {uid: ").append(node).append('/').append(name).append(", name: ").append(name)
         .append(", namespace: bench, serviceAccount: ").append(name).append(", workloadIps: [\"").append(ip)
         .append("\"], protocol: ").append(protocol).append(", node: ").append(node).append("}\n");
    }

    private static String classPath() {
        StringBuilder cp = new StringBuilder();
        for (String part : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!part.isEmpty()) {
                if (cp.length() > 0) {
                    cp.append(File.pathSeparator);
                }
                cp.append(Path.of(part).toAbsolutePath());
            }
        }
        return cp.toString();
    }

    private void startLoad() throws Exception {
        server = ChildProcess.startJava("server", o.loadJavaHome, List.of("-Xmx256m", "-cp", classPath(),
                LoadServer.class.getName(), "--threads", "2",
                "--listen", nodeB + ":" + SINK + "=sink", "--listen", nodeB + ":" + ECHO + "=echo",
                "--listen", tcpDest + ":" + SINK + "=sink", "--listen", tcpDest + ":" + ECHO + "=echo"),
                Map.of(), o.work.resolve("server.log"));
        client = ChildProcess.startJava("client", o.loadJavaHome, List.of("-Xmx512m", "-cp", classPath(),
                LoadClient.class.getName()), Map.of(), o.work.resolve("client.log"));
        server.await(Pattern.compile("^READY"), Duration.ofSeconds(60));
    }

    List<String> proxyJvm(String provider) {
        // As bin/ztunnel runs the proxy, plus the provider under test.
        List<String> a = new ArrayList<>(List.of("-XX:+UseG1GC", "-Xms64m", "-Xmx" + o.proxyHeap,
                "-XX:+ExitOnOutOfMemoryError", "-Dio.netty.leakDetection.level=disabled",
                "-Dhbone.tls.provider=" + provider));
        a.addAll(o.proxyJvmArgs);
        return a;
    }

    /** The proxies and relays of one JDK × provider. */
    private final class Cell implements AutoCloseable {
        final ChildProcess a;
        final ChildProcess b;
        final ChildProcess out;
        final ChildProcess in;
        final String tag;

        Cell(Path javaHome, String provider, String tag) throws Exception {
            this.tag = tag;
            List<ChildProcess> started = new ArrayList<>();
            try {
                a = proxy(javaHome, provider, tag, "proxy-a", nodeA, "n-a");
                started.add(a);
                b = proxy(javaHome, provider, tag, "proxy-b", nodeB, "n-b");
                started.add(b);
                out = relay(javaHome, provider, tag, "relay-out", "out", relayOut, relayIn, "relay-in");
                started.add(out);
                in = relay(javaHome, provider, tag, "relay-in", "in", relayIn, nodeB, null);
                started.add(in);
                for (ChildProcess p : List.of(a, b)) {
                    awaitProxy(p, provider);
                }
                for (ChildProcess p : List.of(out, in)) {
                    String got = p.await(Pattern.compile("^READY (\\w+)"), Duration.ofSeconds(90)).group(1);
                    if (!got.equals(provider)) {
                        throw new IllegalStateException(p + " runs TLS provider " + got + ", not " + provider);
                    }
                }
            } catch (Exception e) {
                started.forEach(ChildProcess::close);
                throw e;
            }
        }

        List<ChildProcess> hbonePath() {
            return List.of(a, b);
        }

        @Override
        public void close() {
            for (ChildProcess p : List.of(a, b, out, in)) {
                p.close();
            }
        }
    }

    private ChildProcess proxy(Path javaHome, String provider, String tag, String name, String ip, String node)
            throws IOException {
        List<String> args = new ArrayList<>(proxyJvm(provider));
        args.addAll(List.of("-jar", o.ztunnelJar.toAbsolutePath().toString(),
                "--local-xds-path=" + config.toAbsolutePath(), "--node-name=" + node, "--ca-mode=pem",
                "--ca-dir=" + caDir.toAbsolutePath(), "--trust-domain=" + TD,
                "--inbound-address=" + ip + ":" + HBONE, "--inbound-plaintext-address=" + ip + ":0",
                "--outbound-address=" + ip + ":0", "--enable-socks5=true", "--socks5-address=" + ip + ":" + SOCKS,
                "--admin-address=" + ip + ":0", "--stats-address=" + ip + ":0", "--readiness-address=" + ip + ":0",
                "--connection-termination-deadline=1s", "--worker-threads=" + o.workerThreads,
                "--log-level=" + o.proxyLogLevel));
        return ChildProcess.startJava(name, javaHome, args, Map.of(), o.work.resolve(tag + "-" + name + ".log"));
    }

    private final Map<String, URI> stats = new java.util.concurrent.ConcurrentHashMap<>();

    private void awaitProxy(ChildProcess p, String provider) throws Exception {
        Matcher st = p.await(Pattern.compile("stats listening on ([0-9.]+):(\\d+)"), Duration.ofSeconds(120));
        stats.put(p.name(), URI.create("http://" + st.group(1) + ":" + st.group(2) + "/metrics"));
        Matcher m = p.await(Pattern.compile("readiness listening on ([0-9.]+):(\\d+)"), Duration.ofSeconds(120));
        URI ready = URI.create("http://" + m.group(1) + ":" + m.group(2) + "/healthz/ready");
        String got = p.await(Pattern.compile("TLS provider (\\w+)"), Duration.ofSeconds(120)).group(1);
        if (!got.equals(provider)) {
            throw new IllegalStateException(p + " runs TLS provider " + got + ", not " + provider);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(5))
                                                              .build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
                last = r.statusCode() + " " + r.body();
            } catch (IOException e) {
                last = e.toString();
            }
            if (!p.isAlive()) {
                break;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(p + " not ready: " + last + "\n" + p.tail());
    }

    private ChildProcess relay(Path javaHome, String provider, String tag, String name, String mode, String listen,
                               String target, String peer) throws IOException {
        List<String> args = new ArrayList<>(proxyJvm(provider));
        args.addAll(List.of("-cp", classPath(), TlsRelay.class.getName(), "--mode", mode,
                "--ca-dir", caDir.toAbsolutePath().toString(), "--trust-domain", TD,
                "--identity", "spiffe://" + TD + "/ns/bench/sa/" + name, "--threads", Integer.toString(o.workerThreads),
                "--route", listen + ":" + SINK + "=" + target + ":" + SINK,
                "--route", listen + ":" + ECHO + "=" + target + ":" + ECHO));
        if (peer != null) {
            args.addAll(List.of("--peer-identity", "spiffe://" + TD + "/ns/bench/sa/" + peer));
        }
        return ChildProcess.startJava(name, javaHome, args, Map.of(), o.work.resolve(tag + "-" + name + ".log"));
    }

    // --- one JDK × provider ----------------------------------------------------------------------------------------

    private void runCell(String[] jdk, String provider, Map<String, Object> cell) throws Exception {
        Path home = Path.of(jdk[1]);
        String tag = "jdk" + jdk[0] + "-" + provider.toLowerCase(Locale.ROOT);
        cell.put("jdkLabel", jdk[0]);
        cell.put("javaHome", home.toString());
        cell.put("jdk", javaVersion(home));
        cell.put("provider", provider);
        cell.put("loadAverageAtStart", loadAverage());
        System.out.printf(Locale.ROOT, "=== JDK %s, %s (load %s)%n", jdk[0], provider, loadAverage());
        long start = System.nanoTime();
        try (Cell c = new Cell(home, provider, tag)) {
            cell.put("startupSeconds", (System.nanoTime() - start) / 1e9);
            Map<String, Object> idleProcesses = new LinkedHashMap<>();
            for (ChildProcess p : List.of(c.a, c.b, c.out, c.in)) {
                idleProcesses.put(p.name(), Map.of("rssKiB", p.rssKib(), "cpuSeconds", p.cpuSeconds()));
            }
            cell.put("atStart", idleProcesses);
            long warm = System.nanoTime();
            if (!o.quick) {
                warmUp(c);
            }
            cell.put("warmUpSeconds", (System.nanoTime() - warm) / 1e9);
            if (o.phases.contains("latency")) {
                cell.put("latency", latencyPhase(c));
            }
            if (o.phases.contains("throughput")) {
                cell.put("throughput", throughputPhase(c));
            }
            if (o.phases.contains("connections")) {
                cell.put("connections", connectionPhase(c));
            }
            if (o.phases.contains("memory")) {
                cell.put("memory", memoryPhase(c));
            }
            cell.put("proxyCounters", Map.of("proxy-a", counters(c.a), "proxy-b", counters(c.b)));
            cell.put("loadAverageAtEnd", loadAverage());
            cell.put("seconds", (System.nanoTime() - start) / 1e9);
            cell.put("goals", E2eSummary.goals(cell));
            for (ChildProcess p : List.of(c.a, c.b, c.out, c.in)) {
                if (!p.isAlive()) {
                    throw new IllegalStateException(p + " died:\n" + p.tail());
                }
            }
        }
    }

    private String via(String mode) {
        return switch (mode) {
            case "direct", "tls" -> "via=direct";
            default -> "via=socks socks=" + nodeA + ":" + SOCKS;
        };
    }

    private String target(String mode, int port) {
        return switch (mode) {
            case "direct" -> nodeB + ":" + port;
            case "tcp" -> tcpDest + ":" + port;
            case "tls" -> relayOut + ":" + port;
            default -> nodeB + ":" + port; // hbone
        };
    }

    private List<ChildProcess> path(Cell c, String mode) {
        return switch (mode) {
            case "direct" -> List.of();
            case "tcp" -> List.of(c.a);
            case "tls" -> List.of(c.out, c.in);
            default -> List.of(c.a, c.b);
        };
    }

    /**
     * Runs every path briefly before anything is recorded, so the proxies' JIT compilers and buffer pools are warm
     * and the first repeat is not a measurement of start-up.
     */
    private void warmUp(Cell c) throws Exception {
        for (String mode : List.of("tcp", "tls", "hbone")) {
            for (int sources : new int[] {1, 4}) {
                client.command(String.format(Locale.ROOT, "stream %s target=%s src=%s+%d n=4", via(mode),
                                             target(mode, SINK), client0, mode.equals("hbone") ? sources : 1),
                               "READY", Duration.ofSeconds(60));
                Thread.sleep((long) (o.warmSeconds * 1000 + o.windowSeconds * 500));
                client.command("stop", "DONE", Duration.ofSeconds(60));
            }
            client.command(String.format(Locale.ROOT, "latency %s target=%s src=%s+1 n=4 rate=%d size=%d warmup=0 "
                                                      + "seconds=%s", via(mode), target(mode, ECHO), client0, o.rate,
                                         o.messageSize, o.latencyWarmup + o.latencySeconds / 2),
                           "RESULT", Duration.ofSeconds(120));
            client.command(String.format(Locale.ROOT, "connect %s target=%s src=%s+1 count=100000000 concurrency=8 "
                                                      + "seconds=%s", via(mode), target(mode, ECHO), client0,
                                         o.connectSeconds / 2), "RESULT", Duration.ofSeconds(120));
        }
        if (o.warmIdentities > 0) {
            // New tunnels with identities of their own (the handshake path), from addresses the measurement never uses.
            String first = E2eAddresses.range(identityStart + "+" + (o.identities + 1)).get(o.identities)
                                       .getHostAddress();
            client.command(String.format(Locale.ROOT, "connect %s target=%s src=%s+%d count=%d concurrency=%d "
                                                      + "seconds=120", via("hbone"), target("hbone", ECHO), first,
                                         o.warmIdentities, o.warmIdentities, o.connectConcurrency),
                           "RESULT", Duration.ofSeconds(200));
        }
        Thread.sleep(o.settleMillis);
    }

    // Latency: open-loop requests at a fixed rate from the intended send time, 1 KB each way.
    private List<Map<String, Object>> latencyPhase(Cell c) throws Exception {
        List<Map<String, Object>> runs = new ArrayList<>();
        List<String> modes = selected(List.of("direct", "tcp", "tls", "hbone"));
        for (int r = 0; r < o.repeats; r++) {
            for (int n : o.streams) {
                for (String mode : rotate(modes, r)) {
                    String cmd = String.format(Locale.ROOT, "latency %s target=%s src=%s+%d n=%d rate=%d size=%d "
                                                            + "warmup=%s seconds=%s",
                            via(mode), target(mode, ECHO), client0, 1, n, o.rate, o.messageSize, o.latencyWarmup,
                            o.latencySeconds);
                    double cpu0 = cpu(path(c, mode));
                    Map<String, Object> res = JsonText.parseObject(client.command(cmd, "RESULT",
                            Duration.ofSeconds((long) (o.latencyWarmup + o.latencySeconds) + 60)));
                    double cpu1 = cpu(path(c, mode));
                    Map<String, Object> run = new LinkedHashMap<>();
                    run.put("mode", mode);
                    run.put("streams", n);
                    run.put("repeat", r);
                    run.putAll(res);
                    run.put("proxyCpuSeconds", cpu1 - cpu0);
                    runs.add(run);
                    System.out.printf(Locale.ROOT, "latency %-6s n=%-2d p50 %7.1f p90 %7.1f p99 %7.1f µs%n", mode,
                                      n, num(res, "p50us"), num(res, "p90us"), num(res, "p99us"));
                }
            }
        }
        return runs;
    }

    // Throughput: as fast as the client can write, measured where the bytes arrive.
    private List<Map<String, Object>> throughputPhase(Cell c) throws Exception {
        List<Map<String, Object>> runs = new ArrayList<>();
        List<String> modes = selected(List.of("direct", "tcp", "tls", "hbone-pooled", "hbone-spread"));
        for (int r = 0; r < o.repeats; r++) {
            for (int n : o.streams) {
                for (String mode : rotate(modes, r)) {
                    if (mode.equals("hbone-spread") && n == 1) {
                        continue; // one stream: the same as pooled
                    }
                    String base = mode.startsWith("hbone") ? "hbone" : mode;
                    // pooled: every stream from one client workload (one pool key, one connection);
                    // spread: stream i from client workload i (its own identity, so its own connection)
                    int sources = mode.equals("hbone-spread") ? n : 1;
                    String cmd = String.format(Locale.ROOT, "stream %s target=%s src=%s+%d n=%d", via(base),
                                               target(base, SINK), client0, sources, n);
                    List<ChildProcess> path = path(c, base);
                    client.command(cmd, "READY", Duration.ofSeconds(60));
                    Thread.sleep((long) (o.warmSeconds * 1000));
                    long bytes0 = sunk();
                    long t0 = System.nanoTime();
                    double cpu0 = cpu(path);
                    Thread.sleep((long) (o.windowSeconds * 1000));
                    long bytes1 = sunk();
                    long t1 = System.nanoTime();
                    double cpu1 = cpu(path);
                    Map<String, Object> rss = new LinkedHashMap<>();
                    for (ChildProcess p : path) {
                        rss.put(p.name(), p.rssKib());
                    }
                    Map<String, Object> done = JsonText.parseObject(client.command("stop", "DONE",
                                                                                   Duration.ofSeconds(60)));
                    double seconds = (t1 - t0) / 1e9;
                    double gb = (bytes1 - bytes0) / 1e9;
                    Map<String, Object> run = new LinkedHashMap<>();
                    run.put("mode", mode);
                    run.put("streams", n);
                    run.put("repeat", r);
                    run.put("MBps", (bytes1 - bytes0) / 1e6 / seconds);
                    run.put("seconds", seconds);
                    run.put("proxyCpuSeconds", cpu1 - cpu0);
                    run.put("proxyCpuSecondsPerGB", path.isEmpty() || gb <= 0 ? null : (cpu1 - cpu0) / gb);
                    run.put("rssKiB", rss);
                    run.put("writerFailures", done.get("failures"));
                    runs.add(run);
                    System.out.printf(Locale.ROOT, "throughput %-12s n=%-2d %8.1f MB/s  %.2f CPU s/GB%n", mode, n,
                                      (bytes1 - bytes0) / 1e6 / seconds,
                                      path.isEmpty() || gb <= 0 ? 0 : (cpu1 - cpu0) / gb);
                    Thread.sleep(o.settleMillis); // let the proxies close the streams before the next run
                }
            }
        }
        return runs;
    }

    // Connection rates: warm stream opens on a pooled connection, and new tunnels with distinct identities.
    private Map<String, Object> connectionPhase(Cell c) throws Exception {
        Map<String, Object> m = new LinkedHashMap<>();
        List<Map<String, Object>> runs = new ArrayList<>();
        m.put("runs", runs);
        List<InetAddress> ids = E2eAddresses.range(identityStart + "+" + o.identities);
        int chunk = Math.max(1, ids.size() / o.repeats);
        for (int r = 0; r < o.repeats; r++) {
            for (String kind : rotate(selected(List.of("direct", "tcp", "hbone-warm", "hbone-new-identity")), r)) {
                String base = kind.startsWith("hbone") ? "hbone" : kind;
                String cmd;
                if (kind.equals("hbone-new-identity")) {
                    String first = ids.get(r * chunk).getHostAddress();
                    cmd = String.format(Locale.ROOT, "connect %s target=%s src=%s+%d count=%d concurrency=%d "
                                                     + "seconds=120", via(base), target(base, ECHO), first, chunk,
                                        chunk, o.connectConcurrency);
                } else {
                    // Direct connections come from an address no proxy binds: their TIME_WAITs must not use up the
                    // ports of the client workloads' addresses, from which the proxies open upstream connections.
                    // The others come from all the client workloads in turn (one warm pooled connection each): the
                    // load client's sockets pick their port when they bind, among the ports no socket of the address
                    // holds, so ~8 000 TIME_WAITs on one address (two repeats) made every bind scan a full range and
                    // halved the rate of the later repeats.
                    cmd = String.format(Locale.ROOT, "connect %s target=%s src=%s count=4000 concurrency=%d "
                                                     + "seconds=%s", via(base), target(base, ECHO),
                                        kind.equals("direct") ? directSource + "+1"
                                                              : client0 + "+" + CLIENT_WORKLOADS,
                                        Math.min(16, o.connectConcurrency), o.connectSeconds);
                }
                List<ChildProcess> path = path(c, base);
                double cpu0 = cpu(path);
                Map<String, Object> res = JsonText.parseObject(client.command(cmd, "RESULT", Duration.ofSeconds(200)));
                double cpu1 = cpu(path);
                Map<String, Object> run = new LinkedHashMap<>();
                run.put("kind", kind);
                run.put("repeat", r);
                run.putAll(res);
                double ok = num(res, "ok");
                run.put("proxyCpuMsPerConnection", ok > 0 && !path.isEmpty() ? (cpu1 - cpu0) * 1000 / ok : null);
                runs.add(run);
                System.out.printf(Locale.ROOT, "connect %-18s %8.1f /s (ok %d, failed %d)%n", kind,
                                  num(res, "perSecond"), (long) ok, (long) num(res, "failed"));
                Thread.sleep(o.settleMillis);
            }
        }
        return m;
    }

    // Memory: thousands of idle tunnels multiplexed on pooled connections, then some of them active.
    private Map<String, Object> memoryPhase(Cell c) throws Exception {
        Map<String, Object> m = new LinkedHashMap<>();
        if (!o.quick && o.phases.contains("connections")) {
            // Every client socket binds its workload address, and a port bound that way (TIME_WAIT included) is
            // off limits to the automatic source ports of the proxies' upstream connections: the tens of
            // thousands the connection-rate runs left behind made thousands of idle tunnels fail (503 upstream).
            // TIME_WAIT lasts 60 s on Linux.
            Thread.sleep(61_000);
        }
        Thread.sleep(2 * o.settleMillis);
        Map<String, Object> before = memory(c.hbonePath());
        histograms(c, "before");
        // From the last client workload: proxy B opens the 10 000 upstream connections from its address (the
        // source IP is kept), whose ports the connection-rate runs have not filled with TIME_WAITs.
        String cmd = String.format(Locale.ROOT, "idle %s target=%s src=%s+1 count=%d concurrency=64", via("hbone"),
                                   target("hbone", ECHO), memoryClient, o.idleTunnels);
        Map<String, Object> opened = JsonText.parseObject(client.command(cmd, "RESULT", Duration.ofSeconds(600)));
        Thread.sleep(2 * o.settleMillis);
        Map<String, Object> idle = memory(c.hbonePath());
        histograms(c, "idle");
        long upstream = Long.parseLong(server.command("conns", "CONNS", Duration.ofSeconds(10)));
        String k = client.command("active k=" + o.activeTunnels + " threads=8 size=" + o.messageSize, "READY",
                                  Duration.ofSeconds(60));
        Thread.sleep(4 * o.settleMillis);
        Map<String, Object> active = memory(c.hbonePath());
        Map<String, Object> done = JsonText.parseObject(client.command("stop", "DONE", Duration.ofSeconds(120)));
        client.command("closeidle", "RESULT", Duration.ofSeconds(120));
        m.put("idleTunnels", opened);
        m.put("upstreamConnectionsAtServer", upstream);
        m.put("activeTunnels", Long.parseLong(k.trim()));
        m.put("activeRoundTrips", done);
        m.put("before", before);
        m.put("idle", idle);
        m.put("active", active);
        double n = num(opened, "open");
        double ka = Long.parseLong(k.trim());
        Map<String, Object> per = new LinkedHashMap<>();
        for (ChildProcess p : c.hbonePath()) {
            Map<String, Object> perProcess = new LinkedHashMap<>();
            perProcess.put("idleHeapBytesPerTunnel", delta(before, idle, p.name(), "heapAfterGcKiB") * 1024 / n);
            perProcess.put("idleRssBytesPerTunnel", delta(before, idle, p.name(), "rssKiB") * 1024 / n);
            perProcess.put("activeExtraHeapBytesPerTunnel", delta(idle, active, p.name(), "heapAfterGcKiB") * 1024
                                                            / ka);
            perProcess.put("activeExtraRssBytesPerTunnel", delta(idle, active, p.name(), "rssKiB") * 1024 / ka);
            per.put(p.name(), perProcess);
        }
        m.put("perTunnel", per);
        System.out.println("memory " + per);
        return m;
    }

    /** The proxy's own failure counters at the end of a cell: every figure above ran without refusals? */
    private Map<String, Object> counters(ChildProcess p) throws Exception {
        Map<String, Object> m = new java.util.TreeMap<>();
        String text = HTTP.send(HttpRequest.newBuilder(stats.get(p.name())).timeout(Duration.ofSeconds(10)).build(),
                                HttpResponse.BodyHandlers.ofString()).body();
        for (String line : text.split("\n")) {
            if (line.startsWith("istio_connection_failures_total") || line.startsWith("istio_tls_handshake_failures")
                || line.startsWith("istio_tcp_connections_opened_total")) {
                String key = line.substring(0, line.lastIndexOf(' '));
                key = key.startsWith("istio_tcp_connections_opened_total") ? "istio_tcp_connections_opened_total"
                                                                             : key;
                double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                m.merge(key, v, (x, y) -> ((Double) x) + ((Double) y));
            }
        }
        return m;
    }

    /** What the tunnels are made of: the proxies' class histograms, next to the logs (not in quick mode). */
    private void histograms(Cell c, String when) throws Exception {
        if (!o.quick) {
            for (ChildProcess p : c.hbonePath()) {
                Files.writeString(o.work.resolve(c.tag + "-" + p.name() + "-histogram-" + when + ".txt"),
                                  p.jcmd("GC.class_histogram"));
            }
        }
    }

    private static double delta(Map<String, Object> from, Map<String, Object> to, String process, String key) {
        return num(sub(to, process), key) - num(sub(from, process), key);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> sub(Map<String, Object> m, String key) {
        return (Map<String, Object>) m.get(key);
    }

    /** Heap after a full GC (the processes in parallel: each jcmd is a JVM start), RSS and open descriptors. */
    private Map<String, Object> memory(List<ChildProcess> processes) throws Exception {
        List<java.util.concurrent.CompletableFuture<Long>> heaps = new ArrayList<>();
        for (ChildProcess p : processes) {
            heaps.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return p.heapAfterGcKib(o.work);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            }));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < processes.size(); i++) {
            ChildProcess p = processes.get(i);
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("heapAfterGcKiB", heaps.get(i).get(120, java.util.concurrent.TimeUnit.SECONDS));
            one.put("rssKiB", p.rssKib());
            one.put("fds", fds(p));
            m.put(p.name(), one);
        }
        return m;
    }

    private static long fds(ChildProcess p) throws IOException {
        try (var s = Files.list(Path.of("/proc", Long.toString(p.pid()), "fd"))) {
            return s.count();
        }
    }

    private long sunk() throws InterruptedException {
        return Long.parseLong(server.command("bytes", "BYTES", Duration.ofSeconds(10)).trim());
    }

    private static double cpu(List<ChildProcess> processes) throws IOException {
        double sum = 0;
        for (ChildProcess p : processes) {
            sum += p.cpuSeconds();
        }
        return sum;
    }

    static double num(Map<String, Object> m, String key) {
        Object v = m == null ? null : m.get(key);
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private List<String> selected(List<String> all) {
        return o.modes.isEmpty() ? all : all.stream().filter(m -> o.modes.contains(m)
                                                                   || m.startsWith("hbone") && o.modes.contains("hbone"))
                                            .toList();
    }

    /** The list started at {@code r}: repeats visit the modes in different orders, so drift spreads over all. */
    private static <T> List<T> rotate(List<T> list, int r) {
        List<T> out = new ArrayList<>(list);
        java.util.Collections.rotate(out, -(r % list.size()));
        return out;
    }

    // --- context ---------------------------------------------------------------------------------------------------

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    static Map<String, Object> machine() {
        Map<String, Object> m = new LinkedHashMap<>();
        try {
            List<String> cpuinfo = Files.readAllLines(Path.of("/proc/cpuinfo"));
            m.put("cpu", cpuinfo.stream().filter(l -> l.startsWith("model name")).findFirst()
                                .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown"));
            m.put("cpuMHz", cpuinfo.stream().filter(l -> l.startsWith("cpu MHz")).findFirst()
                                   .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown"));
            m.put("kernel", Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim());
            String mem = Files.readAllLines(Path.of("/proc/meminfo")).get(0);
            m.put("memory", mem.substring(mem.indexOf(':') + 1).trim());
        } catch (IOException e) {
            m.put("cpu", "unknown");
        }
        m.put("cores", Runtime.getRuntime().availableProcessors());
        return m;
    }

    private static String javaVersion(Path home) {
        try {
            Process p = new ProcessBuilder(home.resolve("bin/java").toString(), "-version").redirectErrorStream(true)
                                                                                           .start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor();
            String[] lines = out.split("\n");
            return lines.length > 1 ? lines[1].trim() : out;
        } catch (IOException | InterruptedException e) {
            return "unknown";
        }
    }
}
