package dev.hbone.ztunnel.proxy;

import static dev.hbone.ztunnel.proxy.TwoNodeMeshTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.hbone.ztunnel.accesslog.AccessLog;
import dev.hbone.ztunnel.cli.ZtunnelMain;
import dev.hbone.ztunnel.lifecycle.NodeProxy;
import dev.hbone.ztunnel.support.BlockingEcho;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Istio {@code PeerAuthentication} and {@code AuthorizationPolicy} YAML given as extra documents of the local
 * configuration file, enforced on the inbound plaintext listener (15006) the way istiod's conversion makes ztunnel
 * enforce them, and reloaded live. One node proxy serves two workloads in namespace {@code shop}: {@code server}
 * (127.0.0.44, labels {@code app: server}) and {@code other} (127.0.0.45); plaintext clients come from 127.0.0.46,
 * their original destination given through the test seam.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class PeerAuthenticationTest {
    static final String SERVER_IP = "127.0.0.44";
    static final String OTHER_IP = "127.0.0.45";
    static final String OUTSIDE_IP = "127.0.0.46";
    static final String WORKLOADS = """
            workloads:
            - uid: n/server
              name: server
              namespace: shop
              workloadIps: ["127.0.0.44"]
              protocol: HBONE
              node: n
              labels: {app: server}
            - uid: n/other
              name: other
              namespace: shop
              workloadIps: ["127.0.0.45"]
              protocol: HBONE
              node: n
              labels: {app: other}
            """;

    @TempDir
    static Path dir;

    private final AtomicReference<InetSocketAddress> destination = new AtomicReference<>();
    private final ListAppender<ILoggingEvent> accessLines = new ListAppender<>();
    private BlockingEcho server;
    private BlockingEcho server2;
    private BlockingEcho other;
    private Path file;
    private NodeProxy node;
    private int generation;

    @BeforeAll
    void start() throws Exception {
        ((Logger) LoggerFactory.getLogger(AccessLog.LOGGER_NAME)).addAppender(accessLines);
        accessLines.start();
        server = new BlockingEcho(new InetSocketAddress(SERVER_IP, 0));
        server2 = new BlockingEcho(new InetSocketAddress(SERVER_IP, 0));
        other = new BlockingEcho(new InetSocketAddress(OTHER_IP, 0));
        file = dir.resolve("local.yaml");
        write(WORKLOADS);
        node = NodeProxy.start(ZtunnelMain.parseConfig(new String[] {
            "--local-xds-path=" + file, "--node-name=n", "--inbound-address=" + SERVER_IP + ":0",
            "--inbound-plaintext-address=" + SERVER_IP + ":0", "--outbound-address=" + SERVER_IP + ":0",
            "--admin-address=" + SERVER_IP + ":0", "--stats-address=" + SERVER_IP + ":0",
            "--readiness-address=" + SERVER_IP + ":0", "--connection-termination-deadline=1s",
            "--worker-threads=1"}, Map.of()), DataPathOptions.testOriginalDestination(ch -> destination.get()));
        await("ready", () -> node.readiness().isReady());
    }

    @AfterAll
    void stop() throws Exception {
        ((Logger) LoggerFactory.getLogger(AccessLog.LOGGER_NAME)).detachAppender(accessLines);
        if (node != null) {
            node.shutdown().get(30, TimeUnit.SECONDS);
        }
        for (BlockingEcho e : new BlockingEcho[] {server, server2, other}) {
            if (e != null) {
                e.close();
            }
        }
    }

    @BeforeEach
    void clear() {
        accessLines.list.clear();
    }

    // ---- the modes

    @Test
    void withoutPeerAuthenticationPlaintextIsAccepted() throws Exception {
        apply("");
        assertServed(server);
        assertServed(other);
    }

    @Test
    void meshWideStrictInTheRootNamespaceRefusesPlaintextEverywhere() throws Exception {
        apply(pa("default", "istio-system", "", "STRICT", ""));
        assertRefused(server, "istio-system/default");
        assertRefused(other, "istio-system/default");
        assertThat(node.metrics().scrape()).contains("response_flags=\"DENY\"");
    }

    @Test
    void namespacePermissiveOverridesMeshStrict() throws Exception {
        apply(pa("default", "istio-system", "", "STRICT", "") + pa("shop", "shop", "", "PERMISSIVE", ""));
        assertServed(server);
        assertServed(other);
    }

    @Test
    void namespaceStrictRefusesAndDisableAccepts() throws Exception {
        apply(pa("shop", "shop", "", "STRICT", ""));
        assertRefused(server, "shop/shop");
        apply(pa("shop", "shop", "", "DISABLE", ""));
        assertServed(server);
    }

    @Test
    void workloadSelectorStrictAppliesOnlyToTheSelectedWorkload() throws Exception {
        apply(pa("server-strict", "shop", "app: server", "STRICT", ""));
        assertRefused(server, "shop/server-strict");
        assertServed(other);
        // and /config_dump shows it
        java.net.http.HttpResponse<String> dump = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://"
                        + dev.hbone.ztunnel.cli.ProxyConfig.format(node.endpoints().adminAddress()) + "/config_dump"))
                        .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(dump.statusCode()).isEqualTo(200);
        assertThat(dump.body()).contains("\"peerAuthentications\"").contains("server-strict").contains("STRICT")
                .contains("\"labels\"");
    }

    @Test
    void portLevelExceptionOverridesTheWorkloadMode() throws Exception {
        apply(pa("server-strict", "shop", "app: server", "STRICT",
                "  portLevelMtls:\n    \"" + server2.port() + "\": {mode: PERMISSIVE}\n"));
        assertServed(server2);
        assertRefused(server, "shop/server-strict");
        // and the other way round: a PERMISSIVE workload with one STRICT port
        apply(pa("server-permissive", "shop", "app: server", "PERMISSIVE",
                "  portLevelMtls:\n    \"" + server2.port() + "\": {mode: STRICT}\n"));
        assertServed(server);
        assertRefused(server2, "shop/server-permissive");
    }

    @Test
    void strictAppliedLiveClosesAnOpenPlaintextConnection() throws Exception {
        apply(pa("shop", "shop", "", "PERMISSIVE", ""));
        try (Socket s = connect(server)) {
            s.getOutputStream().write('x');
            assertThat(s.getInputStream().read()).isEqualTo('x'); // relayed: the connection is open
            await("registered", () -> node.dataPath().liveInboundConnections() == 1);
            apply(pa("shop", "shop", "", "STRICT", ""));
            try {
                assertThat(s.getInputStream().read()).isEqualTo(-1);
            } catch (SocketException e) {
                // reset: closed as well
            }
        }
        await("access log says why", () -> !lines("policy changed").isEmpty());
        assertThat(lines("policy changed").get(0)).contains("shop/shop");
    }

    @Test
    void istioAuthorizationPolicyYamlSelectsByLabels() throws Exception {
        apply("""
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: no-outsiders, namespace: shop}
                spec:
                  selector: {matchLabels: {app: server}}
                  action: DENY
                  rules:
                  - from: [{source: {ipBlocks: ["127.0.0.46/32"]}}]
                """);
        assertRefused(server, "shop/no-outsiders");
        assertServed(other);
    }

    @Test
    void aBadDocumentIsRefusedWithItsPathAndThePreviousPoliciesKeepServing() throws Exception {
        apply(pa("shop", "shop", "", "STRICT", ""));
        assertRefused(server, "shop/shop");
        long errorsBefore = reloadErrors();
        write(WORKLOADS + pa("shop", "shop", "", "STRCT", ""));
        await("the bad file is refused", () -> reloadErrors() > errorsBefore);
        assertRefused(server, "shop/shop"); // still STRICT
        // the refusal names the document, the field and the value
        Throwable refusal = LocalConfigErrors.of(WORKLOADS + pa("shop", "shop", "", "STRCT", ""));
        assertThat(refusal.getMessage()).contains("local.yaml: document 2 spec.mtls.mode").contains("STRCT");
        apply(""); // a good file applies again
        assertServed(server);
    }

    // ---- helpers

    private static String pa(String name, String namespace, String selector, String mode, String extra) {
        return "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: " + name
                + ", namespace: " + namespace + "}\nspec:\n"
                + (selector.isEmpty() ? "" : "  selector: {matchLabels: {" + selector + "}}\n")
                + "  mtls: {mode: " + mode + "}\n" + extra;
    }

    private long reloadErrors() {
        return (long) node.metrics().scrape().lines().filter(l -> l.startsWith("istio_local_config_reload_errors_total"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    /** Writes the workloads plus {@code documents} and waits until the proxy applied exactly this file. */
    private void apply(String documents) throws Exception {
        String text = WORKLOADS + "# generation " + (++generation) + "\n" + documents;
        write(text);
        dev.hbone.ztunnel.config.LocalConfig expected = dev.hbone.ztunnel.config.LocalConfig.parse("local.yaml",
                text);
        await("configuration applied", () -> node.localConfig().equals(expected));
    }

    private void write(String text) throws IOException {
        Path tmp = file.resolveSibling("local.yaml.tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private Socket connect(BlockingEcho to) throws IOException {
        destination.set(new InetSocketAddress(to == other ? OTHER_IP : SERVER_IP, to.port()));
        Socket s = new Socket();
        s.bind(new InetSocketAddress(OUTSIDE_IP, 0));
        s.connect(node.dataPath().inboundPlaintextAddress(), 5000);
        s.setSoTimeout(20_000);
        return s;
    }

    private void assertServed(BlockingEcho to) throws Exception {
        try (Socket s = connect(to)) {
            s.getOutputStream().write("plain".getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("plain");
        }
    }

    /** The connection is reset without a byte and the access log names the deciding policy. */
    private void assertRefused(BlockingEcho to, String policy) throws Exception {
        accessLines.list.clear();
        try (Socket s = connect(to)) {
            s.getOutputStream().write("plain".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            assertThat(in.read()).isEqualTo(-1);
        } catch (SocketException e) {
            // reset: refused as well
        }
        await("access log names " + policy, () -> lines("policy=" + policy).size() >= 1);
        assertThat(lines("policy=" + policy).get(0)).contains("response_flags=DENY").contains("deny reason=");
    }

    private List<String> lines(String containing) {
        return List.copyOf(accessLines.list).stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.contains(containing)).toList();
    }

    /** Parses a file text and returns the refusal. */
    static final class LocalConfigErrors {
        static Throwable of(String text) {
            try {
                dev.hbone.ztunnel.config.LocalConfig.parse("local.yaml", text);
            } catch (dev.hbone.ztunnel.config.InvalidConfigException e) {
                return e;
            }
            throw new AssertionError("accepted: " + text);
        }
    }
}
