package dev.hbone.ztunnel.route;

import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What to do with an inbound HBONE CONNECT, decided by {@link InboundRouter}: forward it (after
 * authorization) or answer with an error status.
 */
public sealed interface InboundDecision permits InboundDecision.Forward, InboundDecision.Reject {

    /**
     * The PROXY protocol v2 header to write first on the upstream connection.
     *
     * @param source the original client (the HBONE peer)
     * @param destination the HBONE target (for a hostname authority, a VIP of the service)
     * @param sourceIdentity the client's SPIFFE ID, for the 0xD0 TLV
     */
    record ProxyProtocolHeader(InetSocketAddress source, InetSocketAddress destination, Optional<String> sourceIdentity) {
        /** Validates the components. */
        public ProxyProtocolHeader {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(destination, "destination");
            Objects.requireNonNull(sourceIdentity, "sourceIdentity");
        }
    }

    /**
     * Forward the stream, once authorization allows it and the upstream connection is established (only
     * then does the client get its 200).
     *
     * @param destinationWorkload the workload the request is for; authorization uses its policies
     * @param authority the parsed authority
     * @param authorizedDestination the destination authorization evaluates (the workload IP and the resolved port)
     * @param upstream where to connect
     * @param upstreamSource the local address to bind for the upstream connection: loopback for a loopback
     *     application tunnel; empty to let the transport choose (original source or the node's address)
     * @param proxyProtocol the PROXY header to send first, for a {@code PROXY} application tunnel
     * @param services the services this request may be for (telemetry)
     * @param fromNetworkGateway whether the request crossed an east-west gateway ({@code x-forwarded-network}
     *     names another network): the source workload cannot be looked up by address
     */
    record Forward(Workload destinationWorkload, HboneAuthority authority, InetSocketAddress authorizedDestination,
            InetSocketAddress upstream, Optional<InetAddress> upstreamSource, Optional<ProxyProtocolHeader> proxyProtocol,
            List<Service> services, boolean fromNetworkGateway) implements InboundDecision {
        /** Validates and copies the components. */
        public Forward {
            Objects.requireNonNull(destinationWorkload, "destinationWorkload");
            Objects.requireNonNull(authority, "authority");
            Objects.requireNonNull(authorizedDestination, "authorizedDestination");
            Objects.requireNonNull(upstream, "upstream");
            Objects.requireNonNull(upstreamSource, "upstreamSource");
            Objects.requireNonNull(proxyProtocol, "proxyProtocol");
            services = List.copyOf(services);
        }
    }

    /** Why a request is refused, with the HTTP status ztunnel answers. */
    enum RejectReason {
        /** The method is not CONNECT. */
        NOT_CONNECT(400),
        /** The authority is not {@code ip:port}, {@code [ip]:port} or {@code hostname:port}. */
        MALFORMED_AUTHORITY(400),
        /** The authority's IP is not the IP the connection was made to, and this proxy is not the target's waypoint. */
        IP_MISMATCH(400),
        /** No workload owns the IP the connection was made to. */
        UNKNOWN_DESTINATION(503),
        /** The authority's hostname is no known service. */
        UNKNOWN_SERVICE(503),
        /** The service has no target port for the requested port. */
        NO_PORT_FOR_SERVICE(503),
        /** The service has no VIP to put in the PROXY header. */
        NO_IP_FOR_SERVICE(503),
        /** The request targets one of the proxy's own ports. */
        SELF_CALL(503);

        private final int status;

        RejectReason(int status) {
            this.status = status;
        }

        /** Returns the HTTP status to answer with. */
        public int status() {
            return status;
        }
    }

    /**
     * Answer with an error status (HEADERS with END_STREAM, no body).
     *
     * @param reason why
     * @param message a sentence for the log
     */
    record Reject(RejectReason reason, String message) implements InboundDecision {
        /** Validates the components. */
        public Reject {
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(message, "message");
        }

        /** Returns the HTTP status to answer with (400 or 503). */
        public int status() {
            return reason.status();
        }
    }
}
