package dev.hbone.spiffe.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Test fixture: a {@link ScheduledExecutorService} driven by a {@link MutableClock}. Nothing runs until the test calls
 * {@link #advance(Duration)} or {@link #runDueTasks()}; every requested delay is recorded, so a test can assert a
 * back-off schedule exactly and without sleeping. {@link #execute} runs immediately on the caller.
 */
public final class ManualScheduler extends AbstractExecutorService implements ScheduledExecutorService {
    private final MutableClock clock;
    private final PriorityQueue<Task<?>> queue = new PriorityQueue<>((a, b) -> {
        int c = Long.compare(a.dueNanos, b.dueNanos);
        return c != 0 ? c : Long.compare(a.seq, b.seq);
    });
    private final List<Duration> requestedDelays = Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong sequence = new AtomicLong();
    private volatile boolean shutdown;

    /**
     * Creates a scheduler on a clock.
     *
     * @param clock the clock it advances
     */
    public ManualScheduler(MutableClock clock) {
        this.clock = clock;
    }

    /** Returns every delay passed to {@code schedule}, in order. */
    public List<Duration> requestedDelays() {
        synchronized (requestedDelays) {
            return List.copyOf(requestedDelays);
        }
    }

    /** Returns how many scheduled tasks are pending (not run, not cancelled). */
    public synchronized int pendingCount() {
        int n = 0;
        for (Task<?> t : queue) {
            if (!t.isCancelled()) {
                n++;
            }
        }
        return n;
    }

    /** Returns the delay from now until the next pending task, if any. */
    public synchronized Duration nextDelay() {
        for (Task<?> t : new ArrayList<>(queue)) {
            if (!t.isCancelled()) {
                return Duration.ofNanos(Math.max(0, t.dueNanos - clockNanos()));
            }
        }
        return null;
    }

    /**
     * Moves the clock forward by {@code d}, running every task that falls due, in due order (tasks scheduled by
     * running tasks run too if they fall due within the window).
     *
     * @param d how far
     */
    public void advance(Duration d) {
        long target = clockNanos() + d.toNanos();
        while (true) {
            Task<?> next;
            synchronized (this) {
                next = queue.peek();
                if (next == null || next.dueNanos > target) {
                    break;
                }
                queue.poll();
            }
            if (next.dueNanos > clockNanos()) {
                clock.set(java.time.Instant.ofEpochSecond(0, next.dueNanos));
            }
            next.run();
        }
        if (clockNanos() < target) {
            clock.set(java.time.Instant.ofEpochSecond(0, target));
        }
    }

    /** Advances the clock to the next pending task and runs it (and any due at the same time). */
    public void runNext() {
        Duration d = nextDelay();
        if (d == null) {
            throw new IllegalStateException("nothing scheduled");
        }
        advance(d);
    }

    /** Runs tasks due now without moving the clock. */
    public void runDueTasks() {
        advance(Duration.ZERO);
    }

    private long clockNanos() {
        java.time.Instant now = clock.instant();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        return enqueue(() -> {
            command.run();
            return null;
        }, delay, unit);
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        return enqueue(callable, delay, unit);
    }

    private synchronized <V> ScheduledFuture<V> enqueue(Callable<V> c, long delay, TimeUnit unit) {
        if (shutdown) {
            throw new java.util.concurrent.RejectedExecutionException("shut down");
        }
        requestedDelays.add(Duration.ofNanos(unit.toNanos(delay)));
        Task<V> t = new Task<>(c, clockNanos() + unit.toNanos(delay), sequence.incrementAndGet());
        queue.add(t);
        return t;
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        // The identity store schedules one-shot renewals only; a periodic task here would be a bug worth seeing.
        throw new UnsupportedOperationException("ManualScheduler runs one-shot tasks only (schedule/execute)");
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        throw new UnsupportedOperationException("ManualScheduler runs one-shot tasks only (schedule/execute)");
    }

    @Override
    public void execute(Runnable command) {
        command.run();
    }

    @Override
    public void shutdown() {
        shutdown = true;
    }

    @Override
    public List<Runnable> shutdownNow() {
        shutdown = true;
        synchronized (this) {
            queue.clear();
        }
        return List.of();
    }

    @Override
    public boolean isShutdown() {
        return shutdown;
    }

    @Override
    public boolean isTerminated() {
        return shutdown;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        return shutdown;
    }

    private final class Task<V> implements ScheduledFuture<V> {
        private final Callable<V> callable;
        final long dueNanos;
        final long seq;
        private volatile boolean cancelled;
        private volatile boolean done;
        private V result;
        private Throwable failure;

        Task(Callable<V> callable, long dueNanos, long seq) {
            this.callable = callable;
            this.dueNanos = dueNanos;
            this.seq = seq;
        }

        void run() {
            if (cancelled) {
                return;
            }
            try {
                result = callable.call();
            } catch (Throwable t) {
                failure = t;
            }
            done = true;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(dueNanos - clockNanos(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            return Long.compare(getDelay(TimeUnit.NANOSECONDS), o.getDelay(TimeUnit.NANOSECONDS));
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            if (done) {
                return false;
            }
            cancelled = true;
            synchronized (ManualScheduler.this) {
                queue.remove(this);
            }
            return true;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public boolean isDone() {
            return done || cancelled;
        }

        @Override
        public V get() throws ExecutionException {
            if (cancelled) {
                throw new CancellationException();
            }
            if (!done) {
                throw new IllegalStateException("not run yet; advance the ManualScheduler");
            }
            if (failure != null) {
                throw new ExecutionException(failure);
            }
            return result;
        }

        @Override
        public V get(long timeout, TimeUnit unit) throws ExecutionException {
            return get();
        }
    }
}
