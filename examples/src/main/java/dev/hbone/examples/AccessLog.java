package dev.hbone.examples;

import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelInfo;
import dev.hbone.api.TunnelListener;
import dev.hbone.api.TunnelStats;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** An access log from {@link TunnelListener} events. */
final class AccessLog implements TunnelListener {
    private static final Logger log = LoggerFactory.getLogger("access");

    @Override
    public void onOpened(TunnelInfo t) {
        log.info("open   {} -> {} from {}", t.peerIdentity(), t.authority(), t.remoteAddress());
    }

    @Override
    public void onClosed(TunnelInfo t, TunnelStats s) {
        log.info("closed {} -> {} sent={} received={} duration={}ms{}", t.peerIdentity(), t.authority(),
                 s.bytesSent(), s.bytesReceived(), s.duration().toMillis(),
                 s.failure().map(f -> " failure=" + f.reason()).orElse(""));
    }

    @Override
    public void onFailed(String authority, TunnelException failure) {
        log.info("refused {} status={} reason={}", authority, failure.status().orElse(0), failure.reason());
    }
}
