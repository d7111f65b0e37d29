package dev.hbone.ztunnel.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.ztunnel.support.BackgroundProcess;
import dev.hbone.ztunnel.support.Commands;
import dev.hbone.ztunnel.support.Netns;
import dev.hbone.ztunnel.support.Pcap;
import dev.hbone.ztunnel.support.Ztunnel;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two "nodes" and two "pods" as Linux network namespaces joined by veth pairs, real proxies and real kernels: pod
 * traffic is captured with iptables, crosses the node-to-node link inside HBONE, and reaches an application that
 * sees plain TCP. A capture on that link shows the payload never crosses it in plaintext.
 *
 * <pre>
 *   pod1 (client app)           node1 (proxy1)                 node2 (router)           pod2 (proxy2 + server app)
 *   10.251.1.2 ── veth ── 10.251.1.1 | 10.251.0.1 ── veth ── 10.251.0.2 | 10.251.2.1 ── veth ── 10.251.2.2
 *                         PREROUTING -i pod veth:             forwards
 *                         REDIRECT or TPROXY → :15001
 * </pre>
 *
 * proxy1 runs in node1's namespace and captures pod1's egress twice: with {@code nat REDIRECT} (original
 * destination from {@code SO_ORIGINAL_DST}) and with {@code mangle TPROXY} + {@code ip rule fwmark} + {@code ip
 * route local} (original destination is the accepted socket's local address). proxy2 runs inside pod2's
 * namespace, as ztunnel's in-pod mode does, so HBONE to {@code 10.251.2.2:15008} reaches it with the pod's
 * address as the connection's destination. Needs Linux, root, ip, iptables and tcpdump: skipped otherwise, except
 * under {@code CI=true}, where it fails.
 */
@Timeout(240)
class NamespaceMeshIT {
    private static final String PYTHON = "/usr/bin/python3";
    private static final String CLIENT_IP = "10.251.1.2";
    private static final String SERVER_IP = "10.251.2.2";
    private static final String CLIENT_IP6 = "fd00:251:1::2";
    private static final String SERVER_IP6 = "fd00:251:2::2";
    private static final int APP_PORT = 8080;
    private static final Duration START = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private static final String SERVER_APP = String.join("\n",
            "import socket, sys",
            "s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
            "s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)",
            "s.bind(('::', int(sys.argv[2]))); s.listen(16); print('LISTENING', flush=True)",
            "while True:",
            "    c, a = s.accept(); c.settimeout(60); data = b''",
            "    while True:",
            "        d = c.recv(65536)",
            "        if not d: break",
            "        data += d",
            "    print('GOT %s FROM %s' % (data.decode(), a[0]), flush=True)",
            "    c.sendall(b'ECHO:' + data); c.close()");
    private static final String CLIENT_APP = String.join("\n",
            "import socket, sys",
            "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)",
            "print('LOCAL %s PEER %s' % (s.getsockname()[0], s.getpeername()[0]), flush=True)",
            "s.sendall(sys.argv[3].encode()); s.shutdown(socket.SHUT_WR); data = b''",
            "while True:",
            "    d = s.recv(65536)",
            "    if not d: break",
            "    data += d",
            "print('RECEIVED ' + data.decode(), flush=True)");

    private static final String PLAINTEXT_CLIENT = String.join("\n",
            "import socket, sys",
            "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)",
            "try:",
            "    s.sendall(sys.argv[3].encode()); s.shutdown(socket.SHUT_WR)",
            "    d = s.recv(65536)",
            "    print('RESULT data ' + d.decode() if d else 'RESULT eof', flush=True)",
            "except ConnectionResetError:",
            "    print('RESULT reset', flush=True)");

    @Test
    void podTrafficCrossesTheNodeLinkOnlyInsideHboneWithRedirectAndWithTproxy() throws Exception {
        requirePrivileges();
        String id = HexFormat.of().formatHex(new byte[] {(byte) ThreadLocalRandom.current().nextInt(),
                (byte) ThreadLocalRandom.current().nextInt(), (byte) ThreadLocalRandom.current().nextInt()});
        List<AutoCloseable> cleanup = new ArrayList<>();
        try {
            Netns node1 = track(cleanup, Netns.create("zt-e2e-" + id + "-node1"));
            Netns node2 = track(cleanup, Netns.create("zt-e2e-" + id + "-node2"));
            Netns pod1 = track(cleanup, Netns.create("zt-e2e-" + id + "-pod1"));
            Netns pod2 = track(cleanup, Netns.create("zt-e2e-" + id + "-pod2"));
            String pod1If = "p1-" + id;
            String node1PodIf = "n1p-" + id;
            String node1LinkIf = "n1l-" + id;
            String node2LinkIf = "n2l-" + id;
            String node2PodIf = "n2p-" + id;
            String pod2If = "p2-" + id;
            Netns.link(pod1, pod1If, CLIENT_IP + "/24", node1, node1PodIf, "10.251.1.1/24");
            Netns.link(node1, node1LinkIf, "10.251.0.1/24", node2, node2LinkIf, "10.251.0.2/24");
            Netns.link(node2, node2PodIf, "10.251.2.1/24", pod2, pod2If, SERVER_IP + "/24");
            pod1.run("ip", "route", "add", "default", "via", "10.251.1.1");
            pod2.run("ip", "route", "add", "default", "via", "10.251.2.1");
            node1.run("ip", "route", "add", "10.251.2.0/24", "via", "10.251.0.2");
            node2.run("ip", "route", "add", "10.251.1.0/24", "via", "10.251.0.1");
            pod1.addIpv6(pod1If, CLIENT_IP6 + "/64");
            node1.addIpv6(node1PodIf, "fd00:251:1::1/64");
            node1.addIpv6(node1LinkIf, "fd00:251::1/64");
            node2.addIpv6(node2LinkIf, "fd00:251::2/64");
            node2.addIpv6(node2PodIf, "fd00:251:2::1/64");
            pod2.addIpv6(pod2If, SERVER_IP6 + "/64");
            pod1.run("ip", "-6", "route", "add", "default", "via", "fd00:251:1::1");
            pod2.run("ip", "-6", "route", "add", "default", "via", "fd00:251:2::1");
            node1.run("ip", "-6", "route", "add", "fd00:251:2::/64", "via", "fd00:251::2");
            node2.run("ip", "-6", "route", "add", "fd00:251:1::/64", "via", "fd00:251::1");
            for (Netns n : List.of(node1, node2)) {
                n.run("sysctl", "-qw", "net.ipv4.ip_forward=1");
                n.run("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
            }

            Ztunnel.caDir(dir.resolve("ca"), "cluster.local");
            Path config = dir.resolve("mesh.yaml");
            Files.writeString(config, String.join("\n",
                    "workloads:",
                    "- uid: cluster1//v1/Pod/default/client",
                    "  name: client",
                    "  namespace: default",
                    "  serviceAccount: client",
                    "  workloadIps: [\"" + CLIENT_IP + "\", \"" + CLIENT_IP6 + "\"]",
                    "  protocol: HBONE",
                    "  node: node1",
                    "- uid: cluster1//v1/Pod/default/server",
                    "  name: server",
                    "  namespace: default",
                    "  serviceAccount: server",
                    "  workloadIps: [\"" + SERVER_IP + "\", \"" + SERVER_IP6 + "\"]",
                    "  protocol: HBONE",
                    "  node: node2",
                    "policies:",
                    "- name: istio_converted_static_strict", // what istiod makes of PeerAuthentication STRICT
                    "  namespace: default",
                    "  scope: Namespace",
                    "  action: Deny",
                    "  rules:",
                    "  - - - notPrincipals: [{presence: {}}]",
                    ""));
            BackgroundProcess proxy1 = track(cleanup, Ztunnel.start("proxy1", node1, proxyArgs("node1", config),
                    Map.of()));
            BackgroundProcess proxy2 = track(cleanup, Ztunnel.start("proxy2", pod2, proxyArgs("node2", config),
                    Map.of()));
            BackgroundProcess server = track(cleanup, BackgroundProcess.start("server-app",
                    pod2.wrap(List.of(PYTHON, "-c", SERVER_APP, SERVER_IP, Integer.toString(APP_PORT)))));
            server.awaitLine(Pattern.compile("LISTENING"), START);
            awaitReady(node1, proxy1);
            awaitReady(pod2, proxy2);
            assertThat(proxy1.output())
                    .containsPattern("outbound \\S+:15001: IP_TRANSPARENT \\(TPROXY\\), SO_ORIGINAL_DST \\(REDIRECT\\)");

            Path linkPcap = dir.resolve("node-link.pcap");
            Path podPcap = dir.resolve("pod-link.pcap");
            BackgroundProcess linkDump = track(cleanup, tcpdump(node1, node1LinkIf, linkPcap));
            BackgroundProcess podDump = track(cleanup, tcpdump(node1, node1PodIf, podPcap));

            // 1. REDIRECT (nat): the proxy finds the original destination with SO_ORIGINAL_DST.
            node1.run("iptables", "-t", "nat", "-A", "PREROUTING", "-i", node1PodIf, "-p", "tcp",
                    "-j", "REDIRECT", "--to-ports", "15001");
            node1.run("ip6tables", "-t", "nat", "-A", "PREROUTING", "-i", node1PodIf, "-p", "tcp",
                    "-j", "REDIRECT", "--to-ports", "15001");
            String redirectMarker = marker("redirect");
            exchange(pod1, server, redirectMarker, CLIENT_IP, SERVER_IP);
            // IPv6: SOL_IPV6 / IP6T_SO_ORIGINAL_DST
            String redirect6Marker = marker("redirect6");
            exchange(pod1, server, redirect6Marker, CLIENT_IP6, SERVER_IP6);
            node1.run("iptables", "-t", "nat", "-F", "PREROUTING");
            node1.run("ip6tables", "-t", "nat", "-F", "PREROUTING");

            // 2. TPROXY (mangle): the listener is IP_TRANSPARENT; the accepted socket's local address is the
            // original destination.
            node1.run("iptables", "-t", "mangle", "-A", "PREROUTING", "-i", node1PodIf, "-p", "tcp",
                    "-j", "TPROXY", "--on-port", "15001", "--on-ip", "0.0.0.0", "--tproxy-mark", "0x1/0x1");
            node1.run("ip", "rule", "add", "fwmark", "0x1/0x1", "lookup", "100");
            node1.run("ip", "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "100");
            String tproxyMarker = marker("tproxy");
            exchange(pod1, server, tproxyMarker, CLIENT_IP, SERVER_IP);

            // Both went through the proxies: one outbound and one inbound access-log line each, with the identities.
            List<String> markers = List.of(redirectMarker, redirect6Marker, tproxyMarker);
            for (String m : markers) {
                assertThat(server.output()).contains("GOT " + m);
            }
            proxy1.awaitLine(l -> l.contains("connection complete") && l.contains("direction=outbound")
                    && l.contains("dst.addr=" + SERVER_IP + ":" + APP_PORT) && l.contains("src.addr=" + CLIENT_IP),
                    "outbound access log", Duration.ofSeconds(20));
            assertThat(proxy1.lines().stream().filter(l -> l.contains("connection complete")
                    && l.contains("direction=outbound") && l.contains("dst.identity=\"spiffe://cluster.local/ns/"
                    + "default/sa/server\"") && l.contains("response_flags=-")).count()).isEqualTo(3);
            assertThat(proxy1.output()).contains("src.addr=[" + InetAddress.getByName(CLIENT_IP6).getHostAddress(),
                    "dst.addr=[" + InetAddress.getByName(SERVER_IP6).getHostAddress() + "]:" + APP_PORT);
            proxy2.awaitLine(l -> l.contains("connection complete") && l.contains("direction=inbound")
                    && l.contains("src.identity=\"spiffe://cluster.local/ns/default/sa/client\""),
                    "inbound access log", Duration.ofSeconds(20));
            String metrics = node1.run(PYTHON, "-c", "import urllib.request; print(urllib.request.urlopen("
                    + "'http://127.0.0.1:15020/metrics', timeout=10).read().decode())");
            assertThat(Ztunnel.metric(metrics, "istio_tcp_connections_closed_total", "reporter=\"source\"",
                    "destination_principal=\"spiffe://cluster.local/ns/default/sa/server\"",
                    "connection_security_policy=\"mutual_tls\"", "response_flags=\"-\"")).isEqualTo(3.0);

            // tcpdump drops what it has not processed yet when terminated: wait for the control capture first
            long until = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (System.nanoTime() < until && !Pcap.contains(Files.readAllBytes(podPcap),
                    tproxyMarker.getBytes(StandardCharsets.US_ASCII))) {
                Thread.sleep(100);
            }
            Thread.sleep(500);
            linkDump.terminate();
            podDump.terminate();
            linkDump.awaitExit(Duration.ofSeconds(20));
            podDump.awaitExit(Duration.ofSeconds(20));

            // The pod's own link carries the plaintext (the capture would see it)...
            byte[] podBytes = Files.readAllBytes(podPcap);
            for (String m : markers) {
                assertThat(Pcap.contains(podBytes, m.getBytes(StandardCharsets.US_ASCII)))
                        .as("plaintext on the pod link (control): %d bytes, %s; %s", podBytes.length,
                                Pcap.read(podPcap), podDump.output()).isTrue();
            }
            // ...the node-to-node link never does: only TLS to and from 15008.
            byte[] linkBytes = Files.readAllBytes(linkPcap);
            for (String m : markers) {
                assertThat(Pcap.contains(linkBytes, m.getBytes(StandardCharsets.US_ASCII)))
                        .as("marker %s on the node-to-node link", m).isFalse();
            }
            List<Pcap.Segment> link = Pcap.read(linkPcap);
            String server6 = InetAddress.getByName(SERVER_IP6).getHostAddress(); // as the reader formats it
            List<Pcap.Segment> data = link.stream().filter(s -> s.payload().length > 0).toList();
            assertThat(data).as("segments with payload on the node link").isNotEmpty();
            assertThat(data).allSatisfy(s -> assertThat(s.sourcePort() == 15008 || s.destinationPort() == 15008)
                    .as("payload only on HBONE's port: %s", s).isTrue());
            assertThat(data).anySatisfy(s -> {
                assertThat(s.destinationPort()).isEqualTo(15008);
                assertThat(s.destination()).isIn(SERVER_IP, server6);
                assertThat(s.payload()[0]).as("TLS handshake record (ClientHello)").isEqualTo((byte) 0x16);
            });
            assertThat(data).anySatisfy(s -> {
                assertThat(s.sourcePort()).isEqualTo(15008);
                assertThat(Pcap.contains(s.payload(), new byte[] {0x17, 0x03, 0x03}))
                        .as("TLS application data").isTrue();
            });
            assertThat(data).noneSatisfy(s -> assertThat(s.destinationPort()).isEqualTo(APP_PORT));
            assertThat(data).as("IPv6 tunnel on the link").anySatisfy(s ->
                    assertThat(s.destination()).isEqualTo(server6));

            // 3. PeerAuthentication STRICT: a plaintext client outside the mesh (node2 itself) dials the server pod;
            // pod2 captures it with TPROXY to proxy2's inbound plaintext listener (15006), which refuses it.
            pod2.run("iptables", "-t", "mangle", "-A", "PREROUTING", "-i", pod2If, "-p", "tcp", "--dport",
                    Integer.toString(APP_PORT), "-j", "TPROXY", "--on-port", "15006", "--on-ip", "0.0.0.0",
                    "--tproxy-mark", "0x1/0x1");
            pod2.run("ip", "rule", "add", "fwmark", "0x1/0x1", "lookup", "100");
            pod2.run("ip", "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "100");
            String plainMarker = marker("plaintext");
            try (BackgroundProcess plain = BackgroundProcess.start("plaintext-client",
                    node2.wrap(List.of(PYTHON, "-c", PLAINTEXT_CLIENT, SERVER_IP, Integer.toString(APP_PORT),
                            plainMarker)))) {
                assertThat(plain.awaitExit(Duration.ofSeconds(60))).as(plain.output()).isZero();
                assertThat(plain.output()).containsPattern("RESULT (reset|eof)");
            }
            proxy2.awaitLine(l -> l.contains("connection complete") && l.contains("direction=inbound")
                    && l.contains("policy=default/istio_converted_static_strict") && l.contains("response_flags=DENY"),
                    "STRICT refusal in the access log", Duration.ofSeconds(20));
            String metrics2 = pod2.run(PYTHON, "-c", "import urllib.request; print(urllib.request.urlopen("
                    + "'http://127.0.0.1:15020/metrics', timeout=10).read().decode())");
            assertThat(Ztunnel.metric(metrics2, "istio_tcp_connections_closed_total", "reporter=\"destination\"",
                    "destination_principal=\"spiffe://cluster.local/ns/default/sa/server\"", "source_principal=\"unknown\"",
                    "connection_security_policy=\"unknown\"", "response_flags=\"DENY\"")).as(metrics2).isEqualTo(1.0);
            assertThat(Ztunnel.metric(metrics2, "istio_tcp_connections_closed_total", "reporter=\"destination\"",
                    "source_principal=\"spiffe://cluster.local/ns/default/sa/client\"",
                    "connection_security_policy=\"mutual_tls\"", "response_flags=\"-\"")).isEqualTo(3.0);
            assertThat(server.output()).doesNotContain(plainMarker);

            proxy1.terminate();
            proxy2.terminate();
            assertThat(proxy1.awaitExit(Duration.ofSeconds(30))).isEqualTo(143);
            assertThat(proxy2.awaitExit(Duration.ofSeconds(30))).isEqualTo(143);
        } finally {
            for (int i = cleanup.size() - 1; i >= 0; i--) {
                try {
                    cleanup.get(i).close();
                } catch (Exception e) {
                    System.err.println("cleanup: " + e);
                }
            }
        }
    }

    private static <T extends AutoCloseable> T track(List<AutoCloseable> cleanup, T resource) {
        cleanup.add(resource);
        return resource;
    }

    private static void requirePrivileges() {
        Commands.require(System.getProperty("os.name").toLowerCase().contains("linux"), "network namespaces need Linux");
        Commands.require(Commands.succeeds("id", "-u") && Commands.run("id", "-u").trim().equals("0"),
                "network namespaces need root");
        Commands.require(Commands.succeeds("ip", "-V"), "ip (iproute2) is not installed");
        Commands.require(Commands.succeeds("iptables", "--version") && Commands.succeeds("ip6tables", "--version"),
                "iptables is not installed");
        Commands.require(Commands.succeeds("tcpdump", "--version"), "tcpdump is not installed");
        Commands.require(Files.isExecutable(Path.of(PYTHON)), PYTHON + " is not installed");
    }

    private static List<String> proxyArgs(String node, Path config) {
        return List.of("--node-name=" + node, "--local-xds-path=" + config, "--ca-mode=pem",
                "--ca-dir=" + config.resolveSibling("ca"), "--connection-termination-deadline=2s",
                "--log-level=info");
    }

    private static void awaitReady(Netns ns, BackgroundProcess proxy) throws InterruptedException {
        proxy.awaitLine(Pattern.compile("ztunnel started"), START);
        long deadline = System.nanoTime() + START.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            try {
                last = ns.run(PYTHON, "-c", "import urllib.request; print(urllib.request.urlopen("
                        + "'http://127.0.0.1:15021/healthz/ready', timeout=5).read().decode())");
                if (last.trim().equals("ready")) {
                    return;
                }
            } catch (IllegalStateException e) {
                last = e.getMessage();
            }
            Thread.sleep(200);
        }
        throw new AssertionError(proxy + " not ready: " + last + "\n" + proxy.output());
    }

    private static BackgroundProcess tcpdump(Netns ns, String iface, Path file) throws Exception {
        BackgroundProcess p = BackgroundProcess.start("tcpdump-" + iface,
                ns.wrap(List.of("tcpdump", "-i", iface, "-n", "--immediate-mode", "-U", "-s", "0", "-w", file.toString(), "tcp")));
        p.awaitLine(Pattern.compile("listening on"), Duration.ofSeconds(20));
        return p;
    }

    private static String marker(String kind) {
        return "MARKER-" + kind + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong())
                + Long.toHexString(ThreadLocalRandom.current().nextLong());
    }

    /** The client app in pod1 sends {@code marker} to the server app and must get it back, plain TCP both ends. */
    private static void exchange(Netns pod1, BackgroundProcess server, String marker, String clientIp,
            String serverIp) throws Exception {
        try (BackgroundProcess client = BackgroundProcess.start("client-app",
                pod1.wrap(List.of(PYTHON, "-c", CLIENT_APP, serverIp, Integer.toString(APP_PORT), marker)))) {
            assertThat(client.awaitExit(Duration.ofSeconds(60))).as(client.output()).isZero();
            assertThat(client.output()).contains("LOCAL " + clientIp + " PEER " + serverIp,
                    "RECEIVED ECHO:" + marker);
        }
        server.awaitLine(Pattern.compile("GOT " + Pattern.quote(marker)), Duration.ofSeconds(20));
    }
}
