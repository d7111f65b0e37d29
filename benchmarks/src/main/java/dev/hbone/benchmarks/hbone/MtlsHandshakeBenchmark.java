package dev.hbone.benchmarks.hbone;

import dev.hbone.netty.HboneTls;
import dev.hbone.netty.TlsProvider;
import dev.hbone.netty.internal.PeerIdentity;
import dev.hbone.netty.internal.TlsEngineFactory;
import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One full mutual-TLS 1.3 handshake between an HBONE client engine and an HBONE server engine, in memory (no
 * sockets), exactly as hbone-netty builds them: {@link TlsEngineFactory} engines (AES-GCM only, ALPN {@code h2}, no
 * SNI, no resumption), spiffe-identity's {@code SpiffeKeyManager} choosing each side's SVID through the engine's
 * binding, {@code SpiffeTrustManager} validating the peer (the client also checks the server's expected identity),
 * then the checks {@code ClientConnection} runs after the handshake (ALPN, session rules, peer SPIFFE ID). One
 * thread does both sides, so the score is handshake pairs per second on one core — compare with the crypto floor
 * in the notes (≈ 146 µs per side: ≈ 3.4k pairs/s).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class MtlsHandshakeBenchmark {
    static final SpiffeId CLIENT = SpiffeIds.kubernetes("bench.local", "bench", "client");
    static final SpiffeId SERVER = SpiffeIds.kubernetes("bench.local", "bench", "server");

    /**
     * {@code OPENSSL} is BoringSSL through netty-tcnative with HBONE's default, classical key exchange (X25519);
     * {@code OPENSSL_PQ} the same with the hybrid post-quantum group X25519MLKEM768 ({@code postQuantumKeyExchange});
     * {@code JDK} is JSSE.
     */
    @Param({"OPENSSL", "OPENSSL_PQ", "JDK"})
    public String provider;

    private IdentityStore store;
    private HboneTls tls;
    private TlsEngineFactory clientEngines;
    private TlsEngineFactory serverEngines;
    private ByteBuffer clientToServer;
    private ByteBuffer serverToClient;
    private ByteBuffer clientApp;
    private ByteBuffer serverApp;
    private final ByteBuffer empty = ByteBuffer.allocate(0);

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        CertificateAuthority ca = CertificateAuthority.builder(TrustDomain.parse("bench.local")).build();
        store = IdentityStore.builder(SvidSources.localCa(ca, Duration.ofHours(2))).build();
        store.fetch(CLIENT).join();
        store.fetch(SERVER).join();
        tls = HboneTls.builder().spiffe(store, TrustBundles.of(ca.bundle()))
                      .provider(provider.startsWith("OPENSSL") ? TlsProvider.OPENSSL : TlsProvider.JDK)
                      .postQuantumKeyExchange(provider.equals("OPENSSL_PQ")).build();
        clientEngines = new TlsEngineFactory(tls, false);
        serverEngines = new TlsEngineFactory(tls, true);
        clientToServer = ByteBuffer.allocate(64 * 1024);
        serverToClient = ByteBuffer.allocate(64 * 1024);
        clientApp = ByteBuffer.allocate(64 * 1024);
        serverApp = ByteBuffer.allocate(64 * 1024);
        handshake(); // fails the trial at once if the pair cannot complete
    }

    @Benchmark
    public SpiffeId handshake() throws Exception {
        SSLEngine client = clientEngines.newEngine(ByteBufAllocator.DEFAULT);
        SSLEngine server = serverEngines.newEngine(ByteBufAllocator.DEFAULT);
        tls.bindings().bind(client, CLIENT, Set.of(SERVER));
        tls.bindings().bind(server, SERVER, Set.of());
        try {
            clientToServer.clear();
            serverToClient.clear();
            client.beginHandshake();
            server.beginHandshake();
            boolean clientDone = false;
            boolean serverDone = false;
            for (int round = 0; !(clientDone && serverDone); round++) {
                if (round > 50) {
                    throw new SSLException("handshake did not finish: client " + client.getHandshakeStatus()
                                           + ", server " + server.getHandshakeStatus());
                }
                clientDone |= step(client, serverToClient, clientToServer, clientApp);
                serverDone |= step(server, clientToServer, serverToClient, serverApp);
            }
            // What ClientConnection / ServerConnection check once the handshake is done.
            if (!"h2".equals(client.getApplicationProtocol()) || !"h2".equals(server.getApplicationProtocol())) {
                throw new SSLException("no ALPN h2");
            }
            if (clientEngines.sessionRefusal(client.getSession()) != null) {
                throw new SSLException(clientEngines.sessionRefusal(client.getSession()));
            }
            PeerIdentity.of(server.getSession());
            return PeerIdentity.of(client.getSession());
        } finally {
            tls.bindings().unbind(client);
            tls.bindings().unbind(server);
            ReferenceCountUtil.release(client); // BoringSSL engines hold native memory
            ReferenceCountUtil.release(server);
        }
    }

    /**
     * Feeds {@code engine} what the peer wrote ({@code in}, write mode), lets it write its own records to
     * {@code out} (write mode); returns whether its handshake is complete.
     */
    private boolean step(SSLEngine engine, ByteBuffer in, ByteBuffer out, ByteBuffer app) throws SSLException {
        boolean finished = false;
        in.flip();
        try {
            for (int calls = 0; ; calls++) {
                if (calls > 100) {
                    throw new SSLException("engine makes no progress: " + engine.getHandshakeStatus());
                }
                SSLEngineResult.HandshakeStatus hs = engine.getHandshakeStatus();
                SSLEngineResult r;
                if (hs == SSLEngineResult.HandshakeStatus.NEED_TASK) {
                    Runnable task;
                    while ((task = engine.getDelegatedTask()) != null) {
                        task.run();
                    }
                    continue;
                } else if (hs == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
                    r = engine.wrap(empty, out);
                } else if (hs == SSLEngineResult.HandshakeStatus.NEED_UNWRAP) {
                    // Even with nothing new to read: after a delegated task, BoringSSL's engine resumes on unwrap.
                    app.clear();
                    r = engine.unwrap(in, app);
                    if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW) {
                        return finished;
                    }
                } else if (hs == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING && in.hasRemaining()) {
                    app.clear(); // post-handshake records (e.g. a NewSessionTicket)
                    r = engine.unwrap(in, app);
                    if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW) {
                        return true;
                    }
                } else {
                    return finished || hs == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING;
                }
                if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                    throw new SSLException("engine closed during the handshake");
                }
                if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
                    finished = true;
                }
                if (r.bytesConsumed() == 0 && r.bytesProduced() == 0
                    && r.getHandshakeStatus() != SSLEngineResult.HandshakeStatus.NEED_TASK
                    && r.getHandshakeStatus() != SSLEngineResult.HandshakeStatus.NEED_WRAP) {
                    return finished;
                }
            }
        } finally {
            in.compact();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        store.close();
    }
}
