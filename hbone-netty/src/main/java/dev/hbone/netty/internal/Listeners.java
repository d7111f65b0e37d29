package dev.hbone.netty.internal;

import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelInfo;
import dev.hbone.api.TunnelListener;
import dev.hbone.api.TunnelStats;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Calls listeners so that a throwing listener cannot break the transport. */
public final class Listeners {
    private static final Logger log = LoggerFactory.getLogger(Listeners.class);

    private Listeners() { }

    public static void opened(TunnelListener l, TunnelInfo info) {
        try {
            l.onOpened(info);
        } catch (RuntimeException e) {
            log.warn("tunnel listener failed in onOpened", e);
        }
    }

    public static void closed(TunnelListener l, TunnelInfo info, TunnelStats stats) {
        try {
            l.onClosed(info, stats);
        } catch (RuntimeException e) {
            log.warn("tunnel listener failed in onClosed", e);
        }
    }

    public static void failed(TunnelListener l, String authority, TunnelException failure) {
        try {
            l.onFailed(authority, failure);
        } catch (RuntimeException e) {
            log.warn("tunnel listener failed in onFailed", e);
        }
    }
}
