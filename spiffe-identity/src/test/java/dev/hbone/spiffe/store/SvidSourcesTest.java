package dev.hbone.spiffe.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.internal.Pem;
import dev.hbone.spiffe.testing.ManualScheduler;
import dev.hbone.spiffe.testing.MutableClock;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import io.spiffe.workloadapi.X509Source;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SvidSourcesTest {
    private static final TrustDomain TD = TrustDomain.parse("cluster.local");
    private static final SpiffeId APP = SpiffeIds.kubernetes("cluster.local", "default", "app");
    private static final SpiffeId DB = SpiffeIds.kubernetes("cluster.local", "default", "db");
    private static final CertificateAuthority ca = CertificateAuthority.builder(TD).intermediate(Duration.ofDays(1))
            .build();

    @Test
    void localCaIssuesThroughACsr() {
        X509Svid svid = SvidSources.localCa(ca, Duration.ofMinutes(10)).fetch(APP).join();
        assertThat(svid.getSpiffeId()).isEqualTo(APP);
        assertThat(svid.getChain()).hasSize(2);
        assertThat(Duration.between(svid.getLeaf().getNotBefore().toInstant(),
                svid.getLeaf().getNotAfter().toInstant())).isEqualTo(Duration.ofMinutes(10));
        CompletableFuture<X509Svid> foreign = SvidSources.localCa(ca, Duration.ofMinutes(10))
                .fetch(SpiffeIds.parse("spiffe://other.org/x"));
        assertThat(foreign).isCompletedExceptionally();
    }

    @Test
    void pemFilesAreReReadOnEachFetch(@TempDir Path dir) throws Exception {
        Path chain = dir.resolve("cert-chain.pem");
        Path key = dir.resolve("key.pem");
        X509Svid first = ca.issue(APP, Duration.ofHours(1));
        write(first, chain, key);
        SvidSource source = SvidSources.pemFiles(chain, key);
        assertThat(source.fetch(APP).join().getLeaf()).isEqualTo(first.getLeaf());
        assertThat(source.fetch(DB)).as("the files hold another identity").isCompletedExceptionally();
        X509Svid second = ca.issue(APP, Duration.ofHours(1));
        write(second, chain, key);
        assertThat(source.fetch(APP).join().getLeaf()).isEqualTo(second.getLeaf());
        Files.delete(key);
        assertThat(source.fetch(APP)).isCompletedExceptionally();
    }

    @Test
    void pemFilesFeedAStoreThatPicksUpRewrittenFiles(@TempDir Path dir) throws Exception {
        MutableClock clock = new MutableClock(Instant.now());
        ManualScheduler scheduler = new ManualScheduler(clock);
        Path chain = dir.resolve("cert-chain.pem");
        Path key = dir.resolve("key.pem");
        write(ca.issue(APP, Duration.ofHours(1)), chain, key);
        try (IdentityStore store = IdentityStore.builder(SvidSources.pemFiles(chain, key)).clock(clock)
                .scheduler(scheduler).build()) {
            X509Svid first = store.fetch(APP).join();
            X509Svid rewritten = ca.issue(APP, Duration.ofHours(1));
            write(rewritten, chain, key);
            scheduler.advance(Duration.ofMinutes(31));
            assertThat(store.current(APP).getLeaf()).isEqualTo(rewritten.getLeaf()).isNotEqualTo(first.getLeaf());
        }
    }

    @Test
    void byIdentityRoutes() {
        SvidSource source = SvidSources.byIdentity(Map.of(APP, SvidSources.localCa(ca, Duration.ofHours(1))));
        assertThat(source.fetch(APP).join().getSpiffeId()).isEqualTo(APP);
        assertThat(source.fetch(DB)).isCompletedExceptionally();
    }

    @Test
    void adaptsJavaSpiffeX509Source() {
        AtomicReference<X509Svid> current = new AtomicReference<>(ca.issue(APP, Duration.ofHours(1)));
        X509Source x509Source = new X509Source() {
            @Override
            public X509Svid getX509Svid() {
                return current.get();
            }

            @Override
            public X509Bundle getBundleForTrustDomain(TrustDomain trustDomain) {
                return ca.bundle();
            }

            @Override
            public void close() {
            }
        };
        SvidSource source = SvidSources.x509Source(x509Source);
        assertThat(source.fetch(APP).join()).isSameAs(current.get());
        assertThat(source.fetch(DB)).isCompletedExceptionally();
        current.set(ca.issue(APP, Duration.ofHours(1)));
        assertThat(source.fetch(APP).join()).isSameAs(current.get());
        current.set(null);
        assertThat(source.fetch(APP)).isCompletedExceptionally();
    }

    @Test
    void supplierFailuresBecomeFailedFutures() {
        SvidSource source = SvidSources.supplier(() -> {
            throw new IllegalStateException("agent down");
        });
        assertThat(source.fetch(APP)).isCompletedExceptionally();
    }

    private static void write(X509Svid svid, Path chain, Path key) throws Exception {
        Files.writeString(chain, Pem.encodeCertificates(svid.getChain()));
        Files.writeString(key, Pem.encodePrivateKey(svid.getPrivateKey()));
    }
}
