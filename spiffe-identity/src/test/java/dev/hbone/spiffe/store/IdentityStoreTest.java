package dev.hbone.spiffe.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.testing.ManualScheduler;
import dev.hbone.spiffe.testing.MutableClock;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class IdentityStoreTest {
    private static final SpiffeId APP = SpiffeIds.kubernetes("cluster.local", "default", "app");
    private static final SpiffeId DB = SpiffeIds.kubernetes("cluster.local", "default", "db");
    private static final Duration LIFETIME = Duration.ofHours(1);

    private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    private final ManualScheduler scheduler = new ManualScheduler(clock);
    private final CertificateAuthority ca =
            CertificateAuthority.builder(TrustDomain.parse("cluster.local")).clock(clock).build();
    private final AtomicBoolean failing = new AtomicBoolean();
    private final AtomicInteger calls = new AtomicInteger();
    private final SvidSource local = SvidSources.localCa(ca, LIFETIME);
    private final SvidSource flaky = id -> {
        calls.incrementAndGet();
        return failing.get()
                ? CompletableFuture.failedFuture(new IllegalStateException("CA unavailable"))
                : local.fetch(id);
    };
    private final RecordingListener events = new RecordingListener();
    private final IdentityStore store = IdentityStore.builder(flaky).clock(clock).scheduler(scheduler).build();

    {
        store.addListener(events);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void fetchesAndServesAnSvidPerIdentity() throws Exception {
        X509Svid app = store.fetch(APP).join();
        X509Svid db = store.fetch(DB).join();
        assertThat(app.getSpiffeId()).isEqualTo(APP);
        assertThat(db.getSpiffeId()).isEqualTo(DB);
        assertThat(store.current(APP)).isSameAs(app);
        assertThat(store.identities()).containsExactlyInAnyOrder(APP, DB);
        assertThat(store.fetch(APP).join()).as("no second fetch").isSameAs(app);
        assertThat(calls).hasValue(2);
        assertThat(events.updates).containsExactly(APP, DB);
        assertThatThrownBy(() -> store.current(SpiffeIds.kubernetes("cluster.local", "x", "y")))
                .isInstanceOf(NoSuchElementException.class);
    }

    @Test
    void concurrentFirstFetchesShareOneSourceCall() throws Exception {
        CompletableFuture<X509Svid> pending = new CompletableFuture<>();
        AtomicInteger sourceCalls = new AtomicInteger();
        IdentityStore s = IdentityStore.builder(id -> {
            sourceCalls.incrementAndGet();
            return pending;
        }).clock(clock).scheduler(scheduler).build();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<CompletableFuture<X509Svid>>> results = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                results.add(pool.submit(() -> {
                    go.await();
                    return s.fetch(APP);
                }));
            }
            go.countDown();
            List<CompletableFuture<X509Svid>> futures = new ArrayList<>();
            for (java.util.concurrent.Future<CompletableFuture<X509Svid>> r : results) {
                futures.add(r.get(30, java.util.concurrent.TimeUnit.SECONDS));
            }
            assertThat(sourceCalls).hasValue(1);
            assertThat(futures).allSatisfy(f -> assertThat(f).isNotDone());
            X509Svid svid = ca.issue(APP, LIFETIME);
            pending.complete(svid);
            assertThat(futures).allSatisfy(f -> assertThat(f.join()).isSameAs(svid));
        } finally {
            pool.shutdownNow();
            s.close();
        }
    }

    @Test
    void renewsAtHalfOfTheLifetime() {
        X509Svid first = store.fetch(APP).join();
        SvidSnapshot s1 = store.snapshot(APP).orElseThrow();
        assertThat(scheduler.requestedDelays()).containsExactly(Duration.ofMinutes(30));
        scheduler.advance(Duration.ofMinutes(29));
        assertThat(store.current(APP)).isSameAs(first);
        scheduler.advance(Duration.ofMinutes(1));
        X509Svid second = store.current(APP);
        assertThat(second).isNotSameAs(first);
        assertThat(second.getLeaf().getNotBefore().toInstant()).isEqualTo(clock.instant());
        assertThat(store.snapshot(APP).orElseThrow().generation()).isGreaterThan(s1.generation());
        assertThat(scheduler.requestedDelays()).containsExactly(Duration.ofMinutes(30), Duration.ofMinutes(30));
        assertThat(events.updates).containsExactly(APP, APP);
    }

    @Test
    void failedRenewalKeepsTheOldCertificateAndBacksOff() {
        X509Svid first = store.fetch(APP).join();
        failing.set(true);
        scheduler.advance(Duration.ofMinutes(30));
        // 1, 2, 4, ... 128 s, then capped at 150 s.
        for (int i = 0; i < 10; i++) {
            assertThat(store.current(APP)).as("still serving after failure " + i).isSameAs(first);
            scheduler.runNext();
        }
        List<Duration> expected = new ArrayList<>();
        expected.add(Duration.ofMinutes(30));
        for (long s : new long[] {1, 2, 4, 8, 16, 32, 64, 128, 150, 150, 150}) {
            expected.add(Duration.ofSeconds(s));
        }
        assertThat(scheduler.requestedDelays()).containsExactlyElementsOf(expected);
        assertThat(events.failures).hasSize(11);
        assertThat(events.retryDelays).containsExactlyElementsOf(expected.subList(1, expected.size()));
        assertThat(store.current(APP)).isSameAs(first);
    }

    @Test
    void recoversAfterFailures() {
        X509Svid first = store.fetch(APP).join();
        failing.set(true);
        scheduler.advance(Duration.ofMinutes(30));
        scheduler.runNext(); // +1 s, fails again
        scheduler.runNext(); // +2 s, fails again
        failing.set(false);
        scheduler.runNext(); // +4 s, succeeds
        X509Svid renewed = store.current(APP);
        assertThat(renewed).isNotSameAs(first);
        assertThat(events.updates).containsExactly(APP, APP);
        // Back to the regular schedule: half of the new lifetime, and the back-off restarts from 1 s.
        assertThat(scheduler.requestedDelays()).endsWith(Duration.ofSeconds(4), Duration.ofMinutes(30));
        failing.set(true);
        scheduler.advance(Duration.ofMinutes(30));
        assertThat(scheduler.requestedDelays()).endsWith(Duration.ofSeconds(1));
    }

    @Test
    void anSvidThatExpiresWhileRenewalFailsIsNoLongerServed() {
        store.fetch(APP).join();
        failing.set(true);
        scheduler.advance(Duration.ofMinutes(59));
        assertThat(store.snapshot(APP)).isPresent();
        scheduler.advance(Duration.ofMinutes(1));
        assertThat(store.snapshot(APP)).isEmpty();
        assertThatThrownBy(() -> store.current(APP)).isInstanceOf(NoSuchElementException.class);
        CompletableFuture<X509Svid> waiting = store.fetch(APP);
        assertThat(waiting).as("does not hand out the expired SVID").isNotDone();
        failing.set(false);
        scheduler.runNext();
        assertThat(store.snapshot(APP)).isPresent();
        assertThat(waiting).isCompleted();
        assertThat(waiting.join().getLeaf().getNotAfter().toInstant()).isAfter(clock.instant());
    }

    @Test
    void firstFetchWaitsThroughFailures() {
        failing.set(true);
        CompletableFuture<X509Svid> f = store.fetch(APP);
        assertThat(f).isNotDone();
        scheduler.runNext();
        assertThat(f).isNotDone();
        failing.set(false);
        scheduler.runNext();
        assertThat(f).isCompleted();
        assertThat(f.join().getSpiffeId()).isEqualTo(APP);
        assertThat(scheduler.requestedDelays()).startsWith(Duration.ofSeconds(1), Duration.ofSeconds(2));
    }

    @Test
    void refusesAnSvidForAnotherIdentity() {
        X509Svid dbSvid = ca.issue(DB, LIFETIME);
        IdentityStore wrong = IdentityStore.builder(id -> CompletableFuture.completedFuture(dbSvid))
                .clock(clock).scheduler(scheduler).build();
        RecordingListener l = new RecordingListener();
        wrong.addListener(l);
        CompletableFuture<X509Svid> f = wrong.fetch(APP);
        assertThat(f).isNotDone();
        assertThat(l.failures).singleElement().asString().contains("when asked for " + APP);
        wrong.close();
        assertThat(f).isCompletedExceptionally();
    }

    @Test
    void sourceThatThrowsIsAFailureNotACrash() {
        IdentityStore s = IdentityStore.builder(id -> {
            throw new IllegalStateException("thrown");
        }).clock(clock).scheduler(scheduler).build();
        RecordingListener l = new RecordingListener();
        s.addListener(l);
        assertThat(s.fetch(APP)).isNotDone();
        assertThat(l.failures).hasSize(1);
        assertThat(scheduler.requestedDelays()).containsExactly(Duration.ofSeconds(1));
        s.close();
    }

    @Test
    void unchangedSvidIsLookedForAgainWithBackoffWithoutNotifying() {
        X509Svid fixed = ca.issue(APP, LIFETIME);
        IdentityStore s = IdentityStore.builder(SvidSources.supplier(() -> fixed))
                .clock(clock).scheduler(scheduler).build();
        RecordingListener l = new RecordingListener();
        s.addListener(l);
        s.fetch(APP).join();
        scheduler.advance(Duration.ofMinutes(30));
        scheduler.runNext();
        assertThat(l.updates).containsExactly(APP);
        assertThat(l.failures).isEmpty();
        assertThat(scheduler.requestedDelays()).containsExactly(Duration.ofMinutes(30), Duration.ofSeconds(1),
                Duration.ofSeconds(2));
        s.close();
    }

    @Test
    void renewNowRotatesImmediately() {
        X509Svid first = store.fetch(APP).join();
        X509Svid second = store.renew(APP).join();
        assertThat(second).isNotSameAs(first);
        assertThat(store.current(APP)).isSameAs(second);
        assertThat(scheduler.pendingCount()).as("the old timer was cancelled").isEqualTo(1);
        assertThatThrownBy(() -> store.renew(DB)).isInstanceOf(NoSuchElementException.class);
    }

    @Test
    void recentGenerationsStayResolvable() {
        store.fetch(APP).join();
        List<Long> generations = new ArrayList<>();
        generations.add(store.snapshot(APP).orElseThrow().generation());
        for (int i = 0; i < 5; i++) {
            store.renew(APP).join();
            generations.add(store.snapshot(APP).orElseThrow().generation());
        }
        assertThat(generations).doesNotHaveDuplicates().isSorted();
        // Four retained by default: the two oldest are gone.
        assertThat(store.snapshot(generations.get(0))).isEmpty();
        assertThat(store.snapshot(generations.get(1))).isEmpty();
        for (long g : generations.subList(2, 6)) {
            assertThat(store.snapshot(g)).isPresent();
        }
    }

    @Test
    void forgetStopsRenewalAndDropsTheSvid() {
        store.fetch(APP).join();
        assertThat(store.forget(APP)).isTrue();
        assertThat(store.forget(APP)).isFalse();
        assertThat(store.snapshot(APP)).isEmpty();
        assertThat(scheduler.pendingCount()).isZero();
        scheduler.advance(Duration.ofHours(2));
        assertThat(calls).hasValue(1);
    }

    @Test
    void closeFailsPendingFetches() {
        failing.set(true);
        CompletableFuture<X509Svid> f = store.fetch(APP);
        store.close();
        assertThat(f).isCompletedExceptionally();
        assertThatThrownBy(f::join).hasCauseInstanceOf(CancellationException.class);
        assertThat(store.fetch(DB)).isCompletedExceptionally();
    }

    @Test
    void backoffFormula() {
        assertThat(store.backoff(1)).isEqualTo(Duration.ofSeconds(1));
        assertThat(store.backoff(8)).isEqualTo(Duration.ofSeconds(128));
        assertThat(store.backoff(9)).isEqualTo(Duration.ofSeconds(150));
        assertThat(store.backoff(1000)).isEqualTo(Duration.ofSeconds(150));
    }

    @Test
    void aThrowingListenerDoesNotBreakRenewal() {
        store.addListener(new SvidListener() {
            @Override
            public void onSvidUpdated(SpiffeId identity, X509Svid svid) {
                throw new IllegalStateException("listener bug");
            }
        });
        store.fetch(APP).join();
        scheduler.advance(Duration.ofMinutes(30));
        assertThat(events.updates).containsExactly(APP, APP);
    }

    static final class RecordingListener implements SvidListener {
        final List<SpiffeId> updates = new ArrayList<>();
        final List<Throwable> failures = new ArrayList<>();
        final List<Duration> retryDelays = new ArrayList<>();

        @Override
        public synchronized void onSvidUpdated(SpiffeId identity, X509Svid svid) {
            updates.add(identity);
        }

        @Override
        public synchronized void onRenewalFailed(SpiffeId identity, Throwable error, Duration retryIn) {
            failures.add(error);
            retryDelays.add(retryIn);
        }
    }
}
