package dev.hbone.api;

import java.time.Duration;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * The totals of a finished tunnel, for metrics and access logs.
 *
 * @param bytesSent payload bytes this side sent into the tunnel
 * @param bytesReceived payload bytes this side received from the tunnel
 * @param duration time from the 200 to the end of the stream
 * @param failure why the tunnel ended abnormally; empty for a clean end in both directions
 */
public record TunnelStats(long bytesSent, long bytesReceived, Duration duration, Optional<TunnelException> failure) {
    /** Validates. */
    public TunnelStats {
        requireNonNull(duration, "duration");
        requireNonNull(failure, "failure");
    }
}
