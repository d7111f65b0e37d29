package dev.hbone.authz;

/**
 * Told when {@link PolicyEvaluator} swaps its snapshot, so a proxy can re-check live connections against the
 * new policies and close those now denied. Called on the thread that called {@link PolicyEvaluator#update}.
 */
@FunctionalInterface
public interface SnapshotListener {
    /**
     * Called after the swap.
     *
     * @param previous the snapshot that was current
     * @param current  the new snapshot
     */
    void onSnapshotChanged(CompiledPolicies previous, CompiledPolicies current);
}
