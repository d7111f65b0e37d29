package dev.hbone.netty;

import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelInfo;
import dev.hbone.api.TunnelListener;
import dev.hbone.api.TunnelStats;
import dev.hbone.netty.testing.HboneTestEnv;
import dev.hbone.netty.testing.TunnelIo;
import dev.hbone.netty.testing.Upstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Payload integrity, half-close both ways and many concurrent tunnels, over real sockets and real mTLS. */
class TunnelDataTest {
    private HboneTestEnv env;

    @BeforeEach
    void setUp() throws Exception {
        env = new HboneTestEnv();
    }

    @AfterEach
    void tearDown() throws Exception {
        env.close();
    }

    @Test
    void echoesSixteenMebibytesIntact() throws Exception {
        CompletableFuture<TunnelStats> serverStats = new CompletableFuture<>();
        NettyHboneServer server = env.server(TcpForwarder.builder().build(), new TunnelListener() {
            @Override
            public void onClosed(TunnelInfo tunnel, TunnelStats stats) {
                serverStats.complete(stats);
            }
        });
        NettyHboneClient client = env.client();
        Tunnel tunnel = client.open(env.request(server, env.echo.authority())
                                       .forwarded(new java.net.InetSocketAddress("127.0.0.1", 40000), "echo.local")
                                       .build()).get(20, TimeUnit.SECONDS);
        assertThat(tunnel.info().peerIdentity()).isEqualTo(env.serverId);
        assertThat(tunnel.info().localIdentity()).isEqualTo(env.clientId);

        long size = 16L * 1024 * 1024;
        CompletableFuture<TunnelIo.Received> read = TunnelIo.readAll(tunnel);
        String sent = TunnelIo.writeRandom(tunnel, size, 42, 256 * 1024).get(60, TimeUnit.SECONDS);
        TunnelIo.Received got = read.get(60, TimeUnit.SECONDS);

        assertThat(got.bytes()).isEqualTo(size);
        assertThat(got.sha256()).isEqualTo(sent);
        TunnelStats stats = tunnel.closeFuture().get(10, TimeUnit.SECONDS);
        assertThat(stats.failure()).isEmpty();
        assertThat(stats.bytesSent()).isEqualTo(size);
        assertThat(stats.bytesReceived()).isEqualTo(size);
    }

    @Test
    void clientHalfCloseStillReceivesTheAnswer() throws Exception {
        try (Upstream counter = Upstream.counter(env.group)) {
            NettyHboneServer server = env.server();
            Tunnel tunnel = env.client().open(env.request(server, counter.authority()).build()).get(20, TimeUnit.SECONDS);
            CompletableFuture<TunnelIo.Received> read = TunnelIo.readAll(tunnel);
            TunnelIo.writeRandom(tunnel, 1_000_000, 1, 64 * 1024).get(20, TimeUnit.SECONDS);
            // Our FIN reached the upstream as EOF; its answer travels back over the still-open direction.
            assertThat(new String(read.get(20, TimeUnit.SECONDS).head(), StandardCharsets.US_ASCII)).isEqualTo("1000000");
            assertThat(tunnel.closeFuture().get(10, TimeUnit.SECONDS).failure()).isEmpty();
        }
    }

    @Test
    void serverHalfCloseLeavesTheClientWriting() throws Exception {
        CompletableFuture<Long> received = new CompletableFuture<>();
        try (Upstream greeter = Upstream.greeter(env.group, received)) {
            NettyHboneServer server = env.server();
            Tunnel tunnel = env.client().open(env.request(server, greeter.authority()).build()).get(20, TimeUnit.SECONDS);
            // The upstream's FIN ends our inbound side first...
            TunnelIo.Received got = TunnelIo.readAll(tunnel).get(20, TimeUnit.SECONDS);
            assertThat(new String(got.head(), StandardCharsets.US_ASCII)).isEqualTo("hello");
            // ...and we can still send.
            TunnelIo.writeRandom(tunnel, 3_000_000, 2, 64 * 1024).get(20, TimeUnit.SECONDS);
            assertThat(received.get(20, TimeUnit.SECONDS)).isEqualTo(3_000_000L);
            assertThat(tunnel.closeFuture().get(10, TimeUnit.SECONDS).failure()).isEmpty();
        }
    }

    @Test
    void carriesOneHundredFiftyConcurrentTunnels() throws Exception {
        NettyHboneServer server = env.server();
        NettyHboneClient client = env.client();
        int n = 150;
        List<CompletableFuture<Boolean>> results = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long seed = i;
            results.add(client.open(env.request(server, env.echo.authority()).build()).thenCompose(t -> {
                CompletableFuture<TunnelIo.Received> read = TunnelIo.readAll(t);
                return TunnelIo.writeRandom(t, 64 * 1024 + seed, seed, 16 * 1024)
                               .thenCombine(read, (sent, got) -> got.sha256().equals(sent));
            }));
        }
        CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        assertThat(results).allMatch(CompletableFuture::join);
        // 150 streams do not fit in one connection of 100.
        assertThat(server.connectionCount()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void abortIsReadAsEndOfStreamByTheServer() throws Exception {
        CompletableFuture<TunnelStats> serverSide = new CompletableFuture<>();
        NettyHboneServer server = env.server((incoming) -> {
            Tunnel t = incoming.accept();
            t.closeFuture().thenAccept(serverSide::complete);
            TunnelIo.readAll(t);
        }, TunnelListener.NOOP);
        Tunnel tunnel = env.client().open(env.request(server, env.echo.authority()).build()).get(20, TimeUnit.SECONDS);
        tunnel.write(ByteBuffer.wrap(new byte[100])).get(10, TimeUnit.SECONDS);
        tunnel.abort();
        // RST_STREAM(CANCEL) is a clean end for the reader, not an error.
        TunnelStats stats = serverSide.get(10, TimeUnit.SECONDS);
        assertThat(stats.failure()).isEmpty();
    }
}
