package dev.hbone.api;

/**
 * The HTTP statuses an HBONE server answers a {@code CONNECT} with when it does not open the tunnel. Each is sent
 * as a HEADERS frame with END_STREAM and no body.
 */
public enum RefusalStatus {
    /** Not a CONNECT, a malformed authority, or a target that is not the address this connection was made to. */
    BAD_REQUEST(400),
    /** Authorization denied. (ztunnel never sends 403; neither does this library.) */
    UNAUTHORIZED(401),
    /** Unknown target, one of the proxy's own ports, or the upstream connection failed or timed out. */
    SERVICE_UNAVAILABLE(503);

    private final int code;

    RefusalStatus(int code) {
        this.code = code;
    }

    /** The HTTP status code, e.g. {@code 503}. */
    public int code() {
        return code;
    }
}
