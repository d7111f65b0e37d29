package dev.hbone.netty;

import java.time.Duration;

/**
 * Every default of hbone-netty, in one place, with the value Istio's ztunnel uses. Builders start from these.
 */
public final class HboneDefaults {
    /** HBONE's port. */
    public static final int PORT = 15008;
    /** Per-stream HTTP/2 receive window: a 64 KiB window caps one stream at a fraction of loopback speed. */
    public static final int STREAM_WINDOW = 4 * 1024 * 1024;
    /** Connection receive window: larger than the stream window, which avoids a flow-control deadlock. */
    public static final int CONNECTION_WINDOW = 16 * 1024 * 1024;
    /** MAX_FRAME_SIZE both sides advertise. */
    public static final int MAX_FRAME_SIZE = 1024 * 1024;
    /** MAX_CONCURRENT_STREAMS a server advertises. */
    public static final int SERVER_MAX_CONCURRENT_STREAMS = 200;
    /** Header list limit a server advertises. */
    public static final int SERVER_MAX_HEADER_LIST_SIZE = 64 * 1024;
    /** Header list limit a client advertises. */
    public static final int CLIENT_MAX_HEADER_LIST_SIZE = 16 * 1024;
    /** Streams a client puts on one connection (never above the peer's MAX_CONCURRENT_STREAMS). */
    public static final int CLIENT_MAX_STREAMS_PER_CONNECTION = 100;
    /** Interval between keep-alive PINGs. */
    public static final Duration PING_INTERVAL = Duration.ofSeconds(10);
    /** A PING unanswered this long closes the connection. */
    public static final Duration PING_TIMEOUT = Duration.ofSeconds(20);
    /** Idle pooled client connections are closed after this. */
    public static final Duration POOL_IDLE_TIMEOUT = Duration.ofMinutes(5);
    /** Time allowed to open a tunnel (TCP connect + handshake + CONNECT + response). */
    public static final Duration OPEN_TIMEOUT = Duration.ofSeconds(10);
    /** Time a server allows for the upstream TCP connection before answering 503. */
    public static final Duration UPSTREAM_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** Time allowed for the TLS handshake. */
    public static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /** Drain deadline after which open tunnels are force-closed. */
    public static final Duration DRAIN_DEADLINE = Duration.ofSeconds(5);
    /**
     * RST_STREAM frames a peer may send per {@link #RST_WINDOW} before the connection is closed with
     * GOAWAY(ENHANCE_YOUR_CALM) (Rapid Reset, CVE-2023-44487). Netty counts every RST_STREAM that hits a live stream,
     * whatever its code, and RST_STREAM(CANCEL) is how HBONE closes a tunnel early: a pooled node-proxy connection
     * legitimately cancels hundreds of tunnels a minute, so Netty's default (200 per 30 s) is far too low. 1000 per
     * 10 s leaves a 1000-cancels-a-minute connection six times the headroom and still ends a Rapid Reset burst
     * (thousands per second) within a fraction of a second, after at most twice this many streams.
     */
    public static final int MAX_RESETS_RECEIVED_PER_WINDOW = 1000;
    /**
     * RST_STREAM frames with an error code (not NO_ERROR or CANCEL) a peer may make us send per {@link #RST_WINDOW}
     * (MadeYouReset, CVE-2025-8671 / Netty CVE-2025-55163). A well-behaved HBONE peer never provokes one.
     */
    public static final int MAX_ERROR_RESETS_SENT_PER_WINDOW = 100;
    /** The (tumbling) window of both reset limits. */
    public static final Duration RST_WINDOW = Duration.ofSeconds(10);
    /** @deprecated use {@link #MAX_RESETS_RECEIVED_PER_WINDOW}. */
    @Deprecated
    public static final int MAX_RST_FRAMES_PER_WINDOW = MAX_RESETS_RECEIVED_PER_WINDOW;
    /** @deprecated use {@link #RST_WINDOW}. */
    @Deprecated
    public static final int RST_WINDOW_SECONDS = 10;
    /**
     * Frames that change nothing a peer may send per {@link #RST_WINDOW}, beyond {@link #IDLE_FRAMES_PER_STREAM} for
     * each stream opened on the connection in the window, before the connection is closed with
     * GOAWAY(ENHANCE_YOUR_CALM): RST_STREAM and WINDOW_UPDATE for a stream that is no longer open, PRIORITY (HBONE has
     * no priorities) and frames of unknown type. Netty's reset limit counts only resets of live streams, so a flood of
     * resets for a closed stream cost a core's worth of parsing for as long as the attacker kept sending.
     */
    public static final int MAX_IDLE_FRAMES_PER_WINDOW = 1000;
    /**
     * Idle frames allowed per stream opened in the window: a well-behaved peer may race a WINDOW_UPDATE and an
     * RST_STREAM against the end of each stream.
     */
    public static final int IDLE_FRAMES_PER_STREAM = 4;
    /**
     * WINDOW_UPDATE frames for open streams (or the connection) a peer may send per {@link #RST_WINDOW}, per DATA
     * frame we sent it in the window, beyond {@link #MAX_IDLE_FRAMES_PER_WINDOW}: a receiver returns window as it
     * consumes our DATA, one or two updates per frame at most, so more is a flood (Envoy's
     * {@code max_inbound_window_update_frames_per_data_frame_sent} has the same default).
     */
    public static final int MAX_WINDOW_UPDATES_PER_DATA_FRAME_SENT = 10;
    /** Consecutive empty DATA frames tolerated (CVE-2019-9518). */
    public static final int MAX_CONSECUTIVE_EMPTY_DATA_FRAMES = 2;
    /** Small CONTINUATION frames tolerated per header block (CONTINUATION flood). */
    public static final int MAX_SMALL_CONTINUATION_FRAMES = 16;
    /** Control frames (PING/SETTINGS acks, RST) queued toward a peer that does not read (CVE-2019-9512/9515). */
    public static final int MAX_QUEUED_CONTROL_FRAMES = 10_000;
    /**
     * Write buffer high-water mark of an HBONE connection (the TLS socket every stream of a pooled connection writes
     * through; system property {@code hbone.connectionWriteBufferHigh}, bytes). With Netty's default (64 KiB) a
     * connection carrying several busy streams turned unwritable and writable again every few dozen KiB, and each
     * turn had the HTTP/2 flow controller distribute, and TLS wrap, one more small batch (16 streams on one
     * connection: about a third more proxy CPU per byte). Only a connection with more queued than the kernel takes
     * holds this much; idle ones hold nothing.
     */
    public static final int CONNECTION_WRITE_BUFFER_HIGH = Integer.getInteger("hbone.connectionWriteBufferHigh",
                                                                             1024 * 1024);
    /** Low-water mark matching {@link #CONNECTION_WRITE_BUFFER_HIGH} (half of it). */
    public static final int CONNECTION_WRITE_BUFFER_LOW = CONNECTION_WRITE_BUFFER_HIGH / 2;
    /**
     * Smallest share of a connection's sendable bytes a busy stream gets at a time (system property
     * {@code hbone.streamWriteQuantum}, bytes): one TLS record. Streams sharing a pooled connection then send DATA
     * frames of at least this size (or what they have), not Netty's 1 KiB slices.
     */
    public static final int STREAM_WRITE_QUANTUM = Integer.getInteger("hbone.streamWriteQuantum", 16 * 1024);

    private HboneDefaults() { }
}
