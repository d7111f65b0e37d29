package dev.hbone.ztunnel.proxy;

import static dev.hbone.ztunnel.proxy.TwoNodeMeshTest.await;
import static dev.hbone.ztunnel.proxy.TwoNodeMeshTest.socks5;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.hbone.api.IncomingTunnel;
import dev.hbone.api.RefusalStatus;
import dev.hbone.api.TunnelHandler;
import dev.hbone.api.TunnelInfo;
import dev.hbone.api.TunnelRequest;
import dev.hbone.netty.ChannelSplice;
import dev.hbone.netty.HboneTls;
import dev.hbone.netty.NettyHboneClient;
import dev.hbone.netty.NettyHboneServer;
import dev.hbone.netty.NettyIncomingTunnel;
import dev.hbone.netty.internal.Transports;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import dev.hbone.ztunnel.accesslog.AccessLog;
import dev.hbone.ztunnel.cli.ProxyConfig;
import dev.hbone.ztunnel.cli.ZtunnelMain;
import dev.hbone.ztunnel.lifecycle.NodeProxy;
import dev.hbone.ztunnel.support.BlockingEcho;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
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
 * Traffic that really goes through a waypoint and through an east-west network gateway (double HBONE), in one JVM
 * on loopback. Node A (network {@code ""}) serves the client on 127.0.0.71; node B (network {@code net2}) serves the
 * server on 127.0.0.72 (HBONE on 127.0.0.72:15008). The waypoint and the gateway are <b>test doubles</b> built from
 * hbone-netty ({@link WaypointDouble}, {@link NetworkGatewayDouble}) — not Envoy — on 127.0.0.73 and 127.0.0.74.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class WaypointAndGatewayTest {
    static final String A_IP = "127.0.0.71";
    static final String B_IP = "127.0.0.72";
    static final String WAYPOINT_IP = "127.0.0.73";
    static final String GATEWAY_IP = "127.0.0.74";
    static final String CLIENT_ID = "spiffe://cluster.local/ns/default/sa/client";
    static final String SERVER_ID = "spiffe://cluster.local/ns/default/sa/server";
    static final String WAYPOINT_ID = "spiffe://cluster.local/ns/default/sa/waypoint";
    static final String GATEWAY_ID = "spiffe://cluster.local/ns/istio-system/sa/eastwest";
    static final String GW_SERVICE = "echo-gw.default.svc.cluster.local";

    @TempDir
    static Path dir;

    private final ListAppender<ILoggingEvent> accessLines = new ListAppender<>();
    private CertificateAuthority ca;
    private BlockingEcho echo;
    private Path config;
    private NodeProxy nodeA;
    private NodeProxy nodeB;
    private WaypointDouble waypoint;
    private NetworkGatewayDouble gateway;

    @BeforeAll
    void start() throws Exception {
        ((Logger) LoggerFactory.getLogger(AccessLog.LOGGER_NAME)).addAppender(accessLines);
        accessLines.start();
        echo = new BlockingEcho(new InetSocketAddress(B_IP, 0));
        ca = CertificateAuthority.builder(TrustDomain.parse("cluster.local")).build();
        Path caDir = dir.resolve("ca");
        ca.save(caDir);
        config = dir.resolve("mesh.yaml");
        write(mesh("[\"spiffe://cluster.local/ns/default/sa/server\"]", ""));
        nodeA = NodeProxy.start(config("node-a", A_IP, "", caDir));
        nodeB = NodeProxy.start(config("node-b", B_IP, "net2", caDir));
        waypoint = new WaypointDouble(ca, new InetSocketAddress(WAYPOINT_IP, 15008), SpiffeId.parse(WAYPOINT_ID),
                new InetSocketAddress(B_IP, 15008), SpiffeId.parse(SERVER_ID),
                new InetSocketAddress(B_IP, echo.port()));
        gateway = new NetworkGatewayDouble(ca, new InetSocketAddress(GATEWAY_IP, 15008), SpiffeId.parse(GATEWAY_ID),
                new InetSocketAddress(B_IP, 15008));
        await("ready", () -> nodeA.readiness().isReady() && nodeB.readiness().isReady());
    }

    @AfterAll
    void stop() throws Exception {
        ((Logger) LoggerFactory.getLogger(AccessLog.LOGGER_NAME)).detachAppender(accessLines);
        for (NodeProxy n : new NodeProxy[] {nodeA, nodeB}) {
            if (n != null) {
                n.shutdown().get(30, TimeUnit.SECONDS);
            }
        }
        for (AutoCloseable c : new AutoCloseable[] {waypoint, gateway, echo}) {
            if (c != null) {
                c.close();
            }
        }
    }

    @BeforeEach
    void clear() throws Exception {
        write(mesh("[\"spiffe://cluster.local/ns/default/sa/server\"]", ""));
        awaitApplied();
        accessLines.list.clear();
        waypoint.seen.clear();
        gateway.seen.clear();
    }

    private String mesh(String gatewayServiceSans, String policies) {
        return """
                workloads:
                - uid: a/client
                  name: client
                  namespace: default
                  serviceAccount: client
                  workloadIps: ["127.0.0.71"]
                  protocol: HBONE
                  node: node-a
                - uid: b/server
                  name: server
                  namespace: default
                  serviceAccount: server
                  workloadIps: ["127.0.0.72"]
                  network: net2
                  protocol: HBONE
                  node: node-b
                  networkGateway: {destination: "net2/127.0.0.74", hboneMtlsPort: 15008}
                  services:
                    "default/echo-wp.default.svc.cluster.local": {80: %1$d}
                    "default/%2$s": {80: %1$d}
                - uid: wp/waypoint
                  name: waypoint
                  namespace: default
                  serviceAccount: waypoint
                  workloadIps: ["127.0.0.73"]
                  protocol: HBONE
                  node: waypoint-node
                - uid: gw/eastwest
                  name: eastwest
                  namespace: istio-system
                  serviceAccount: eastwest
                  workloadIps: ["127.0.0.74"]
                  network: net2
                  protocol: HBONE
                  node: gateway-node
                services:
                - name: echo-wp
                  namespace: default
                  hostname: echo-wp.default.svc.cluster.local
                  vips: ["/127.10.0.71", "net2/127.10.0.71"]
                  ports: {80: %1$d}
                  waypoint: {destination: "/127.0.0.73", hboneMtlsPort: 15008}
                - name: echo-gw
                  namespace: default
                  hostname: %2$s
                  vips: ["/127.10.0.72", "net2/127.10.0.72"]
                  ports: {80: %1$d}
                  subjectAltNames: %3$s
                """.formatted(echo.port(), GW_SERVICE, gatewayServiceSans)
                + (policies.isEmpty() ? "" : "policies:\n" + policies);
    }

    private ProxyConfig config(String node, String ip, String network, Path caDir) throws Exception {
        String inbound = ip.equals(B_IP) ? ip + ":15008" : ip + ":0";
        return ZtunnelMain.parseConfig(new String[] {
            "--local-xds-path=" + config, "--node-name=" + node, "--network=" + network, "--ca-mode=pem",
            "--ca-dir=" + caDir, "--inbound-address=" + inbound, "--inbound-plaintext-address=" + ip + ":0",
            "--outbound-address=" + ip + ":0", "--socks5-address=" + ip + ":0", "--enable-socks5",
            "--admin-address=" + ip + ":0", "--stats-address=" + ip + ":0", "--readiness-address=" + ip + ":0",
            "--connection-termination-deadline=2s", "--worker-threads=2"}, Map.of());
    }

    // ---------------------------------------------------------------- waypoint

    @Test
    void serviceWithAWaypointIsReachedThroughTheWaypoint() throws Exception {
        try (Socket s = socks5(nodeA, A_IP, new InetSocketAddress("127.10.0.71", 80))) {
            assertThat(roundTrip(s, "through the waypoint")).isEqualTo("through the waypoint");
        }
        // the waypoint got the original VIP:port as authority and the client's own identity
        assertThat(waypoint.seen).singleElement().satisfies(t -> {
            assertThat(t.authority()).isEqualTo("127.10.0.71:80");
            assertThat(t.peerIdentity().toString()).isEqualTo(CLIENT_ID);
            assertThat(t.localIdentity().toString()).isEqualTo(WAYPOINT_ID);
            assertThat(t.headers().get("forwarded")).contains(A_IP).contains("host=echo-wp.default.svc.cluster.local");
        });
        // A went to the waypoint, B saw the waypoint's identity (the waypoint re-originated)
        await("access logs", () -> !lines("direction=outbound").isEmpty() && !lines("direction=inbound").isEmpty());
        assertThat(lines("direction=outbound").get(0)).contains("dst.identity=\"" + WAYPOINT_ID + "\"")
                .contains("dst.addr=127.10.0.71:80").contains("response_flags=-");
        assertThat(lines("direction=inbound").get(0)).contains("src.identity=\"" + WAYPOINT_ID + "\"")
                .contains("dst.identity=\"" + SERVER_ID + "\"").contains("response_flags=-");
    }

    @Test
    void theDestinationAuthorizesTheWaypointsIdentityNotTheClients() throws Exception {
        // an ALLOW for the client alone: behind a waypoint the destination sees the waypoint and refuses it
        write(mesh("[\"" + SERVER_ID + "\"]", """
                - name: only-client
                  namespace: default
                  scope: Namespace
                  action: Allow
                  rules:
                  - - - principals: [{exact: cluster.local/ns/default/sa/client}]
                """));
        awaitApplied();
        IOException refused = assertThrows(IOException.class,
                () -> socks5(nodeA, A_IP, new InetSocketAddress("127.10.0.71", 80)));
        assertThat(refused).hasMessageContaining("SOCKS5 reply 5");
        await("B denied the waypoint", () -> lines("direction=inbound").stream()
                .anyMatch(l -> l.contains("src.identity=\"" + WAYPOINT_ID + "\"") && l.contains("response_flags=DENY")
                        && l.contains("no-allow-matched")));
    }

    @Test
    void directCallsToTheWaypointedWorkloadByIpSkipTheServiceWaypoint() throws Exception {
        // the waypoint is the service's (not the workload's): dialling the workload's own IP goes direct
        try (Socket s = socks5(nodeA, A_IP, new InetSocketAddress(B_IP, echo.port()))) {
            assertThat(roundTrip(s, "direct")).isEqualTo("direct");
        }
        assertThat(waypoint.seen).isEmpty();
    }

    @Test
    void inboundRefusesAnAuthorityForAnotherAddressWhenItIsNotThatTargetsWaypoint() throws Exception {
        // B's workload is not the waypoint of echo-wp: a tunnel to B naming the service VIP is a 400 (hbone-wire)
        HboneTls clientTls = tls(ca, SpiffeId.parse(CLIENT_ID));
        try (NettyHboneClient client = NettyHboneClient.builder().tls(clientTls).threads(1).build()) {
            TunnelRequest viaVip = TunnelRequest.builder().authority("127.10.0.71:80")
                    .peerAddress(new InetSocketAddress(B_IP, 15008)).sourceIdentity(SpiffeId.parse(CLIENT_ID))
                    .expectedIdentity(SpiffeId.parse(SERVER_ID)).build();
            java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> client.open(viaVip).get(20, TimeUnit.SECONDS));
            assertThat(e.getCause()).isInstanceOf(dev.hbone.api.TunnelException.class);
            assertThat(((dev.hbone.api.TunnelException) e.getCause()).status()).hasValue(400);
            // while the workload's own address is accepted from the same client
            TunnelRequest direct = TunnelRequest.builder().authority(B_IP + ":" + echo.port())
                    .peerAddress(new InetSocketAddress(B_IP, 15008)).sourceIdentity(SpiffeId.parse(CLIENT_ID))
                    .expectedIdentity(SpiffeId.parse(SERVER_ID)).build();
            client.open(direct).get(20, TimeUnit.SECONDS).close();
        }
    }

    // ---------------------------------------------------------------- network gateway

    @Test
    void serviceOnAnotherNetworkIsReachedByDoubleHboneThroughTheGateway() throws Exception {
        String secret = "inner tunnel is end to end";
        try (Socket s = socks5(nodeA, A_IP, new InetSocketAddress("127.10.0.72", 80))) {
            assertThat(roundTrip(s, secret)).isEqualTo(secret);
        }
        // outer CONNECT: authority = service hostname:port, the client's identity, the gateway's certificate
        assertThat(gateway.seen).singleElement().satisfies(t -> {
            assertThat(t.authority()).isEqualTo(GW_SERVICE + ":80");
            assertThat(t.peerIdentity().toString()).isEqualTo(CLIENT_ID);
            assertThat(t.localIdentity().toString()).isEqualTo(GATEWAY_ID);
        });
        // the gateway relayed bytes it cannot read: the inner mutual TLS runs from node A to node B
        assertThat(gateway.relayed.size()).isGreaterThan(secret.length());
        assertThat(gateway.relayed.toString(StandardCharsets.ISO_8859_1)).doesNotContain(secret)
                .doesNotContain(GW_SERVICE);
        // node B terminated the inner tunnel: the client's identity end to end, addressed by hostname
        await("access logs", () -> !lines("direction=inbound").isEmpty() && !lines("direction=outbound").isEmpty());
        assertThat(lines("direction=inbound").get(0)).contains("src.identity=\"" + CLIENT_ID + "\"")
                .contains("dst.identity=\"" + SERVER_ID + "\"").contains("dst.service=" + GW_SERVICE)
                .contains("response_flags=-");
        assertThat(lines("direction=outbound").get(0)).contains("dst.service=" + GW_SERVICE)
                .contains("response_flags=-");
    }

    @Test
    void aServiceWithoutSubjectAltNamesIsReachedAcrossNetworksExpectingItsEndpointsIdentities() throws Exception {
        write(mesh("[]", ""));
        awaitApplied();
        try (Socket s = socks5(nodeA, A_IP, new InetSocketAddress("127.10.0.72", 80))) {
            assertThat(roundTrip(s, "no sans")).isEqualTo("no sans");
        }
        assertThat(gateway.seen).hasSize(1);
    }

    // ---------------------------------------------------------------- helpers

    private void awaitApplied() throws Exception {
        String text = Files.readString(config);
        dev.hbone.ztunnel.config.LocalConfig expected = dev.hbone.ztunnel.config.LocalConfig.parse("mesh.yaml", text);
        await("configuration applied", () -> nodeA.localConfig().equals(expected)
                && nodeB.localConfig().equals(expected));
    }

    private void write(String text) throws IOException {
        if (Files.exists(config) && Files.readString(config).equals(text)) {
            return;
        }
        Path tmp = config.resolveSibling("mesh.yaml.tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, config, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static String roundTrip(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
        s.shutdownOutput();
        return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    }

    private List<String> lines(String containing) {
        List<String> out = new ArrayList<>();
        for (ILoggingEvent e : List.copyOf(accessLines.list)) {
            if (e.getFormattedMessage().contains(containing)) {
                out.add(e.getFormattedMessage());
            }
        }
        return out;
    }

    private static HboneTls tls(CertificateAuthority ca, SpiffeId id) throws Exception {
        IdentityStore store = IdentityStore.builder(SvidSources.localCa(ca, Duration.ofHours(1))).build();
        HboneTls tls = HboneTls.spiffe(store, TrustBundles.of(ca.bundle()));
        tls.loadIdentity(id).get(10, TimeUnit.SECONDS);
        return tls;
    }

    /**
     * TEST DOUBLE of a waypoint (not Envoy): terminates HBONE as the waypoint's identity, records what it was asked,
     * refuses anything but the VIP it serves, and re-originates HBONE to the destination workload's node as itself.
     */
    static final class WaypointDouble implements AutoCloseable {
        final List<TunnelInfo> seen = new CopyOnWriteArrayList<>();
        private final NettyHboneServer server;
        private final NettyHboneClient client;

        WaypointDouble(CertificateAuthority ca, InetSocketAddress bind, SpiffeId self, InetSocketAddress nextHop,
                SpiffeId destinationId, InetSocketAddress destination) throws Exception {
            HboneTls tls = tls(ca, self);
            client = NettyHboneClient.builder().tls(tls).threads(1).build();
            TunnelHandler handler = (IncomingTunnel in) -> {
                seen.add(in.info());
                NettyIncomingTunnel tunnel = (NettyIncomingTunnel) in;
                if (!in.info().authority().equals("127.10.0.71:80")) {
                    in.refuse(RefusalStatus.SERVICE_UNAVAILABLE, "this waypoint serves 127.10.0.71:80 only");
                    return;
                }
                AtomicReference<Channel> inbound = new AtomicReference<>();
                TunnelRequest request = TunnelRequest.builder()
                        .authority(destination.getAddress().getHostAddress() + ":" + destination.getPort())
                        .peerAddress(nextHop).sourceIdentity(self).expectedIdentity(destinationId).build();
                client.openChannel(request, new StreamPump(inbound)).whenComplete((out, error) -> {
                    if (error != null) {
                        in.refuse(RefusalStatus.SERVICE_UNAVAILABLE, "upstream: " + error.getMessage());
                        return;
                    }
                    tunnel.channel().eventLoop().execute(() -> {
                        Http2StreamChannel accepted = tunnel.acceptChannel(new StreamPump(new AtomicReference<>(out)));
                        inbound.set(accepted);
                        accepted.config().setAutoRead(true);
                        accepted.read();
                        out.eventLoop().execute(() -> {
                            out.config().setAutoRead(true);
                            out.read();
                        });
                    });
                });
            };
            server = NettyHboneServer.builder().bind(bind).tls(tls).identity(self).handler(handler).threads(1)
                    .start();
        }

        @Override
        public void close() throws Exception {
            server.drain(Duration.ZERO).get(10, TimeUnit.SECONDS);
            client.close();
        }
    }

    /** Copies DATA frames (and END_STREAM) from one HBONE stream to another; closes the other when one ends. */
    static final class StreamPump extends ChannelInboundHandlerAdapter {
        private final AtomicReference<Channel> to;

        StreamPump(AtomicReference<Channel> to) {
            this.to = to;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Channel other = to.get();
            if (msg instanceof Http2DataFrame f && other != null) {
                other.writeAndFlush(new DefaultHttp2DataFrame(f.content().retain(), f.isEndStream()));
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Channel other = to.get();
            if (other != null) {
                other.close();
            }
        }
    }

    /**
     * TEST DOUBLE of an east-west gateway (not Envoy): terminates the outer HBONE tunnel as the gateway identity,
     * records its authority ({@code hostname:port}), and relays the bytes inside — the inner, still encrypted HBONE
     * connection — to the destination node's HBONE port, keeping a copy of what it relayed.
     */
    static final class NetworkGatewayDouble implements AutoCloseable {
        final List<TunnelInfo> seen = new CopyOnWriteArrayList<>();
        final ByteArrayOutputStream relayed = new ByteArrayOutputStream();
        private final NettyHboneServer server;

        NetworkGatewayDouble(CertificateAuthority ca, InetSocketAddress bind, SpiffeId self,
                InetSocketAddress destinationNode) throws Exception {
            HboneTls tls = tls(ca, self);
            TunnelHandler handler = (IncomingTunnel in) -> {
                seen.add(in.info());
                NettyIncomingTunnel tunnel = (NettyIncomingTunnel) in;
                if (!in.info().authority().equals(GW_SERVICE + ":80")) {
                    in.refuse(RefusalStatus.SERVICE_UNAVAILABLE, "unknown service " + in.authority());
                    return;
                }
                ChannelFuture connect = new Bootstrap().group(tunnel.channel().eventLoop())
                        .channel(Transports.socketChannel())
                        .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                        .option(ChannelOption.AUTO_READ, false)
                        .handler(new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel ch) {
                                ch.pipeline().addLast(new Tap());
                            }
                        })
                        .connect(destinationNode);
                connect.addListener(f -> {
                    if (!f.isSuccess()) {
                        in.refuse(RefusalStatus.SERVICE_UNAVAILABLE, "cannot reach " + destinationNode);
                        return;
                    }
                    Http2StreamChannel stream = tunnel.acceptChannel(new ChannelInboundHandlerAdapter());
                    ChannelSplice.splice((DuplexChannel) connect.channel(), stream);
                });
            };
            server = NettyHboneServer.builder().bind(bind).tls(tls).identity(self).handler(handler).threads(1)
                    .start();
        }

        /** Keeps a copy of the bytes relayed toward the destination node. */
        private final class Tap extends ChannelDuplexHandler {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                if (msg instanceof ByteBuf b) {
                    byte[] copy = new byte[b.readableBytes()];
                    b.getBytes(b.readerIndex(), copy);
                    synchronized (relayed) {
                        relayed.writeBytes(copy);
                    }
                }
                ctx.write(msg, promise);
            }
        }

        @Override
        public void close() throws Exception {
            server.drain(Duration.ZERO).get(10, TimeUnit.SECONDS);
        }
    }
}
