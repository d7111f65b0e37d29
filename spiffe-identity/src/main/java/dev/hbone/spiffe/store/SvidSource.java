package dev.hbone.spiffe.store;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.svid.x509svid.X509Svid;
import java.util.concurrent.CompletableFuture;

/**
 * Where an {@link IdentityStore} gets X.509-SVIDs: a local CA, PEM files, a SPIFFE Workload API source, a remote CA
 * client. {@link SvidSources} has the ready-made ones.
 *
 * <p>Called again each time an SVID is due for renewal and after each failure (with back-off). May complete on any
 * thread; must not block the caller for long (a remote CA call should return a pending future).
 */
@FunctionalInterface
public interface SvidSource {
    /**
     * Obtains a fresh SVID for an identity.
     *
     * @param identity the workload identity the node acts for
     * @return a future completed with an SVID whose SPIFFE ID is {@code identity}, or failed
     */
    CompletableFuture<X509Svid> fetch(SpiffeId identity);
}
