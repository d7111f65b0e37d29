package dev.hbone.ztunnel.state;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The current {@link ProxyState}, replaced atomically as a whole. Each connection reads one snapshot
 * with {@link #current()} and decides with it, so a reload never shows it half of an update.
 */
public final class ProxyStateHolder {

    private final AtomicReference<ProxyState> current;

    /** Starts with the empty state. */
    public ProxyStateHolder() {
        this(ProxyState.empty());
    }

    /** Starts with {@code initial}. */
    public ProxyStateHolder(ProxyState initial) {
        this.current = new AtomicReference<>(Objects.requireNonNull(initial, "initial"));
    }

    /** Returns the current snapshot. */
    public ProxyState current() {
        return current.get();
    }

    /** Replaces the snapshot and returns the previous one. */
    public ProxyState replace(ProxyState next) {
        return current.getAndSet(Objects.requireNonNull(next, "next"));
    }
}
