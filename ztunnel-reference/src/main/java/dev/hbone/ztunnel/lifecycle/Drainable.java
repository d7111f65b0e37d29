package dev.hbone.ztunnel.lifecycle;

import java.util.concurrent.CompletableFuture;

/**
 * Something that holds connections and must let them finish at shutdown: the data-path listeners implement it and
 * register with {@link NodeProxy#addDrainable(Drainable)}. At shutdown the proxy calls {@link #drain()} on each,
 * waits up to the termination grace period, then calls {@link #forceClose()} on those not done.
 */
public interface Drainable {
    /** Returns a short name for logs, e.g. {@code inbound 127.0.0.1:15008}. */
    String name();

    /**
     * Stops accepting new connections, tells peers to stop sending new streams (HBONE GOAWAY) and lets open
     * connections finish.
     *
     * @return completes when no connection is left
     */
    CompletableFuture<Void> drain();

    /** Closes every remaining connection now. */
    void forceClose();
}
