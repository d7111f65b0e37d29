package dev.hbone.netty.internal;

import dev.hbone.api.TunnelException;
import io.spiffe.spiffeid.SpiffeId;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Client connections by {@link Key}. A key may hold several connections; a full one (100 streams or the peer's
 * MAX_CONCURRENT_STREAMS) is skipped, and creation is single-flight per key: concurrent openers wait on the one
 * connection being made, then race for its slots, and only the losers start the next one.
 */
public final class ConnectionPool {
    /** (source identity, expected destination identities, destination ip:port, source IP). */
    public record Key(SpiffeId source, Set<SpiffeId> expected, InetSocketAddress destination, InetAddress sourceIp) { }

    private static final class Entry {
        final List<ClientConnection> connections = new ArrayList<>();
        CompletableFuture<ClientConnection> pending;
    }

    private final ConcurrentHashMap<Key, Entry> entries = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /** New connections a single acquire may see die before it gives up. */
    private static final int MAX_ROUNDS = 4;

    /** A connection with a stream slot reserved for the caller; release it with {@link #release}. */
    public CompletableFuture<ClientConnection> acquire(Key key, Supplier<CompletableFuture<ClientConnection>> connector) {
        return acquire(key, connector, 0);
    }

    private CompletableFuture<ClientConnection> acquire(Key key, Supplier<CompletableFuture<ClientConnection>> connector,
                                                        int round) {
        if (round >= MAX_ROUNDS) {
            return CompletableFuture.failedFuture(TunnelException.of(
                    TunnelException.Reason.CONNECTION_CLOSED,
                    "no usable connection to " + key.destination() + " after " + round + " new connections"));
        }
        Entry entry = entries.computeIfAbsent(key, k -> new Entry());
        CompletableFuture<ClientConnection> pending;
        synchronized (entry) {
            if (closed) {
                return CompletableFuture.failedFuture(
                        TunnelException.of(TunnelException.Reason.SHUTTING_DOWN, "the client is draining"));
            }
            for (ClientConnection c : entry.connections) {
                if (c.tryReserve()) {
                    return CompletableFuture.completedFuture(c);
                }
            }
            if (entry.pending == null) {
                // Publish the pending future before the connector may complete: a connector can finish on another
                // thread before whenComplete is registered (or synchronously, on a refused connect), and then the
                // action runs at once, here. Assigning the returned future afterwards left a completed future
                // in place for good: a failure answered every later caller, a success sent every caller that
                // found the connections full back here, recursing until the stack overflowed.
                CompletableFuture<ClientConnection> created = new CompletableFuture<>();
                entry.pending = created;
                pending = created;
                CompletableFuture<ClientConnection> connecting;
                try {
                    connecting = connector.get();
                } catch (RuntimeException e) {
                    connecting = CompletableFuture.failedFuture(e);
                }
                connecting.whenComplete((c, e) -> {
                    synchronized (entry) {
                        if (entry.pending == created) {
                            entry.pending = null;
                        }
                        if (c != null && !closed) {
                            entry.connections.add(c);
                        }
                    }
                    // Waiters depend on this future, completed only *after* the connection joined the entry
                    // (dependents of one CompletableFuture run in no guaranteed order).
                    if (e != null) {
                        created.completeExceptionally(e);
                    } else {
                        created.complete(c);
                    }
                });
            } else {
                pending = entry.pending;
            }
        }
        // Losing the race for a healthy connection's slots is no failure; a connection that died meanwhile is.
        return pending.thenCompose(c -> acquire(key, connector,
                                                c.channel().isActive() && !c.isGoingAway() ? round : round + 1));
    }

    /** Gives the stream slot back. */
    public void release(Key key, ClientConnection connection) {
        connection.release(() -> closeIfIdle(key, connection));
    }

    private void closeIfIdle(Key key, ClientConnection connection) {
        Entry entry = entries.get(key);
        boolean close = false;
        if (entry != null) {
            synchronized (entry) {
                if (connection.isIdle()) {
                    entry.connections.remove(connection);
                    close = true;
                }
            }
        }
        if (close) {
            connection.channel().close();
        }
    }

    /** Forgets a connection that received GOAWAY or closed. */
    public void remove(Key key, ClientConnection connection) {
        Entry entry = entries.get(key);
        if (entry != null) {
            synchronized (entry) {
                entry.connections.remove(connection);
            }
        }
    }

    /** Takes no new connections and returns every pooled one. */
    public List<ClientConnection> close() {
        closed = true;
        List<ClientConnection> all = new ArrayList<>();
        for (Entry e : entries.values()) {
            synchronized (e) {
                all.addAll(e.connections);
                e.connections.clear();
            }
        }
        return all;
    }

    /** Connections currently pooled under {@code key}. */
    public List<ClientConnection> connections(Key key) {
        Entry e = entries.get(key);
        if (e == null) {
            return List.of();
        }
        synchronized (e) {
            return List.copyOf(e.connections);
        }
    }

    /** Connections currently pooled, all keys. */
    public int size() {
        int n = 0;
        for (Entry e : entries.values()) {
            synchronized (e) {
                n += e.connections.size();
            }
        }
        return n;
    }
}
