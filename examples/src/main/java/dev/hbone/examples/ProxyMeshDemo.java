package dev.hbone.examples;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.ztunnel.accesslog.AccessLog;
import dev.hbone.ztunnel.cli.ZtunnelMain;
import dev.hbone.ztunnel.lifecycle.NodeProxy;
import dev.hbone.ztunnel.proxy.DataPathOptions;
import dev.hbone.ztunnel.proxy.OriginalDestination;
import io.spiffe.spiffeid.TrustDomain;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

/**
 * The main job's demo ({@code ./demo}): a small ambient mesh on loopback run by two reference node proxies
 * (ztunnel-reference's {@link NodeProxy}, in this process) on an embedded configuration.
 *
 * <p>{@code demo/ztunnel-mesh.yaml} is ztunnel's local configuration — workloads on 127.0.0.51–54, a service with a
 * VIP — followed by Istio resources: PeerAuthentication {@code STRICT} mesh-wide, an ALLOW and a DENY
 * AuthorizationPolicy. {@code node-1} serves productpage, ratings and scanner; {@code node-2} serves reviews, whose
 * application (an echo server) listens on 127.0.0.52:9080 and :9090. Clients enter the mesh through node-1's SOCKS5
 * listener from their workload address (no root, no traffic redirection); one plaintext client outside the mesh
 * calls reviews through node-2's inbound plaintext listener. Every connection's story is then read from the
 * proxies' own access-log records and metrics: identities on both ends, the deciding policy, bytes, refusals with
 * their reasons. Exit status 0 only if every scenario ended as the policies say it must.
 */
public final class ProxyMeshDemo {
    static final String CONFIG = "demo/ztunnel-mesh.yaml";
    static final String NODE1_IP = "127.0.0.51";
    static final String NODE2_IP = "127.0.0.52";
    static final String PRODUCTPAGE_IP = "127.0.0.51";
    static final String REVIEWS_IP = "127.0.0.52";
    static final String RATINGS_IP = "127.0.0.53";
    static final String SCANNER_IP = "127.0.0.54";
    static final String OUTSIDE_IP = "127.0.0.59";
    static final String REVIEWS_SERVICE = "reviews.bookinfo.svc.cluster.local";
    static final int APP_PORT = 9080;
    static final int ADMIN_PORT = 9090;
    private static final Pattern FIELD = Pattern.compile("([a-z_.]+)=(\"(?:[^\"\\\\]|\\\\.)*\"|\\S*)");
    private static final Pattern LABEL = Pattern.compile("([a-z_]+)=\"([^\"]*)\"");

    private final List<String> accessLines = new CopyOnWriteArrayList<>();
    private final List<Integer> failures = new ArrayList<>();

    private ProxyMeshDemo() { }

    /** Runs the demo; exits non-zero if any scenario did not end the way the policies say it must. */
    public static void main(String[] args) throws Exception {
        boolean ok;
        try {
            ok = run();
        } catch (IOException e) { // e.g. an address in use: say which, without a stack trace
            System.err.println("demo: cannot run: " + e.getMessage()
                    + " (is another ./demo running? it needs 127.0.0.51-54 and 127.0.0.59 free)");
            ok = false;
        }
        System.exit(ok ? 0 : 1);
    }

    /** Runs every scenario; true if each ended as the configuration says it must. */
    static boolean run() throws Exception {
        return new ProxyMeshDemo().runAll();
    }

    private boolean runAll() throws Exception {
        banner("hbone-java: an Istio ambient mesh on loopback, run by two ztunnel-reference node proxies");
        String yaml = resource(CONFIG);
        Path dir = Files.createTempDirectory("hbone-demo");
        Logger access = (Logger) LoggerFactory.getLogger(AccessLog.LOGGER_NAME);
        AppenderBase<ILoggingEvent> capture = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent e) {
                accessLines.add(e.getFormattedMessage());
            }
        };
        capture.setContext(access.getLoggerContext());
        capture.start();
        access.addAppender(capture);
        access.setAdditive(false); // the demo tells the story itself
        List<AutoCloseable> open = new ArrayList<>();
        try {
            Path config = dir.resolve("ztunnel-mesh.yaml");
            Files.writeString(config, yaml);
            Path ca = dir.resolve("ca");
            CertificateAuthority.builder(TrustDomain.parse("cluster.local")).build().save(ca);
            System.out.println("configuration    " + CONFIG + " (ztunnel local config + Istio YAML), shared CA "
                    + "for cluster.local in " + ca);
            yaml.lines().filter(l -> l.startsWith("- uid:") || l.startsWith("kind:") || l.startsWith("metadata:")
                    || l.startsWith("  mtls:") || l.startsWith("  action:"))
                    .forEach(l -> System.out.println("                 " + l.strip()));

            for (int port : new int[] {APP_PORT, ADMIN_PORT}) {
                try {
                    open.add(new EchoUpstream(new InetSocketAddress(REVIEWS_IP, port)));
                } catch (IOException e) {
                    throw new IOException("reviews' application on " + REVIEWS_IP + ":" + port + ": " + e.getMessage(),
                            e);
                }
            }
            // node-1: no TPROXY (no root): its capture listeners would only see direct calls; clients use SOCKS5.
            NodeProxy node1 = NodeProxy.start(ZtunnelMain.parseConfig(args("node-1", NODE1_IP, config, ca), Map.of()),
                    new DataPathOptions(true, false, OriginalDestination.TPROXY));
            open.add(node1::close);
            // node-2: without root there is no TPROXY to tell the inbound plaintext listener where a connection was
            // going; the demo names the original destination itself (the proxy's test seam): reviews' app port.
            NodeProxy node2 = NodeProxy.start(ZtunnelMain.parseConfig(args("node-2", NODE2_IP, config, ca), Map.of()),
                    DataPathOptions.testOriginalDestination(ch -> new InetSocketAddress(REVIEWS_IP, APP_PORT)));
            open.add(node2::close);
            await(() -> node1.readiness().isReady() && node2.readiness().isReady());
            if (!node1.readiness().isReady() || !node2.readiness().isReady()) {
                throw new IllegalStateException("the node proxies did not become ready: " + node1.readiness().pending()
                        + " " + node2.readiness().pending());
            }
            System.out.printf("node-1           %s: productpage (%s), ratings (%s), scanner (%s); SOCKS5 %s%n",
                    NODE1_IP, PRODUCTPAGE_IP, RATINGS_IP, SCANNER_IP, addr(node1.dataPath().socks5Address().get()));
            System.out.printf("node-2           %s: reviews (%s, app on :%d and :%d); HBONE %s, plaintext %s%n",
                    NODE2_IP, REVIEWS_IP, APP_PORT, ADMIN_PORT, addr(node2.dataPath().inboundAddress()),
                    addr(node2.dataPath().inboundPlaintextAddress()));
            System.out.println("                 (no TPROXY without root: the demo tells node-2's plaintext listener the "
                    + "original destination itself, through the proxy's test seam)");
            System.out.println("certificates     " + node1.certificates().certificates().size() + " on node-1, "
                    + node2.certificates().certificates().size() + " on node-2 (one per workload identity)");

            InetSocketAddress socks = node1.dataPath().socks5Address().orElseThrow();
            allowed(1, "productpage -> " + REVIEWS_SERVICE + ":" + APP_PORT + "  (SOCKS5 by service name)",
                    socks, PRODUCTPAGE_IP, REVIEWS_SERVICE, APP_PORT, "bookinfo/reviews-viewer");
            denied(2, "scanner (namespace untrusted) -> reviews:" + APP_PORT, socks, SCANNER_IP, REVIEWS_IP,
                    APP_PORT, "deny reason=deny-matched policy=istio-system/deny-untrusted");
            denied(3, "ratings -> reviews:" + APP_PORT + "  (not the principal the ALLOW policy names)", socks,
                    RATINGS_IP, REVIEWS_IP, APP_PORT, "deny reason=no-allow-matched");
            denied(4, "productpage -> reviews:" + ADMIN_PORT + "  (a port the ALLOW policy does not open)", socks,
                    PRODUCTPAGE_IP, REVIEWS_IP, ADMIN_PORT, "deny reason=no-allow-matched");
            plaintext(5, "plaintext client " + OUTSIDE_IP + " (outside the mesh) -> reviews:" + APP_PORT,
                    node2.dataPath().inboundPlaintextAddress(),
                    "deny reason=peer-authn-strict policy=istio-system/default");

            section("metrics: istio_tcp_connections_closed_total (each proxy's /metrics)");
            printMetrics("node-1", node1);
            printMetrics("node-2", node2);
            node1.shutdown().get(30, TimeUnit.SECONDS);
            node2.shutdown().get(30, TimeUnit.SECONDS);
        } finally {
            for (int i = open.size() - 1; i >= 0; i--) {
                try {
                    open.get(i).close();
                } catch (Exception e) {
                    // best effort
                }
            }
            access.detachAppender(capture);
            access.setAdditive(true);
            deleteTree(dir);
        }
        banner(failures.isEmpty() ? "every connection ended as the policies say (exit 0)"
                : failures.size() + " scenario(s) did NOT end as expected: " + failures);
        return failures.isEmpty();
    }

    private static String[] args(String node, String ip, Path config, Path ca) {
        return new String[] {
            "--local-xds-path=" + config, "--node-name=" + node, "--ca-mode=pem", "--ca-dir=" + ca,
            "--inbound-address=" + ip + ":15008", "--inbound-plaintext-address=" + ip + ":0",
            "--outbound-address=" + ip + ":0", "--enable-socks5", "--socks5-address=" + ip + ":0",
            "--admin-address=" + ip + ":0", "--stats-address=" + ip + ":0", "--readiness-address=" + ip + ":0",
            "--log-level=warn,access=info", "--connection-termination-deadline=1s", "--worker-threads=1"};
    }

    // ---------------------------------------------------------------- scenarios

    private void allowed(int n, String title, InetSocketAddress socks, String from, String host, int port,
            String policy) throws Exception {
        section("[" + n + "] " + title);
        System.out.println("    expected   allowed by " + policy + ", mutual TLS, every byte echoed back");
        accessLines.clear();
        byte[] payload = new byte[64 * 1024];
        new Random(n).nextBytes(payload);
        String client;
        boolean intact = false;
        try (Socket s = socks5(socks, from, host, port)) {
            s.getOutputStream().write(payload);
            s.shutdownOutput();
            byte[] back = s.getInputStream().readAllBytes();
            intact = Arrays.equals(back, payload);
            client = payload.length + " bytes sent, " + back.length + " echoed back" + (intact ? " (intact)"
                    : " (CORRUPTED)");
        } catch (IOException e) {
            client = "FAILED: " + e.getMessage();
        }
        System.out.println("    client     " + client);
        Map<String, String> out = record("outbound");
        Map<String, String> in = record("inbound");
        story(out, in);
        check(n, intact
                && "-".equals(out.get("response_flags")) && "-".equals(in.get("response_flags"))
                && in.getOrDefault("authz", "").contains("allow reason=allow-matched policy=" + policy)
                && in.getOrDefault("src.identity", "").endsWith("/sa/" + workloadOf(from))
                && String.valueOf(payload.length).equals(in.get("bytes_recv")));
    }

    private void denied(int n, String title, InetSocketAddress socks, String from, String host, int port,
            String decision) throws Exception {
        section("[" + n + "] " + title);
        System.out.println("    expected   refused: " + decision);
        accessLines.clear();
        String client;
        boolean refused = false;
        try (Socket s = socks5(socks, from, host, port)) {
            client = "UNEXPECTED: the connection was opened";
        } catch (SocksRefused e) {
            refused = true;
            client = "refused by node-1 (SOCKS5 reply " + e.code + ": " + e.meaning + ")";
        } catch (IOException e) {
            client = "FAILED: " + e.getMessage();
        }
        System.out.println("    client     " + client);
        Map<String, String> out = record("outbound");
        Map<String, String> in = record("inbound");
        story(out, in);
        check(n, refused && "DENY".equals(out.get("response_flags")) && "DENY".equals(in.get("response_flags"))
                && in.getOrDefault("authz", "").contains(decision)
                && in.getOrDefault("src.identity", "").endsWith("/sa/" + workloadOf(from)));
    }

    private void plaintext(int n, String title, InetSocketAddress plaintextListener, String decision)
            throws Exception {
        section("[" + n + "] " + title);
        System.out.println("    expected   refused (PeerAuthentication STRICT): " + decision);
        accessLines.clear();
        String client;
        boolean refused = false;
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(OUTSIDE_IP, 0));
            s.connect(plaintextListener, 5000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            int r = s.getInputStream().read();
            refused = r < 0;
            client = r < 0 ? "closed by node-2 without a byte" : "UNEXPECTED: the application answered";
        } catch (SocketException e) {
            refused = true;
            client = "reset by node-2 (" + e.getMessage() + ")";
        }
        System.out.println("    client     " + client);
        Map<String, String> in = record("inbound");
        story(Map.of(), in);
        check(n, refused && "DENY".equals(in.get("response_flags"))
                && in.getOrDefault("authz", "").contains(decision) && !in.containsKey("src.identity"));
    }

    private void check(int n, boolean ok) {
        System.out.println("    verdict    " + (ok ? "as expected" : "UNEXPECTED"));
        if (!ok) {
            failures.add(n);
        }
    }

    /** Prints the proxies' own records of the connection. */
    private static void story(Map<String, String> out, Map<String, String> in) {
        if (!out.isEmpty()) {
            System.out.printf("    node-1     outbound  %s -> %s%n", who(out, "src"), who(out, "dst"));
            System.out.printf("               %s%s%n", bytesAndFlags(out), errorOf(out));
        }
        if (!in.isEmpty()) {
            System.out.printf("    node-2     inbound   %s -> %s%n", who(in, "src"), who(in, "dst"));
            System.out.printf("               authz: %s%n", in.getOrDefault("authz", "(none)"));
            System.out.printf("               %s%s%n", bytesAndFlags(in), errorOf(in));
        }
        if (out.isEmpty() && in.isEmpty()) {
            System.out.println("    (no access-log record arrived)");
        }
    }

    private static String who(Map<String, String> r, String side) {
        String identity = r.get(side + ".identity");
        String workload = r.get(side + ".workload");
        String addr = r.get(side + ".addr");
        return (workload == null ? "" : workload + " ") + "[" + (identity == null ? "no identity (plaintext)"
                : identity) + "] " + addr + (r.containsKey(side + ".service") ? " via " + r.get(side + ".service")
                : "");
    }

    private static String bytesAndFlags(Map<String, String> r) {
        return "client->server " + r.get("bytes_recv") + " B, server->client " + r.get("bytes_sent")
                + " B, response_flags=" + r.get("response_flags") + ", " + r.get("duration");
    }

    private static String errorOf(Map<String, String> r) {
        return r.containsKey("error") ? "\n               error: " + r.get("error") : "";
    }

    private static String workloadOf(String ip) {
        return switch (ip) {
            case PRODUCTPAGE_IP -> "productpage";
            case RATINGS_IP -> "ratings";
            case SCANNER_IP -> "scanner";
            default -> "?";
        };
    }

    /** Waits for the access-log record of one direction of the current scenario and parses its fields. */
    private Map<String, String> record(String direction) throws InterruptedException {
        Predicate<String> match = l -> l.contains("direction=" + direction);
        await(() -> accessLines.stream().anyMatch(match));
        return accessLines.stream().filter(match).findFirst().map(ProxyMeshDemo::fields).orElse(Map.of());
    }

    static Map<String, String> fields(String line) {
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = FIELD.matcher(line);
        while (m.find()) {
            String v = m.group(2);
            if (v.startsWith("\"")) {
                v = v.substring(1, v.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
            }
            out.put(m.group(1), v);
        }
        return out;
    }

    private static void printMetrics(String name, NodeProxy node) {
        List<String> rows = new ArrayList<>();
        for (String line : node.metrics().scrape().lines().toList()) {
            if (!line.startsWith("istio_tcp_connections_closed_total{")) {
                continue;
            }
            Map<String, String> labels = new LinkedHashMap<>();
            Matcher m = LABEL.matcher(line.substring(0, line.lastIndexOf('}')));
            while (m.find()) {
                labels.put(m.group(1), m.group(2));
            }
            long count = (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            rows.add(String.format("    %-7s reporter=%-11s %-11s -> %-11s %-10s response_flags=%-5s %d",
                    name, labels.get("reporter"), labels.get("source_workload"), labels.get("destination_workload"),
                    labels.get("connection_security_policy"), labels.get("response_flags"), count));
        }
        rows.sort(Comparator.naturalOrder());
        rows.forEach(System.out::println);
    }

    // ---------------------------------------------------------------- SOCKS5 client

    /** A SOCKS5 refusal, with RFC 1928's reply code. */
    static final class SocksRefused extends IOException {
        final int code;
        final String meaning;

        SocksRefused(int code) {
            super("SOCKS5 reply " + code);
            this.code = code;
            this.meaning = switch (code) {
                case 1 -> "general failure";
                case 2 -> "not allowed";
                case 4 -> "host unreachable";
                case 5 -> "connection refused";
                default -> "code " + code;
            };
        }
    }

    /** SOCKS5 CONNECT (RFC 1928) from {@code from}: a domain name or an IP literal, no authentication. */
    static Socket socks5(InetSocketAddress proxy, String from, String host, int port) throws IOException {
        Socket s = new Socket();
        try {
            s.bind(new InetSocketAddress(from, 0)); // the workload's own address: how the proxy knows who it is
            s.connect(proxy, 5000);
            s.setSoTimeout(15_000);
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            out.write(new byte[] {5, 1, 0});
            byte[] greeting = new byte[2];
            in.readFully(greeting);
            byte[] name = host.getBytes(StandardCharsets.US_ASCII);
            byte[] req = new byte[7 + name.length];
            req[0] = 5;
            req[1] = 1;
            req[3] = 3;
            req[4] = (byte) name.length;
            System.arraycopy(name, 0, req, 5, name.length);
            req[5 + name.length] = (byte) (port >> 8);
            req[6 + name.length] = (byte) port;
            out.write(req);
            byte[] reply = new byte[10];
            in.readFully(reply);
            if (reply[1] != 0) {
                throw new SocksRefused(reply[1]);
            }
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    // ---------------------------------------------------------------- helpers

    private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    private static String addr(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = ProxyMeshDemo.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory
        }
    }

    private static void banner(String title) {
        System.out.println();
        System.out.println("== " + title + " " + "=".repeat(Math.max(0, 96 - title.length())));
    }

    private static void section(String title) {
        System.out.println();
        System.out.println("-- " + title);
    }
}
