package dev.hbone.ztunnel.state;

import java.util.Objects;

/**
 * How to reach a waypoint or an east-west network gateway: its destination and the port of its
 * HBONE (mTLS) listener.
 *
 * @param destination an address or a namespaced hostname
 * @param hboneMtlsPort the port of the HBONE listener, normally 15008
 */
public record GatewayAddress(GatewayDestination destination, int hboneMtlsPort) {

    /** Validates the components. */
    public GatewayAddress {
        Objects.requireNonNull(destination, "destination");
        if (hboneMtlsPort < 0 || hboneMtlsPort > 65535) {
            throw new IllegalArgumentException("hboneMtlsPort out of range: " + hboneMtlsPort);
        }
    }
}
