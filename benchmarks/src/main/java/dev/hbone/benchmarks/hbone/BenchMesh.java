package dev.hbone.benchmarks.hbone;

import dev.hbone.api.TunnelHandler;
import dev.hbone.api.TunnelRequest;
import dev.hbone.netty.HboneTls;
import dev.hbone.netty.NettyHboneClient;
import dev.hbone.netty.NettyHboneServer;
import dev.hbone.netty.TlsProvider;
import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/** An HBONE client and server on loopback with real mTLS, for the benchmarks. */
final class BenchMesh implements AutoCloseable {
    static final SpiffeId CLIENT = SpiffeIds.kubernetes("bench.local", "bench", "client");
    static final SpiffeId SERVER = SpiffeIds.kubernetes("bench.local", "bench", "server");

    final IdentityStore store;
    final NettyHboneServer server;
    final NettyHboneClient client;

    BenchMesh(TunnelHandler handler) {
        CertificateAuthority ca = CertificateAuthority.builder(TrustDomain.parse("bench.local")).build();
        store = IdentityStore.builder(SvidSources.localCa(ca, Duration.ofHours(2))).build();
        HboneTls tls = HboneTls.builder().spiffe(store, TrustBundles.of(ca.bundle()))
                               .provider(TlsProvider.defaultProvider()).build();
        server = NettyHboneServer.builder().bind(new InetSocketAddress("127.0.0.1", 0)).tls(tls).identity(SERVER)
                                 .handler(handler).threads(1).start();
        client = NettyHboneClient.builder().tls(tls).threads(1).build();
    }

    TunnelRequest request(String authority) {
        return TunnelRequest.builder().authority(authority).peerAddress(server.localAddress())
                            .sourceIdentity(CLIENT).expectedIdentity(SERVER).build();
    }

    @Override
    public void close() {
        client.close();
        server.close();
        store.close();
    }

    /** A blocking TCP service on loopback: {@code echo} answers every byte, otherwise it discards. */
    static final class TcpService implements AutoCloseable {
        private final ServerSocketChannel socket;

        TcpService(boolean echo) throws IOException {
            socket = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
            Thread t = new Thread(() -> {
                while (socket.isOpen()) {
                    try {
                        SocketChannel c = socket.accept();
                        c.socket().setTcpNoDelay(true);
                        Thread h = new Thread(() -> serve(c, echo), "bench-tcp");
                        h.setDaemon(true);
                        h.start();
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "bench-accept");
            t.setDaemon(true);
            t.start();
        }

        InetSocketAddress address() throws IOException {
            return (InetSocketAddress) socket.getLocalAddress();
        }

        String authority() throws IOException {
            return "127.0.0.1:" + address().getPort();
        }

        private static void serve(SocketChannel c, boolean echo) {
            try (c) {
                ByteBuffer buf = ByteBuffer.allocateDirect(256 * 1024);
                while (c.read(buf) >= 0) {
                    buf.flip();
                    if (echo) {
                        while (buf.hasRemaining()) {
                            c.write(buf);
                        }
                    }
                    buf.clear();
                }
                c.shutdownOutput();
            } catch (IOException ignored) {
                // peer gone
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
