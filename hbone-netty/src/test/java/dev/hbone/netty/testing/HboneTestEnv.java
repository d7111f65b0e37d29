package dev.hbone.netty.testing;

import dev.hbone.api.TunnelHandler;
import dev.hbone.api.TunnelListener;
import dev.hbone.api.TunnelRequest;
import dev.hbone.netty.NettyHboneClient;
import dev.hbone.netty.NettyHboneServer;
import dev.hbone.netty.TcpForwarder;
import dev.hbone.netty.TlsProvider;
import dev.hbone.netty.HboneTls;
import dev.hbone.netty.internal.Transports;
import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
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
    public static final String TRUST_DOMAIN = "test.local";
    public final CertificateAuthority ca = CertificateAuthority.builder(TrustDomain.parse(TRUST_DOMAIN)).build();
    public final IdentityStore store = IdentityStore.builder(SvidSources.localCa(ca, Duration.ofHours(1))).build();
    public final TrustBundles bundles = TrustBundles.of(ca.bundle());
    /** spiffe-identity's key manager, trust manager and handshake bindings, shared by clients and servers here. */
    public final HboneTls tls = HboneTls.builder().spiffe(store, bundles).provider(provider()).build();
    public final SpiffeId clientId = id("default", "client");
    public final SpiffeId serverId = id("default", "server");
    public final EventLoopGroup group = Transports.newGroup(2, "hbone-test-upstream");
    public final Upstream echo;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    public HboneTestEnv() throws InterruptedException {
        echo = Upstream.echo(group);
        closeables.add(echo);
        closeables.add(store);
    }

    public SpiffeId id(String namespace, String serviceAccount) {
        return SpiffeIds.kubernetes(TRUST_DOMAIN, namespace, serviceAccount);
    }

    /** The client's current SVID (for raw JDK sockets). */
    public X509Svid clientSvid() {
        try {
            return store.fetch(clientId).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static TlsProvider provider() {
        return TlsProvider.defaultProvider();
    }

    /** A server on 127.0.0.1:0 forwarding to authorities on 127.0.0.1. */
    public NettyHboneServer server() {
        return server(TcpForwarder.builder().build(), TunnelListener.NOOP);
    }

    public NettyHboneServer server(TunnelHandler handler, TunnelListener listener) {
        return server(handler, listener, serverId);
    }

    public NettyHboneServer server(TunnelHandler handler, TunnelListener listener, SpiffeId id) {
        return server(handler, listener, id, b -> b);
    }

    /** A server as above, with builder settings of the test's own (e.g. short PING intervals). */
    public NettyHboneServer server(TunnelHandler handler, TunnelListener listener, SpiffeId id,
                                   UnaryOperator<NettyHboneServer.Builder> customize) {
        NettyHboneServer s = customize.apply(NettyHboneServer.builder()
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .tls(tls)
                .identity(id)
                .handler(handler)
                .listener(listener)
                .threads(2))
                .start();
        closeables.add(() -> s.drain(Duration.ofMillis(200)).get(10, TimeUnit.SECONDS));
        return s;
    }

    public NettyHboneClient client() {
        return client(b -> b);
    }

    public NettyHboneClient client(UnaryOperator<NettyHboneClient.Builder> customize) {
        NettyHboneClient c = customize.apply(NettyHboneClient.builder().tls(tls).threads(2))
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
