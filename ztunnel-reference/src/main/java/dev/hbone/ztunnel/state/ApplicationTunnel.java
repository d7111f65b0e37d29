package dev.hbone.ztunnel.state;

import java.util.Objects;
import java.util.OptionalInt;

/**
 * A tunnel the destination workload terminates itself (a waypoint "sandwich"): after authorizing an
 * inbound HBONE request the proxy connects to {@link #port()} (or the request's port) and, for
 * {@link Protocol#PROXY}, first writes a PROXY protocol v2 header.
 *
 * @param protocol what the proxy writes before the payload
 * @param port the port to connect to instead of the requested one, if set
 */
public record ApplicationTunnel(Protocol protocol, OptionalInt port) {

    /** Validates the components. */
    public ApplicationTunnel {
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(port, "port");
    }

    /** The application tunnel protocol ({@code NONE} or {@code PROXY} in the configuration). */
    public enum Protocol {
        /** Plain bytes: only the port may change. */
        NONE,
        /** A PROXY protocol v2 header precedes the payload. */
        PROXY
    }
}
