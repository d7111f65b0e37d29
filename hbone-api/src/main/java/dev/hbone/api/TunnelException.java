package dev.hbone.api;

import java.io.IOException;
import java.util.OptionalInt;
import java.util.OptionalLong;

import static java.util.Objects.requireNonNull;

/**
 * Why a tunnel could not be opened or ended abnormally. {@link #reason()} is the machine-readable part, fit for a
 * metric label; the message is for people.
 */
public final class TunnelException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The kinds of tunnel failure. */
    public enum Reason {
        /** The mutual-TLS handshake failed (certificate refused, no ALPN {@code h2}, protocol version...). */
        TLS_HANDSHAKE,
        /** The TCP connection to the peer could not be established. */
        CONNECT_FAILED,
        /** The peer answered the CONNECT with a non-200 status; see {@link #status()}. */
        REFUSED,
        /** Opening the tunnel took longer than allowed. */
        TIMEOUT,
        /** The peer reset the stream with an error code other than NO_ERROR or CANCEL; see {@link #resetCode()}. */
        RESET,
        /**
         * The peer broke the HBONE protocol (e.g. HEADERS after the 200, a malformed request or response), or broke
         * HTTP/2 or its limits so badly that its whole connection was closed: then {@link #goAwayCode()} is present.
         */
        PROTOCOL_ERROR,
        /** The HTTP/2 connection was lost or closed (GOAWAY, PING timeout, TCP reset) before the stream ended. */
        CONNECTION_CLOSED,
        /** The local client or server is draining or closed and takes no new tunnels. */
        SHUTTING_DOWN
    }

    private final Reason reason;
    private final int status;
    private final long resetCode;
    private final long goAwayCode;

    private TunnelException(Reason reason, String message, int status, long resetCode, Throwable cause) {
        this(reason, message, status, resetCode, -1, cause);
    }

    private TunnelException(Reason reason, String message, int status, long resetCode, long goAwayCode,
                            Throwable cause) {
        super(message, cause);
        this.reason = requireNonNull(reason, "reason");
        this.status = status;
        this.resetCode = resetCode;
        this.goAwayCode = goAwayCode;
    }

    /** A failure of the given kind. */
    public static TunnelException of(Reason reason, String message) {
        return new TunnelException(reason, message, -1, -1, null);
    }

    /** A failure of the given kind caused by {@code cause} (may be null). */
    public static TunnelException of(Reason reason, String message, Throwable cause) {
        return new TunnelException(reason, message, -1, -1, cause);
    }

    /** The peer answered with {@code status} instead of 200. */
    public static TunnelException refused(int status) {
        return new TunnelException(Reason.REFUSED, "peer refused the tunnel with status " + status, status, -1, null);
    }

    /** The peer reset the stream with the HTTP/2 error {@code code}. */
    public static TunnelException reset(long code) {
        return new TunnelException(Reason.RESET, "peer reset the stream with error code " + code, -1, code, null);
    }

    /**
     * The peer's connection was closed with GOAWAY and the HTTP/2 error {@code code} (e.g. 0xb ENHANCE_YOUR_CALM for
     * a flood, 0x1 PROTOCOL_ERROR, 0x6 FRAME_SIZE_ERROR): a {@link Reason#PROTOCOL_ERROR} with {@link #goAwayCode()}.
     *
     * @param code the HTTP/2 error code sent in the GOAWAY, not NO_ERROR (0)
     * @param message what the peer did, for people
     * @return the failure
     */
    public static TunnelException connectionError(long code, String message) {
        if (code <= 0 || code > 0xffffffffL) {
            throw new IllegalArgumentException("GOAWAY error code must be a non-zero 32-bit code: " + code);
        }
        return new TunnelException(Reason.PROTOCOL_ERROR, requireNonNull(message, "message"), -1, -1, code, null);
    }

    /** What went wrong. */
    public Reason reason() {
        return reason;
    }

    /** The HTTP status the peer answered with, for {@link Reason#REFUSED}. */
    public OptionalInt status() {
        return status < 0 ? OptionalInt.empty() : OptionalInt.of(status);
    }

    /** The HTTP/2 error code of the peer's RST_STREAM, for {@link Reason#RESET}. */
    public OptionalLong resetCode() {
        return resetCode < 0 ? OptionalLong.empty() : OptionalLong.of(resetCode);
    }

    /**
     * The HTTP/2 error code of the GOAWAY that closed the peer's connection, for a {@link Reason#PROTOCOL_ERROR} that
     * ended the whole connection (see {@link #connectionError}); empty for one stream's error.
     */
    public OptionalLong goAwayCode() {
        return goAwayCode < 0 ? OptionalLong.empty() : OptionalLong.of(goAwayCode);
    }
}
