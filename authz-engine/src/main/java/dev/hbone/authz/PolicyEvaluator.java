package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The current {@link CompiledPolicies} of a running proxy: evaluation reads one volatile reference, updates
 * swap it atomically, and listeners learn of each swap to re-check live connections.
 */
public final class PolicyEvaluator {
    private static final Logger log = LoggerFactory.getLogger(PolicyEvaluator.class);

    private final AtomicReference<CompiledPolicies> current;
    private final CompileOptions options;
    private final List<SnapshotListener> listeners = new CopyOnWriteArrayList<>();

    /** Creates an evaluator with nothing loaded (everything allowed). */
    public PolicyEvaluator(CompileOptions options) {
        this.options = requireNonNull(options, "options");
        this.current = new AtomicReference<>(PolicySet.empty().compile(options));
    }

    /** The current snapshot. */
    public CompiledPolicies snapshot() {
        return current.get();
    }

    /** Evaluates a connection against the current snapshot. */
    public Decision evaluate(Destination destination, ConnectionAttributes connection) {
        return current.get().evaluate(destination, connection);
    }

    /** Evaluates a request against the current snapshot. */
    public Decision evaluate(Destination destination, RequestAttributes request) {
        return current.get().evaluate(destination, request);
    }

    /**
     * Compiles {@code policies} and makes them current; then tells the listeners. Returns the new snapshot
     * (its {@link CompiledPolicies#warnings()} say what was converted or ignored). If compiling fails the
     * current snapshot stays.
     */
    public CompiledPolicies update(PolicySet policies) {
        requireNonNull(policies, "policies");
        CompiledPolicies next = policies.compile(options);
        CompiledPolicies previous = current.getAndSet(next);
        for (CompileWarning w : next.warnings()) {
            if (w.severity() == CompileWarning.Severity.WARNING) {
                log.warn("authorization: {}", w);
            }
        }
        for (SnapshotListener l : listeners) {
            try {
                l.onSnapshotChanged(previous, next);
            } catch (RuntimeException e) {
                log.warn("snapshot listener {} failed", l, e);
            }
        }
        return next;
    }

    /** Registers a listener. */
    public void addListener(SnapshotListener listener) {
        listeners.add(requireNonNull(listener, "listener"));
    }

    /** Removes a listener. */
    public void removeListener(SnapshotListener listener) {
        listeners.remove(requireNonNull(listener, "listener"));
    }

    /**
     * Helper for listeners: returns the connections the snapshot now denies, with their decisions.
     *
     * @param snapshot    the new snapshot
     * @param connections live connections
     * @param destination the destination of a connection
     * @param attributes  the attributes of a connection
     * @param <C>         the proxy's connection type
     */
    public static <C> List<Denied<C>> deniedConnections(CompiledPolicies snapshot, Iterable<C> connections,
            Function<C, Destination> destination, Function<C, ConnectionAttributes> attributes) {
        requireNonNull(snapshot, "snapshot");
        requireNonNull(connections, "connections");
        requireNonNull(destination, "destination");
        requireNonNull(attributes, "attributes");
        List<Denied<C>> out = new ArrayList<>();
        for (C c : connections) {
            Decision d = snapshot.evaluate(destination.apply(c), attributes.apply(c));
            if (!d.allowed()) {
                out.add(new Denied<>(c, d));
            }
        }
        return out;
    }

    /**
     * A live connection the new snapshot denies.
     *
     * @param connection the connection
     * @param decision   why
     * @param <C>        the proxy's connection type
     */
    public record Denied<C>(C connection, Decision decision) {
        /** Validates. */
        public Denied {
            requireNonNull(connection, "connection");
            requireNonNull(decision, "decision");
        }
    }
}
