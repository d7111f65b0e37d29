package dev.hbone.ztunnel.proxy;

import static java.util.Objects.requireNonNull;

/**
 * Options of the data path that are not operator settings.
 *
 * @param enabled whether the listeners start at all (off: the process shell only, e.g. for endpoint tests)
 * @param transparent whether the capture listeners (15001, 15006) are {@code IP_TRANSPARENT} (TPROXY; needs
 *     {@code CAP_NET_ADMIN} and the epoll transport; without it they still listen, and a connection made to them
 *     directly is a call to the proxy's own port and refused)
 * @param originalDestination how the capture listeners recover the original destination; anything but
 *     {@link OriginalDestination#AUTO} (TPROXY or REDIRECT) and {@link OriginalDestination#TPROXY} is a
 *     <b>test seam</b> that lets a test connect to the listener directly
 */
public record DataPathOptions(boolean enabled, boolean transparent, OriginalDestination originalDestination) {
    /** Validates. */
    public DataPathOptions {
        requireNonNull(originalDestination, "originalDestination");
    }

    /** The production options: listeners on, transparent, TPROXY or REDIRECT capture ({@link OriginalDestination#AUTO}). */
    public static DataPathOptions defaults() {
        return new DataPathOptions(true, true, OriginalDestination.AUTO);
    }

    /** No data path (the process shell only). */
    public static DataPathOptions disabled() {
        return new DataPathOptions(false, false, OriginalDestination.TPROXY);
    }

    /**
     * TEST SEAM: the capture listeners take the original destination from {@code originalDestination} instead of
     * the socket, and are not transparent. Never for production.
     */
    public static DataPathOptions testOriginalDestination(OriginalDestination originalDestination) {
        return new DataPathOptions(true, false, originalDestination);
    }
}
