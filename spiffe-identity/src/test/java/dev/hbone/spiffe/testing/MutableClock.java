package dev.hbone.spiffe.testing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** Test fixture: a {@link Clock} that moves only when told to. Thread-safe. */
public final class MutableClock extends Clock {
    private volatile Instant now;

    /**
     * Creates a clock.
     *
     * @param start the initial instant
     */
    public MutableClock(Instant start) {
        this.now = start;
    }

    /** Sets the time. */
    public void set(Instant instant) {
        this.now = instant;
    }

    /** Moves the time forward. */
    public void advance(Duration d) {
        this.now = now.plus(d);
    }

    @Override
    public Instant instant() {
        return now;
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }
}
