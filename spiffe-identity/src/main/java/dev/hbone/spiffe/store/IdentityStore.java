package dev.hbone.spiffe.store;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.svid.x509svid.X509Svid;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The X.509-SVIDs of a node: one per workload identity the node acts for, kept fresh.
 *
 * <p>{@link #fetch(SpiffeId)} starts acting for an identity: the store asks its {@link SvidSource} for an SVID, serves
 * it, and renews it when half of its lifetime has passed (the fraction is configurable). When obtaining an SVID
 * fails, the store retries with exponential back-off (1 s, 2 s, 4 s, ... capped at 150 s by default) and the previous
 * SVID keeps serving until it expires. {@linkplain SvidListener Listeners} hear about every new SVID and every
 * failure.
 *
 * <p>Each installed SVID is a {@link SvidSnapshot} with a store-wide generation number; the last few generations of
 * each identity stay resolvable by {@link #snapshot(long)} so a TLS handshake that picked a snapshot just before a
 * rotation still finds its chain and key.
 *
 * <p>Time and scheduling are injectable ({@link Builder#clock}, {@link Builder#scheduler}) so tests are
 * deterministic. Thread-safe.
 */
public final class IdentityStore implements AutoCloseable {
    private static final Logger logger = LoggerFactory.getLogger(IdentityStore.class);

    private final SvidSource source;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private final boolean ownsScheduler;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final double renewalFraction;
    private final int retainedGenerations;

    private final Map<SpiffeId, Slot> slots = new ConcurrentHashMap<>();
    private final Map<Long, SvidSnapshot> byGeneration = new ConcurrentHashMap<>();
    private final AtomicLong generations = new AtomicLong();
    private final List<SvidListener> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    private IdentityStore(Builder b) {
        this.source = b.source;
        this.clock = b.clock;
        if (b.scheduler == null) {
            this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "hbone-identity-renewal");
                t.setDaemon(true);
                return t;
            });
            this.ownsScheduler = true;
        } else {
            this.scheduler = b.scheduler;
            this.ownsScheduler = false;
        }
        this.initialBackoff = b.initialBackoff;
        this.maxBackoff = b.maxBackoff;
        this.renewalFraction = b.renewalFraction;
        this.retainedGenerations = b.retainedGenerations;
    }

    /**
     * Starts building a store.
     *
     * @param source where SVIDs come from
     * @return the builder
     */
    public static Builder builder(SvidSource source) {
        return new Builder(requireNonNull(source, "source"));
    }

    /** Configures an {@link IdentityStore}. */
    public static final class Builder {
        private final SvidSource source;
        private Clock clock = Clock.systemUTC();
        private ScheduledExecutorService scheduler;
        private Duration initialBackoff = Duration.ofSeconds(1);
        private Duration maxBackoff = Duration.ofSeconds(150);
        private double renewalFraction = 0.5;
        private int retainedGenerations = 4;

        private Builder(SvidSource source) {
            this.source = source;
        }

        /**
         * Sets the clock used for renewal times and expiry (default the system clock).
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Sets the scheduler that runs renewals; the store does not shut it down. By default the store owns a
         * single daemon thread.
         *
         * @param scheduler the scheduler
         * @return this builder
         */
        public Builder scheduler(ScheduledExecutorService scheduler) {
            this.scheduler = requireNonNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Sets the first retry delay after a failure (default 1 s); each further failure doubles it.
         *
         * @param delay the delay
         * @return this builder
         */
        public Builder initialBackoff(Duration delay) {
            this.initialBackoff = positive(delay, "delay");
            return this;
        }

        /**
         * Sets the longest retry delay (default 150 s).
         *
         * @param delay the delay
         * @return this builder
         */
        public Builder maxBackoff(Duration delay) {
            this.maxBackoff = positive(delay, "delay");
            return this;
        }

        /**
         * Sets at which fraction of an SVID's lifetime it is renewed (default 0.5).
         *
         * @param fraction in (0, 1)
         * @return this builder
         */
        public Builder renewalFraction(double fraction) {
            if (!(fraction > 0 && fraction < 1)) {
                throw new IllegalArgumentException("fraction must be in (0, 1): " + fraction);
            }
            this.renewalFraction = fraction;
            return this;
        }

        /**
         * Sets how many recent generations per identity stay resolvable by {@link IdentityStore#snapshot(long)}
         * (default 4, at least 2).
         *
         * @param count the count
         * @return this builder
         */
        public Builder retainedGenerations(int count) {
            if (count < 2) {
                throw new IllegalArgumentException("count must be at least 2: " + count);
            }
            this.retainedGenerations = count;
            return this;
        }

        /** Returns the store. */
        public IdentityStore build() {
            if (maxBackoff.compareTo(initialBackoff) < 0) {
                throw new IllegalArgumentException("maxBackoff " + maxBackoff + " < initialBackoff " + initialBackoff);
            }
            return new IdentityStore(this);
        }
    }

    /**
     * Starts acting for an identity (if not already) and returns its SVID once one is available. If the source
     * fails, the store keeps retrying with back-off and the future stays pending until an attempt succeeds (use
     * {@link CompletableFuture#orTimeout} to bound the wait); it fails only if the identity is forgotten or the
     * store closed.
     *
     * @param identity the identity
     * @return the SVID
     */
    public CompletableFuture<X509Svid> fetch(SpiffeId identity) {
        requireNonNull(identity, "identity");
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("identity store is closed"));
        }
        Slot slot = slots.get(identity);
        if (slot == null) {
            Slot created = new Slot(identity);
            slot = slots.putIfAbsent(identity, created);
            if (slot == null) {
                slot = created;
                slot.refresh();
            }
        }
        SvidSnapshot s = slot.current;
        if (s != null && !isExpired(s)) {
            return CompletableFuture.completedFuture(s.svid());
        }
        // None yet, or expired while renewal keeps failing: wait for the next one the schedule installs.
        return slot.ready.isDone() ? slot.nextInstalled() : slot.ready.copy();
    }

    /**
     * Returns the identity's current SVID.
     *
     * @param identity the identity
     * @return the SVID
     * @throws NoSuchElementException if the store has no unexpired SVID for it (not fetched yet, or renewal has
     *     failed until expiry)
     */
    public X509Svid current(SpiffeId identity) {
        return snapshot(identity).orElseThrow(() -> new NoSuchElementException("no valid SVID for " + identity))
                .svid();
    }

    /**
     * Returns the identity's current snapshot, if it has one that has not expired.
     *
     * @param identity the identity
     * @return the snapshot
     */
    public Optional<SvidSnapshot> snapshot(SpiffeId identity) {
        requireNonNull(identity, "identity");
        Slot slot = slots.get(identity);
        SvidSnapshot s = slot == null ? null : slot.current;
        return s == null || isExpired(s) ? Optional.empty() : Optional.of(s);
    }

    /**
     * Returns a snapshot by generation: the current one or one of the few most recently replaced ones of its
     * identity, even if expired (the caller picked it while it was valid).
     *
     * @param generation the generation
     * @return the snapshot, or empty if unknown or too old
     */
    public Optional<SvidSnapshot> snapshot(long generation) {
        return Optional.ofNullable(byGeneration.get(generation));
    }

    /** Returns the identities the store acts for. */
    public Set<SpiffeId> identities() {
        return Collections.unmodifiableSet(slots.keySet());
    }

    /**
     * Asks the source for a new SVID now, without waiting for the renewal time.
     *
     * @param identity an identity the store acts for
     * @return the new SVID once installed and every listener has heard of it (pending while retries fail)
     * @throws NoSuchElementException if the store does not act for the identity
     */
    public CompletableFuture<X509Svid> renew(SpiffeId identity) {
        requireNonNull(identity, "identity");
        Slot slot = slots.get(identity);
        if (slot == null) {
            throw new NoSuchElementException("not acting for " + identity);
        }
        return slot.renewNow();
    }

    /**
     * Stops acting for an identity: cancels its renewal and drops its SVIDs.
     *
     * @param identity the identity
     * @return whether the store acted for it
     */
    public boolean forget(SpiffeId identity) {
        requireNonNull(identity, "identity");
        Slot slot = slots.remove(identity);
        if (slot == null) {
            return false;
        }
        slot.close();
        return true;
    }

    /**
     * Registers a listener.
     *
     * @param listener the listener
     */
    public void addListener(SvidListener listener) {
        listeners.add(requireNonNull(listener, "listener"));
    }

    /**
     * Unregisters a listener.
     *
     * @param listener the listener
     * @return whether it was registered
     */
    public boolean removeListener(SvidListener listener) {
        return listeners.remove(requireNonNull(listener, "listener"));
    }

    /** Cancels all renewals, drops all SVIDs and, if the store created its scheduler, shuts it down. */
    @Override
    public void close() {
        closed = true;
        for (SpiffeId id : List.copyOf(slots.keySet())) {
            forget(id);
        }
        if (ownsScheduler) {
            scheduler.shutdownNow();
        }
    }

    /** The delay before retry number {@code failures} (1-based): initial * 2^(failures-1), capped. */
    Duration backoff(int failures) {
        long initial = initialBackoff.toMillis();
        long max = maxBackoff.toMillis();
        int shift = Math.min(failures - 1, 62);
        long delay = initial << shift;
        if (delay <= 0 || delay > max || (delay >> shift) != initial) {
            delay = max;
        }
        return Duration.ofMillis(delay);
    }

    private boolean isExpired(SvidSnapshot s) {
        return !clock.instant().isBefore(s.notAfter());
    }

    /** One identity's state. Guarded by {@code this}. */
    private final class Slot {
        final SpiffeId identity;
        volatile SvidSnapshot current;
        final Deque<SvidSnapshot> retained = new ArrayDeque<>();
        final CompletableFuture<X509Svid> ready = new CompletableFuture<>();
        CompletableFuture<X509Svid> nextInstalled;
        ScheduledFuture<?> timer;
        int failures;
        boolean inFlight;
        boolean slotClosed;

        Slot(SpiffeId identity) {
            this.identity = identity;
        }

        void refresh() {
            synchronized (this) {
                if (slotClosed || inFlight) {
                    return;
                }
                inFlight = true;
                timer = null;
            }
            CompletableFuture<X509Svid> f;
            try {
                f = source.fetch(identity);
                if (f == null) {
                    f = CompletableFuture.failedFuture(new IllegalStateException("SvidSource returned null"));
                }
            } catch (RuntimeException e) {
                f = CompletableFuture.failedFuture(e);
            }
            f.whenComplete(this::onResult);
        }

        CompletableFuture<X509Svid> nextInstalled() {
            synchronized (this) {
                if (slotClosed) {
                    return CompletableFuture.failedFuture(new CancellationException("stopped acting for " + identity));
                }
                if (nextInstalled == null) {
                    nextInstalled = new CompletableFuture<>();
                }
                return nextInstalled.copy();
            }
        }

        CompletableFuture<X509Svid> renewNow() {
            CompletableFuture<X509Svid> result;
            synchronized (this) {
                if (nextInstalled == null) {
                    nextInstalled = new CompletableFuture<>();
                }
                result = nextInstalled;
                if (timer != null) {
                    timer.cancel(false);
                    timer = null;
                }
            }
            refresh();
            return result.copy();
        }

        private void onResult(X509Svid svid, Throwable error) {
            if (error == null && svid == null) {
                error = new IllegalStateException("SvidSource completed with null");
            }
            if (error == null && !identity.equals(svid.getSpiffeId())) {
                error = new IllegalStateException("SvidSource returned an SVID for " + svid.getSpiffeId()
                        + " when asked for " + identity);
            }
            if (error != null) {
                onFailure(error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                        ? error.getCause() : error);
            } else {
                onSuccess(svid);
            }
        }

        private void onSuccess(X509Svid svid) {
            SvidSnapshot previous;
            SvidSnapshot installed = null;
            CompletableFuture<X509Svid> waiter;
            synchronized (this) {
                inFlight = false;
                if (slotClosed) {
                    return;
                }
                previous = current;
                boolean unchanged = previous != null && previous.svid().getLeaf().equals(svid.getLeaf());
                Instant now = clock.instant();
                Duration delay;
                if (unchanged) {
                    // The source has nothing newer (e.g. files not rewritten yet): look again with back-off.
                    failures++;
                    delay = backoff(failures);
                } else {
                    failures = 0;
                    installed = new SvidSnapshot(identity, generations.incrementAndGet(), svid);
                    current = installed;
                    byGeneration.put(installed.generation(), installed);
                    retained.addLast(installed);
                    while (retained.size() > retainedGenerations) {
                        byGeneration.remove(retained.removeFirst().generation());
                    }
                    delay = renewalDelay(installed, now);
                }
                schedule(delay);
                waiter = nextInstalled;
                nextInstalled = null;
            }
            if (installed == null) {
                logger.debug("SVID source returned the unchanged SVID for {}", identity);
                if (waiter != null) {
                    waiter.complete(svid);
                }
                return;
            }
            logger.info("installed SVID for {} (generation {}, valid until {})", identity, installed.generation(),
                    installed.notAfter());
            ready.complete(svid);
            for (SvidListener l : listeners) {
                try {
                    l.onSvidUpdated(identity, svid);
                } catch (RuntimeException e) {
                    logger.warn("SVID listener {} failed", l, e);
                }
            }
            // A renewal's future completes after the listeners heard of the new SVID, so a caller that waits for
            // renew(...) sees every listener's effect (the first fetch completes before them: a listener may fetch).
            if (waiter != null) {
                waiter.complete(svid);
            }
        }

        private void onFailure(Throwable error) {
            Duration delay;
            synchronized (this) {
                inFlight = false;
                if (slotClosed) {
                    return;
                }
                failures++;
                delay = backoff(failures);
                schedule(delay);
            }
            SvidSnapshot s = current;
            logger.warn("obtaining an SVID for {} failed (attempt {}), retrying in {}; {}", identity, failures, delay,
                    s == null ? "no SVID yet" : "still serving the SVID valid until " + s.notAfter(), error);
            for (SvidListener l : listeners) {
                try {
                    l.onRenewalFailed(identity, error, delay);
                } catch (RuntimeException e) {
                    logger.warn("SVID listener {} failed", l, e);
                }
            }
        }

        private Duration renewalDelay(SvidSnapshot s, Instant now) {
            long lifetime = Duration.between(s.notBefore(), s.notAfter()).toMillis();
            Instant renewAt = s.notBefore().plusMillis((long) (lifetime * renewalFraction));
            Duration delay = Duration.between(now, renewAt);
            // Already past its renewal time when it arrived: do not spin, ask again soon.
            return delay.compareTo(initialBackoff) < 0 ? initialBackoff : delay;
        }

        /** Caller holds the lock. */
        private void schedule(Duration delay) {
            try {
                timer = scheduler.schedule(this::refresh, delay.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RuntimeException e) {
                if (!closed) {
                    logger.error("cannot schedule SVID renewal for {}", identity, e);
                }
            }
        }

        void close() {
            CompletableFuture<X509Svid> waiter;
            synchronized (this) {
                slotClosed = true;
                if (timer != null) {
                    timer.cancel(false);
                    timer = null;
                }
                for (SvidSnapshot s : retained) {
                    byGeneration.remove(s.generation());
                }
                retained.clear();
                current = null;
                waiter = nextInstalled;
                nextInstalled = null;
            }
            CancellationException cancelled = new CancellationException("stopped acting for " + identity);
            ready.completeExceptionally(cancelled);
            if (waiter != null) {
                waiter.completeExceptionally(cancelled);
            }
        }
    }

    private static Duration positive(Duration d, String name) {
        requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive: " + d);
        }
        return d;
    }
}
