package dev.hbone.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hbone.api.TunnelRequest;
import dev.hbone.netty.testing.HboneTestEnv;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The key-exchange groups our client offers, read from the ClientHello it really sends (a plain socket stands in
 * for the server and never answers): classical groups by default with X25519 as the one key share, the hybrid
 * post-quantum group first only when asked. BoringSSL only (the JDK provider offers the JDK's groups).
 */
class KeyExchangeGroupsTest {
    private static final int X25519 = 0x001d;
    private static final int SECP256R1 = 0x0017;
    private static final int X25519MLKEM768 = 0x11ec;

    private HboneTestEnv env;

    @BeforeEach
    void setUp() throws Exception {
        env = new HboneTestEnv();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (env != null) {
            env.close();
        }
    }

    @Test
    void classicalGroupsByDefaultWithX25519AsTheKeyShare() throws Exception {
        assumeTrue(HboneTestEnv.provider() == TlsProvider.OPENSSL, "groups are set for BoringSSL only");
        Hello hello = clientHello(HboneTls.builder().spiffe(env.store, env.bundles).provider(TlsProvider.OPENSSL)
                                          .build());
        assertThat(hello.supportedGroups).startsWith(X25519, SECP256R1).doesNotContain(X25519MLKEM768);
        assertThat(hello.keyShareGroups).containsExactly(X25519);
    }

    @Test
    void hybridPostQuantumGroupFirstWhenAsked() throws Exception {
        assumeTrue(HboneTestEnv.provider() == TlsProvider.OPENSSL, "groups are set for BoringSSL only");
        HboneTls tls = HboneTls.builder().spiffe(env.store, env.bundles).provider(TlsProvider.OPENSSL)
                               .postQuantumKeyExchange(true).build();
        assertThat(tls.postQuantumKeyExchange()).isTrue();
        Hello hello = clientHello(tls);
        assertThat(hello.supportedGroups).startsWith(X25519MLKEM768, X25519).contains(SECP256R1);
        assertThat(hello.keyShareGroups).first().isEqualTo(X25519MLKEM768);
    }

    @Test
    void hybridPostQuantumWithTheJdkProviderIsRefusedWithAReason() {
        assertThatThrownBy(() -> HboneTls.builder().spiffe(env.store, env.bundles).provider(TlsProvider.JDK)
                                         .postQuantumKeyExchange(true).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("X25519MLKEM768").hasMessageContaining("OPENSSL");
    }

    /** Opens a tunnel towards a socket that only records the first TLS record, and parses it. */
    private Hello clientHello(HboneTls tls) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<byte[]> record = CompletableFuture.supplyAsync(() -> {
                try (Socket s = listener.accept()) {
                    DataInputStream in = new DataInputStream(s.getInputStream());
                    byte[] header = new byte[5];
                    in.readFully(header);
                    byte[] body = new byte[((header[3] & 0xff) << 8) | (header[4] & 0xff)];
                    in.readFully(body);
                    assertThat(header[0]).as("handshake record").isEqualTo((byte) 22);
                    return body;
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            NettyHboneClient client = NettyHboneClient.builder().tls(tls).threads(1).build();
            try {
                client.open(TunnelRequest.builder().authority("10.0.0.1:80")
                                    .peerAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                                                                       listener.getLocalPort()))
                                    .sourceIdentity(env.clientId).expectedIdentity(env.serverId)
                                    .timeout(Duration.ofSeconds(2)).build());
                return Hello.parse(ByteBuffer.wrap(record.get(20, TimeUnit.SECONDS)));
            } finally {
                client.drain(Duration.ZERO).get(10, TimeUnit.SECONDS);
            }
        }
    }

    /** The two extensions of a TLS 1.3 ClientHello this test reads (RFC 8446, 4.1.2 and 4.2). */
    private record Hello(List<Integer> supportedGroups, List<Integer> keyShareGroups) {
        static Hello parse(ByteBuffer b) {
            assertThat(b.get()).as("ClientHello").isEqualTo((byte) 1);
            skip(b, 3 + 2 + 32);                        // length, legacy_version, random
            skip(b, b.get() & 0xff);                    // legacy_session_id
            skip(b, b.getShort() & 0xffff);             // cipher_suites
            skip(b, b.get() & 0xff);                    // legacy_compression_methods
            int end = (b.getShort() & 0xffff) + b.position();
            List<Integer> groups = new ArrayList<>();
            List<Integer> shares = new ArrayList<>();
            while (b.position() < end) {
                int type = b.getShort() & 0xffff;
                int length = b.getShort() & 0xffff;
                ByteBuffer ext = b.slice(b.position(), length);
                skip(b, length);
                if (type == 10) {                       // supported_groups
                    for (int n = (ext.getShort() & 0xffff) / 2; n > 0; n--) {
                        int g = ext.getShort() & 0xffff;
                        if ((g & 0x0f0f) != 0x0a0a) {   // GREASE values are not groups
                            groups.add(g);
                        }
                    }
                } else if (type == 51) {                // key_share
                    int sharesEnd = (ext.getShort() & 0xffff) + ext.position();
                    while (ext.position() < sharesEnd) {
                        int g = ext.getShort() & 0xffff;
                        skip(ext, ext.getShort() & 0xffff);
                        if ((g & 0x0f0f) != 0x0a0a) {
                            shares.add(g);
                        }
                    }
                }
            }
            return new Hello(groups, shares);
        }

        private static void skip(ByteBuffer b, int n) {
            b.position(b.position() + n);
        }
    }
}
