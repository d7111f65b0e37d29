package dev.hbone.netty;

import static java.util.Objects.requireNonNull;

import dev.hbone.api.TunnelListener;
import dev.hbone.netty.internal.Http2Support;
import io.netty.channel.EventLoopGroup;
import java.time.Duration;

/**
 * The options {@link NettyHboneClient.Builder} and {@link NettyHboneServer.Builder} share: the mTLS setup, the
 * listener, the event loops, the handshake timeout, keep-alive PINGs and the RST_STREAM limits. Self-typed, so each
 * method returns the concrete builder.
 *
 * @param <B> the concrete builder
 */
public abstract class HboneEndpointBuilder<B extends HboneEndpointBuilder<B>> {
    HboneTls tls;
    TunnelListener listener = TunnelListener.NOOP;
    EventLoopGroup group;
    int threads;
    Duration handshakeTimeout = HboneDefaults.HANDSHAKE_TIMEOUT;
    Duration pingInterval = HboneDefaults.PING_INTERVAL;
    Duration pingTimeout = HboneDefaults.PING_TIMEOUT;
    Http2Support.ResetLimits resetLimits = Http2Support.ResetLimits.DEFAULT;

    HboneEndpointBuilder() { }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /** The mTLS setup (required). */
    public B tls(HboneTls tls) {
        this.tls = requireNonNull(tls, "tls");
        return self();
    }

    /** Observes tunnels; default none. */
    public B listener(TunnelListener listener) {
        this.listener = requireNonNull(listener, "listener");
        return self();
    }

    /** Runs on this event loop group (never shut down by the client or server); default a group of its own. */
    public B eventLoopGroup(EventLoopGroup group) {
        this.group = requireNonNull(group, "group");
        return self();
    }

    /** Threads of the endpoint's own group; default 0 = Netty's default (2 x cores). */
    public B threads(int threads) {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0: " + threads);
        }
        this.threads = threads;
        return self();
    }

    /** Time allowed for the TLS handshake; default {@link HboneDefaults#HANDSHAKE_TIMEOUT}. */
    public B handshakeTimeout(Duration timeout) {
        this.handshakeTimeout = requireNonNull(timeout, "timeout");
        return self();
    }

    /**
     * Keep-alive PING interval and the time a PING may stay unanswered before the connection is closed; default
     * {@link HboneDefaults#PING_INTERVAL} / {@link HboneDefaults#PING_TIMEOUT}.
     */
    public B ping(Duration interval, Duration timeout) {
        this.pingInterval = requireNonNull(interval, "interval");
        this.pingTimeout = requireNonNull(timeout, "timeout");
        return self();
    }

    /**
     * RST_STREAM limits per connection: at most {@code maxReceived} RST_STREAM frames received (any code: CANCEL
     * is HBONE's normal early close) and {@code maxErrorsSent} error resets sent (codes other than NO_ERROR and
     * CANCEL, which only a misbehaving peer provokes) per {@code window} (whole seconds, at least 1); beyond either
     * the connection ends with GOAWAY(ENHANCE_YOUR_CALM). Defaults {@link HboneDefaults#MAX_RESETS_RECEIVED_PER_WINDOW},
     * {@link HboneDefaults#MAX_ERROR_RESETS_SENT_PER_WINDOW} per {@link HboneDefaults#RST_WINDOW}.
     */
    public B resetLimits(int maxReceived, int maxErrorsSent, Duration window) {
        requireNonNull(window, "window");
        this.resetLimits = Http2Support.ResetLimits.of(maxReceived, maxErrorsSent, window);
        return self();
    }
}
