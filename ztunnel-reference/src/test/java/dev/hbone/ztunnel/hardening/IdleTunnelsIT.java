package dev.hbone.ztunnel.hardening;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelRequest;
import dev.hbone.netty.HboneTls;
import dev.hbone.netty.NettyHboneClient;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of idle tunnels (security-tests.md "Faults"): the proxy process runs with a small heap (96 MiB); 10 000
 * idle tunnels (property {@code hardening.idleTunnels}) are opened through it, multiplexed over the client's pooled
 * HTTP/2 connections (100 streams each), each spliced to its own upstream TCP connection. All must still be usable
 * afterwards (one byte echoed on every one), and the proxy must not run out of memory; the heap and RSS per idle
 * tunnel are recorded in {@code target/hardening/idle-tunnels.md}.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class IdleTunnelsIT {
    static final String TD = "cluster.local";
    static final String IP = "127.0.9.1";
    static final int TUNNELS = Integer.getInteger("hardening.idleTunnels", 10_000);

    @TempDir
    Path dir;

    /** An echo server for thousands of connections on one event loop. */
    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    @Test
    void tenThousandIdleTunnelsStayUsableInASmallHeap() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        Channel echo = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .option(io.netty.channel.ChannelOption.SO_BACKLOG, 4096)
                .childHandler(new Echo()).bind(new InetSocketAddress(IP, 0)).sync().channel();
        int echoPort = ((InetSocketAddress) echo.localAddress()).getPort();
        CertificateAuthority ca = CertificateAuthority.builder(TrustDomain.parse(TD)).build();
        ca.save(dir.resolve("ca"));
        Files.writeString(dir.resolve("mesh.yaml"), """
                workloads:
                - {uid: n1/idle, name: idle, namespace: default, serviceAccount: idle, workloadIps: ["127.0.9.1"], protocol: HBONE, node: n1}
                """);
        List<Tunnel> tunnels = new ArrayList<>();
        try (ProxyProcess proxy = ProxyProcess.start("96m", List.of(), List.of(
                "--local-xds-path=" + dir.resolve("mesh.yaml"), "--node-name=n1", "--ca-mode=pem",
                "--ca-dir=" + dir.resolve("ca"), "--inbound-address=" + IP + ":15008",
                "--inbound-plaintext-address=" + IP + ":0", "--outbound-address=" + IP + ":0",
                "--admin-address=" + IP + ":0", "--stats-address=" + IP + ":0", "--readiness-address=" + IP + ":0",
                "--connection-termination-deadline=1s", "--log-level=info,access=off"), Map.of());
             IdentityStore store = IdentityStore.builder(SvidSources.localCa(ca, Duration.ofHours(1))).build();
             NettyHboneClient client = NettyHboneClient.builder()
                     .tls(HboneTls.spiffe(store, TrustBundles.of(ca.bundle()))).build()) {
            TunnelRequest request = TunnelRequest.builder().peerAddress(new InetSocketAddress(IP, 15008))
                    .authority(IP + ":" + echoPort)
                    .sourceIdentity(SpiffeId.parse("spiffe://cluster.local/ns/default/sa/client"))
                    .expectedIdentity(SpiffeId.parse("spiffe://cluster.local/ns/default/sa/idle"))
                    .timeout(Duration.ofSeconds(60)).build();
            // warm up (one tunnel, a pooled connection), then the baseline
            Tunnel first = client.open(request).get(30, TimeUnit.SECONDS);
            tunnels.add(first);
            long heap0 = proxy.heapUsedKib();
            long rss0 = proxy.rssKib();
            long t0 = System.nanoTime();
            AtomicLong echoed = new AtomicLong();
            for (int opened = 1; opened < TUNNELS; ) {
                int batch = Math.min(500, TUNNELS - opened);
                List<CompletableFuture<Tunnel>> pending = new ArrayList<>();
                for (int i = 0; i < batch; i++) {
                    pending.add(client.open(request));
                }
                for (CompletableFuture<Tunnel> f : pending) {
                    tunnels.add(f.get(60, TimeUnit.SECONDS));
                }
                opened += batch;
            }
            double openSeconds = (System.nanoTime() - t0) / 1e9;
            for (Tunnel t : tunnels) {
                t.inbound().subscribe(new Flow.Subscriber<>() {
                    @Override
                    public void onSubscribe(Flow.Subscription s) {
                        s.request(Long.MAX_VALUE);
                    }

                    @Override
                    public void onNext(ByteBuffer item) {
                        echoed.addAndGet(item.remaining());
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onComplete() {
                    }
                });
            }
            long heap1 = proxy.heapUsedKib();
            long rss1 = proxy.rssKib();
            assertThat(proxy.isAlive()).isTrue();
            assertThat(client.pooledConnections()).as("multiplexed over pooled connections")
                    .isLessThanOrEqualTo(TUNNELS / 100 + 5);
            // every idle tunnel is still usable: one byte each way
            for (Tunnel t : tunnels) {
                t.write(ByteBuffer.wrap(new byte[] {'x'}));
            }
            Hardening.await(() -> "every tunnel echoes its byte (" + echoed.get() + "/" + TUNNELS + ")", 60,
                    () -> echoed.get() == TUNNELS);
            String line = String.format(Locale.ROOT, "| %d | %d | %.1f | %d | %d | %d | %d | %.0f | %.0f |", TUNNELS,
                    client.pooledConnections(), openSeconds, heap0 / 1024, heap1 / 1024, rss0 / 1024, rss1 / 1024,
                    (heap1 - heap0) * 1024.0 / TUNNELS, (rss1 - rss0) * 1024.0 / TUNNELS);
            Path out = Path.of("target", "hardening", "idle-tunnels.md");
            Files.createDirectories(out.getParent());
            Files.write(out, List.of("| tunnels | HTTP/2 connections | open s | heap MiB before | heap MiB after "
                    + "| RSS MiB before | RSS MiB after | heap bytes/tunnel | RSS bytes/tunnel |",
                    "|---|---|---|---|---|---|---|---|---|", line));
            System.out.println(line);
            assertThat(proxy.output()).doesNotContain("OutOfMemoryError");
        } finally {
            for (Tunnel t : tunnels) {
                t.abort();
            }
            echo.close();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
