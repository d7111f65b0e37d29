package dev.hbone.netty;

import dev.hbone.api.ProxyProtocolV2;
import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelInfo;
import dev.hbone.api.TunnelListener;
import dev.hbone.api.TunnelRequest;
import dev.hbone.api.TunnelStats;
import dev.hbone.netty.testing.HboneTestEnv;
import dev.hbone.netty.testing.TunnelIo;
import io.spiffe.spiffeid.SpiffeId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Double HBONE through a gateway, and the PROXY v2 header toward an application tunnel. */
class DoubleHboneAndProxyProtocolTest {
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
    void tunnelsThroughAGatewayWithASecondHandshake() throws Exception {
        SpiffeId gatewayId = env.id("istio-system", "eastwest-gateway");
        CompletableFuture<TunnelInfo> innerSeen = new CompletableFuture<>();
        CompletableFuture<TunnelInfo> outerSeen = new CompletableFuture<>();
        // The service's own HBONE server (behind the gateway), proving the service identity.
        NettyHboneServer service = env.server(TcpForwarder.builder().requireLocalDestination(false)
                                                          .target(t -> env.echo.address()).build(),
                                              new TunnelListener() {
                                                  @Override
                                                  public void onOpened(TunnelInfo tunnel) {
                                                      innerSeen.complete(tunnel);
                                                  }
                                              }, env.serverId);
        // The east-west gateway: forwards the outer tunnel's bytes (an inner TLS connection) to the service.
        NettyHboneServer gateway = env.server(TcpForwarder.builder().requireLocalDestination(false)
                                                          .target(t -> service.localAddress()).build(),
                                              new TunnelListener() {
                                                  @Override
                                                  public void onOpened(TunnelInfo tunnel) {
                                                      outerSeen.complete(tunnel);
                                                  }
                                              }, gatewayId);
        NettyHboneClient client = env.client();
        Tunnel tunnel = client.open(TunnelRequest.builder()
                                                 .authority("echo.remote.svc.cluster.local:80")
                                                 .sourceIdentity(env.clientId)
                                                 .expectedIdentity(env.serverId)
                                                 .gateway(new TunnelRequest.Gateway(gateway.localAddress(),
                                                                                    Set.of(gatewayId), "network-a"))
                                                 .build()).get(20, TimeUnit.SECONDS);

        CompletableFuture<TunnelIo.Received> read = TunnelIo.readAll(tunnel);
        String sent = TunnelIo.writeRandom(tunnel, 2_000_000, 11, 64 * 1024).get(20, TimeUnit.SECONDS);
        assertThat(read.get(20, TimeUnit.SECONDS).sha256()).isEqualTo(sent);
        assertThat(tunnel.info().peerIdentity()).isEqualTo(env.serverId); // the inner handshake's peer

        TunnelInfo inner = innerSeen.get(10, TimeUnit.SECONDS);
        assertThat(inner.peerIdentity()).isEqualTo(env.clientId);
        assertThat(inner.authority()).isEqualTo("echo.remote.svc.cluster.local:80");
        assertThat(inner.headers()).containsEntry("x-forwarded-network", "network-a");
        TunnelInfo outer = outerSeen.get(10, TimeUnit.SECONDS);
        assertThat(outer.authority()).isEqualTo("echo.remote.svc.cluster.local:80");
        assertThat(outer.headers()).doesNotContainKey("x-forwarded-network");
        TunnelStats stats = tunnel.closeFuture().get(10, TimeUnit.SECONDS);
        assertThat(stats.failure()).isEmpty();
    }

    @Test
    void writesAProxyV2HeaderWithTheSpiffeIdBeforeTheData() throws Exception {
        NettyHboneServer server = env.server(TcpForwarder.builder().proxyProtocol(true).build(), TunnelListener.NOOP);
        InetSocketAddress client = new InetSocketAddress("127.0.0.1", 45678);
        Tunnel tunnel = env.client().open(env.request(server, env.echo.authority()).forwarded(client, null).build())
                           .get(20, TimeUnit.SECONDS);
        CompletableFuture<TunnelIo.Received> read = TunnelIo.readAll(tunnel);
        tunnel.shutdownOutput();
        // The echo upstream returns what it got: the PROXY header first.
        ByteBuffer expected = ProxyProtocolV2.encode(client, env.echo.address(), env.clientId);
        byte[] head = read.get(20, TimeUnit.SECONDS).head();
        byte[] want = new byte[expected.remaining()];
        expected.get(want);
        assertThat(head.length).isEqualTo(Math.min(64, want.length));
        assertThat(head).isEqualTo(Arrays.copyOf(want, head.length));
    }
}
