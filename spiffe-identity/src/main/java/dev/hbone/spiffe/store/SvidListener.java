package dev.hbone.spiffe.store;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.svid.x509svid.X509Svid;
import java.time.Duration;

/** Notified by an {@link IdentityStore} when an identity's SVID changes or its renewal fails. */
public interface SvidListener {
    /**
     * Called after a new SVID for {@code identity} was installed (first fetch or renewal).
     *
     * @param identity the identity
     * @param svid the new SVID, already served
     */
    void onSvidUpdated(SpiffeId identity, X509Svid svid);

    /**
     * Called when obtaining an SVID failed; the previous SVID, if still valid, keeps serving.
     *
     * @param identity the identity
     * @param error why it failed
     * @param retryIn when the next attempt is scheduled
     */
    default void onRenewalFailed(SpiffeId identity, Throwable error, Duration retryIn) {
    }
}
