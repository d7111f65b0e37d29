package dev.hbone.spiffe.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.store.SvidListener;
import dev.hbone.spiffe.testing.EngineHandshake;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.svid.x509svid.X509Svid;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Many threads handshake while both identities rotate. Every handshake must succeed (a chain paired with the wrong
 * key would fail the peer's CertificateVerify check), present a certificate the store really issued together with
 * its intermediate, and after the rotations stop, new handshakes must present the newest certificate.
 */
class RotationUnderConcurrencyTest {
    private static final SpiffeId CLIENT = SpiffeIds.kubernetes("cluster.local", "default", "client");
    private static final SpiffeId SERVER = SpiffeIds.kubernetes("cluster.local", "default", "server");
    private static final int THREADS = 4;
    private static final int HANDSHAKES_PER_THREAD = 25;

    @ParameterizedTest
    @EnumSource(TlsFixture.Provider.class)
    void handshakesStayConsistentWhileTheStoreRotates(TlsFixture.Provider provider) throws Exception {
        try (TlsFixture f = new TlsFixture(provider)) {
            Set<X509Certificate> issued = ConcurrentHashMap.newKeySet();
            f.store.addListener(new SvidListener() {
                @Override
                public void onSvidUpdated(SpiffeId identity, X509Svid svid) {
                    issued.add(svid.getLeaf());
                }
            });
            f.store.fetch(CLIENT).join();
            f.store.fetch(SERVER).join();

            ExecutorService pool = Executors.newFixedThreadPool(THREADS + 1);
            AtomicBoolean running = new AtomicBoolean(true);
            AtomicInteger rotations = new AtomicInteger();
            CountDownLatch start = new CountDownLatch(1);
            Set<X509Certificate> serverLeavesSeen = ConcurrentHashMap.newKeySet();
            Set<X509Certificate> clientLeavesSeen = ConcurrentHashMap.newKeySet();
            try {
                Future<?> rotator = pool.submit(() -> {
                    start.await();
                    while (running.get()) {
                        f.store.renew(SERVER).join();
                        f.store.renew(CLIENT).join();
                        rotations.incrementAndGet();
                    }
                    return null;
                });
                List<Future<List<String>>> workers = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    final int thread = t;
                    workers.add(pool.submit(() -> {
                        List<String> problems = new ArrayList<>();
                        start.await();
                        for (int i = 0; i < HANDSHAKES_PER_THREAD; i++) {
                            if (thread == 0 && i % 5 == 4) {
                                // Guarantees rotations between handshakes even if the rotator thread is starved.
                                f.store.renew(SERVER).join();
                            }
                            EngineHandshake.Result r = f.handshake(HandshakeBinding.client(CLIENT, Set.of(SERVER)),
                                    HandshakeBinding.server(SERVER));
                            if (!r.succeeded()) {
                                problems.add("handshake failed: " + r.anyError());
                                continue;
                            }
                            X509Certificate[] serverChain = r.serverChainSeenByClient();
                            X509Certificate[] clientChain = r.clientChainSeenByServer();
                            serverLeavesSeen.add(serverChain[0]);
                            clientLeavesSeen.add(clientChain[0]);
                            if (serverChain.length != 2 || !serverChain[1].equals(f.ca.signingCertificate())) {
                                problems.add("server chain is not leaf + intermediate");
                            }
                        }
                        return problems;
                    }));
                }
                start.countDown();
                List<String> problems = new ArrayList<>();
                for (Future<List<String>> w : workers) {
                    problems.addAll(w.get(60, TimeUnit.SECONDS));
                }
                running.set(false);
                rotator.get(60, TimeUnit.SECONDS);
                assertThat(problems).isEmpty();
                // Listeners run just after a new SVID is served, so compare once everything has settled.
                assertThat(issued).as("only certificates the store issued were presented")
                        .containsAll(serverLeavesSeen).containsAll(clientLeavesSeen);
            } finally {
                running.set(false);
                pool.shutdownNow();
            }
            assertThat(serverLeavesSeen).as("handshakes saw several generations").hasSizeGreaterThan(1);
            assertThat(rotations.get() + HANDSHAKES_PER_THREAD / 5).isGreaterThan(1);

            // Rotations stopped: the next handshake presents the newest certificates.
            EngineHandshake.Result last = f.handshake(HandshakeBinding.client(CLIENT, Set.of(SERVER)),
                    HandshakeBinding.server(SERVER));
            assertThat(last.succeeded()).isTrue();
            assertThat(last.serverChainSeenByClient()[0]).isEqualTo(f.store.current(SERVER).getLeaf());
            assertThat(last.clientChainSeenByServer()[0]).isEqualTo(f.store.current(CLIENT).getLeaf());
            assertThat(f.bindings.size()).isZero();
        }
    }
}
