package dev.hbone.netty.testing;

import dev.hbone.api.TunnelHandler;
import dev.hbone.api.TunnelListener;
import dev.hbone.api.TunnelRequest;
import dev.hbone.netty.NettyHboneClient;
import dev.hbone.netty.NettyHboneServer;
import dev.hbone.netty.TcpForwarder;
import dev.hbone.netty.TlsProvider;
import dev.hbone.netty.internal.Transports;
import io.netty.channel.EventLoopGroup;
import io.spiffe.spiffeid.SpiffeId;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * A test world on 127.0.0.1: a CA, a client and a server identity, an echo upstream, and helpers to start HBONE
 * servers and clients with the provider chosen by {@code -Dhbone.tls.provider}.
 */
public final class HboneTestEnv implements AutoCloseable {
    public final TestPki pki = new TestPki("test.local");
    public final SpiffeId clientId = pki.id("default", "client");
    public final SpiffeId serverId = pki.id("default", "server");
    public final TestPki.Svid clientSvid = pki.issue(clientId);
    public final TestPki.Svid serverSvid = pki.issue(serverId);
    public final TestTls clientTls = new TestTls(pki, clientSvid);
    public final TestTls serverTls = new TestTls(pki, serverSvid);
    public final EventLoopGroup group = Transports.newGroup(2, "hbone-test-upstream");
    public final Upstream echo;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    public HboneTestEnv() throws InterruptedException {
        echo = Upstream.echo(group);
        closeables.add(echo);
    }

    public static TlsProvider provider() {
        return TlsProvider.defaultProvider();
    }

    /** A server on 127.0.0.1:0 forwarding to authorities on 127.0.0.1. */
    public NettyHboneServer server() {
        return server(TcpForwarder.builder().build(), TunnelListener.NOOP);
    }

    public NettyHboneServer server(TunnelHandler handler, TunnelListener listener) {
        return server(handler, listener, serverId, serverTls);
    }

    public NettyHboneServer server(TunnelHandler handler, TunnelListener listener, SpiffeId id, TestTls tls) {
        NettyHboneServer s = NettyHboneServer.builder()
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .tls(tls.tls(provider()))
                .identity(id)
                .handler(handler)
                .listener(listener)
                .threads(2)
                .start();
        closeables.add(() -> s.drain(Duration.ofMillis(200)).get(10, TimeUnit.SECONDS));
        return s;
    }

    public NettyHboneClient client() {
        return client(b -> b);
    }

    public NettyHboneClient client(UnaryOperator<NettyHboneClient.Builder> customize) {
        NettyHboneClient c = customize.apply(NettyHboneClient.builder().tls(clientTls.tls(provider())).threads(2))
                                      .build();
        closeables.add(() -> c.drain(Duration.ofMillis(200)).get(10, TimeUnit.SECONDS));
        return c;
    }

    /** A request through {@code server} to {@code authority}, as the client identity, expecting the server's. */
    public TunnelRequest.Builder request(NettyHboneServer server, String authority) {
        return TunnelRequest.builder()
                .authority(authority)
                .peerAddress(server.localAddress())
                .sourceIdentity(clientId)
                .expectedIdentity(serverId)
                .timeout(Duration.ofSeconds(20));
    }

    @Override
    public void close() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception ignored) {
                // keep closing the rest
            }
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
}
