package dev.hbone.ztunnel.route;

import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import dev.hbone.ztunnel.state.WorkloadIdentity;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Where an outbound connection goes, decided by {@link OutboundRouter}: one record per kind of route,
 * each with everything the transport needs. Every tunnel carries the <em>source</em> workload's identity
 * ({@code sourceIdentity}): the node proxy acts for the workload, never as itself.
 */
public sealed interface OutboundRoute permits OutboundRoute.DirectHbone, OutboundRoute.ViaWaypoint,
        OutboundRoute.ViaNetworkGateway, OutboundRoute.DirectTcp, OutboundRoute.Passthrough,
        OutboundRoute.Refused {

    /** Returns the workload that opened the connection. */
    Workload source();

    /** Returns the address the workload dialled. */
    InetSocketAddress originalDestination();

    /**
     * HBONE straight to the destination workload's node proxy: {@code <workload ip>:15008}, authority
     * {@code <workload ip>:<target port>}.
     *
     * @param source the workload that opened the connection
     * @param originalDestination the address it dialled (a workload IP or a service VIP)
     * @param nextHop where to open the mTLS connection ({@code <workload ip>:15008})
     * @param authority the CONNECT authority ({@code <workload ip>:<target port>})
     * @param sourceIdentity the identity to present (the source workload's)
     * @param expectedIdentities the identities the peer may present: the service's subjectAltNames and the workload's identity
     * @param destinationWorkload the workload reached
     * @param destinationService the service dialled, when the workload was reached through its VIP
     */
    record DirectHbone(Workload source, InetSocketAddress originalDestination, InetSocketAddress nextHop,
            HboneAuthority.IpPort authority, WorkloadIdentity sourceIdentity, List<WorkloadIdentity> expectedIdentities,
            Workload destinationWorkload, Optional<Service> destinationService) implements OutboundRoute {
        /** Validates and copies the components. */
        public DirectHbone {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(originalDestination, "originalDestination");
            Objects.requireNonNull(nextHop, "nextHop");
            Objects.requireNonNull(authority, "authority");
            Objects.requireNonNull(sourceIdentity, "sourceIdentity");
            expectedIdentities = List.copyOf(expectedIdentities);
            Objects.requireNonNull(destinationWorkload, "destinationWorkload");
            Objects.requireNonNull(destinationService, "destinationService");
        }
    }

    /** Which waypoint a {@link ViaWaypoint} route goes through. */
    enum WaypointKind {
        /** The dialled service's waypoint. */
        SERVICE,
        /** The destination workload's waypoint (the workload was dialled directly). */
        WORKLOAD
    }

    /**
     * HBONE to a waypoint, which applies L7 policy and forwards. The authority is the ORIGINAL destination
     * (the VIP or workload address dialled), so the waypoint knows what was asked for.
     *
     * @param source the workload that opened the connection
     * @param originalDestination the address it dialled
     * @param nextHop the waypoint's address and HBONE port
     * @param authority the CONNECT authority: the original destination
     * @param sourceIdentity the identity to present (the source workload's)
     * @param expectedIdentities the waypoint's identities (its service's subjectAltNames and its workload identity)
     * @param waypoint the waypoint workload chosen
     * @param destinationService the service dialled, if any (not the waypoint's own service)
     * @param kind whose waypoint this is
     */
    record ViaWaypoint(Workload source, InetSocketAddress originalDestination, InetSocketAddress nextHop,
            HboneAuthority.IpPort authority, WorkloadIdentity sourceIdentity, List<WorkloadIdentity> expectedIdentities,
            Workload waypoint, Optional<Service> destinationService, WaypointKind kind) implements OutboundRoute {
        /** Validates and copies the components. */
        public ViaWaypoint {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(originalDestination, "originalDestination");
            Objects.requireNonNull(nextHop, "nextHop");
            Objects.requireNonNull(authority, "authority");
            Objects.requireNonNull(sourceIdentity, "sourceIdentity");
            expectedIdentities = List.copyOf(expectedIdentities);
            Objects.requireNonNull(waypoint, "waypoint");
            Objects.requireNonNull(destinationService, "destinationService");
            Objects.requireNonNull(kind, "kind");
        }
    }

    /**
     * Double HBONE through an east-west gateway to a service on another network: an outer CONNECT to the
     * gateway, and inside it a second mTLS handshake and CONNECT (unpooled) with the same authority plus
     * {@code x-forwarded-network}.
     *
     * @param source the workload that opened the connection
     * @param originalDestination the address it dialled
     * @param nextHop the gateway's address and HBONE port
     * @param authority {@code <service hostname>:<service port>}, for both CONNECTs
     * @param sourceIdentity the identity to present, on both handshakes (the source workload's)
     * @param gatewayIdentities the identities the gateway may present (outer handshake)
     * @param destinationIdentities the identities the far end may present (inner handshake): the subjectAltNames
     *     of the service (or of the remote waypoint's service)
     * @param gateway the gateway workload
     * @param destinationService the service dialled
     * @param forwardedNetwork the value of {@code x-forwarded-network} on the inner CONNECT: the network of origin
     *     (this proxy's network, as in ztunnel)
     */
    record ViaNetworkGateway(Workload source, InetSocketAddress originalDestination, InetSocketAddress nextHop,
            HboneAuthority.HostPort authority, WorkloadIdentity sourceIdentity, List<WorkloadIdentity> gatewayIdentities,
            List<WorkloadIdentity> destinationIdentities, Workload gateway, Service destinationService,
            String forwardedNetwork) implements OutboundRoute {
        /** Validates and copies the components. */
        public ViaNetworkGateway {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(originalDestination, "originalDestination");
            Objects.requireNonNull(nextHop, "nextHop");
            Objects.requireNonNull(authority, "authority");
            Objects.requireNonNull(sourceIdentity, "sourceIdentity");
            gatewayIdentities = List.copyOf(gatewayIdentities);
            destinationIdentities = List.copyOf(destinationIdentities);
            Objects.requireNonNull(gateway, "gateway");
            Objects.requireNonNull(destinationService, "destinationService");
            Objects.requireNonNull(forwardedNetwork, "forwardedNetwork");
        }
    }

    /**
     * Plain TCP to a mesh workload that does not accept HBONE ({@code protocol: TCP}); a service VIP is
     * still load-balanced and its port mapped.
     *
     * @param source the workload that opened the connection
     * @param originalDestination the address it dialled
     * @param nextHop {@code <workload ip>:<target port>}
     * @param destinationWorkload the workload reached
     * @param destinationService the service dialled, if any
     */
    record DirectTcp(Workload source, InetSocketAddress originalDestination, InetSocketAddress nextHop,
            Workload destinationWorkload, Optional<Service> destinationService) implements OutboundRoute {
        /** Validates the components. */
        public DirectTcp {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(originalDestination, "originalDestination");
            Objects.requireNonNull(nextHop, "nextHop");
            Objects.requireNonNull(destinationWorkload, "destinationWorkload");
            Objects.requireNonNull(destinationService, "destinationService");
        }
    }

    /**
     * Plain TCP to the original destination: it is not in the mesh, or it is a service whose load balancer
     * is in {@code Passthrough} mode.
     *
     * @param source the workload that opened the connection
     * @param originalDestination the address it dialled, which is also where the connection goes
     */
    record Passthrough(Workload source, InetSocketAddress originalDestination) implements OutboundRoute {
        /** Validates the components. */
        public Passthrough {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(originalDestination, "originalDestination");
        }
    }

    /** Why a connection has no route. */
    enum RefusalReason {
        /** The workload dialled one of the proxy's own ports on loopback. */
        SELF_CALL,
        /** A service was dialled but has no usable endpoint for the port. */
        NO_HEALTHY_UPSTREAM,
        /** The chosen workload cannot be reached: no suitable IP, or another network without a gateway. */
        NO_VALID_DESTINATION,
        /** A workload on another network was dialled without a service (only services cross networks). */
        NO_SERVICE,
        /** The waypoint named by the destination does not exist or has no usable endpoint. */
        UNKNOWN_WAYPOINT,
        /** The network gateway named by the destination does not exist or has no usable endpoint. */
        UNKNOWN_NETWORK_GATEWAY
    }

    /**
     * No route: the connection is closed.
     *
     * @param source the workload that opened the connection
     * @param originalDestination the address it dialled
     * @param reason why
     * @param message a sentence for the log
     */
    record Refused(Workload source, InetSocketAddress originalDestination, RefusalReason reason, String message)
            implements OutboundRoute {
        /** Validates the components. */
        public Refused {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(originalDestination, "originalDestination");
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(message, "message");
        }
    }
}
