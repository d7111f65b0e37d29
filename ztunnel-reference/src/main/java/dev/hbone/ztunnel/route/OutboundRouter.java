package dev.hbone.ztunnel.route;

import dev.hbone.ztunnel.internal.IpAddresses;
import dev.hbone.ztunnel.route.OutboundRoute.RefusalReason;
import dev.hbone.ztunnel.route.OutboundRoute.WaypointKind;
import dev.hbone.ztunnel.state.AddressOwner;
import dev.hbone.ztunnel.state.Endpoint;
import dev.hbone.ztunnel.state.GatewayAddress;
import dev.hbone.ztunnel.state.InboundProtocol;
import dev.hbone.ztunnel.state.IpFamily;
import dev.hbone.ztunnel.state.LoadBalancer;
import dev.hbone.ztunnel.state.NamespacedHostname;
import dev.hbone.ztunnel.state.NetworkAddress;
import dev.hbone.ztunnel.state.ProxyState;
import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import dev.hbone.ztunnel.state.WorkloadIdentity;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Decides where a captured outbound connection goes (ztunnel's {@code build_request}). Thread-safe; the
 * only state is the {@link EndpointPicker}.
 *
 * <p>In order:
 * <ol>
 *   <li>a workload dialling the proxy's own ports on loopback is refused ({@code SELF_CALL});
 *   <li>a service VIP whose service has a waypoint goes to the waypoint (through the network gateway when
 *       the waypoint is on another network), authority = the VIP and port dialled;
 *   <li>otherwise the destination is resolved in the source's network: a service VIP is load-balanced to
 *       an endpoint (port mapped service port → target port), an address is a workload; a
 *       {@code Passthrough} service or an unknown address passes through as plain TCP; a service with
 *       no usable endpoint is refused ({@code NO_HEALTHY_UPSTREAM});
 *   <li>an endpoint on another network is reached by double HBONE through its network gateway;
 *   <li>a workload dialled directly (not through a service) that has a waypoint goes to the waypoint,
 *       unless the connection comes from that waypoint (the "sandwich" case);
 *   <li>otherwise HBONE to {@code <ip>:15008} with authority {@code <ip>:<port>}, or plain TCP to a
 *       workload whose protocol is {@code TCP}.
 * </ol>
 */
public final class OutboundRouter {

    private final ProxySettings settings;
    private final EndpointPicker picker;

    /**
     * Creates a router.
     *
     * @param settings the proxy's own network and ports
     * @param picker how an endpoint is chosen among the eligible ones
     */
    public OutboundRouter(ProxySettings settings, EndpointPicker picker) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.picker = Objects.requireNonNull(picker, "picker");
    }

    /**
     * Finds the workload a captured connection comes from: the one at {@code sourceIp} in the proxy's network,
     * if it runs on the proxy's node. ztunnel refuses connections whose source it does not know.
     *
     * @param state the snapshot to look in
     * @param sourceIp the connection's source IP
     * @return the workload the proxy acts for, or empty (refuse the connection)
     */
    public Optional<Workload> findSource(ProxyState state, InetAddress sourceIp) {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(sourceIp, "sourceIp");
        return state.workloadByAddress(settings.network(), sourceIp).filter(w -> settings.servesNode(w.node()));
    }

    /**
     * Decides the route of one connection.
     *
     * @param state the snapshot to decide with
     * @param source the workload the proxy acts for (the connection's source)
     * @param sourceIp the connection's source IP
     * @param originalDestination the address the workload dialled (the socket's original destination)
     * @return the route; never null ({@link OutboundRoute.Refused} when there is none)
     */
    public OutboundRoute route(ProxyState state, Workload source, InetAddress sourceIp,
            InetSocketAddress originalDestination) {
        return route(state, source, sourceIp, originalDestination, Set.of());
    }

    /**
     * Decides the route of a retried connection: endpoints (or waypoints, or gateways) whose uid is in
     * {@code deprioritized} — the next hops earlier attempts failed on — are chosen only when nothing else is
     * eligible, so a retry does not land on the same dead endpoint.
     *
     * @param state the snapshot to decide with
     * @param source the workload the proxy acts for (the connection's source)
     * @param sourceIp the connection's source IP
     * @param originalDestination the address the workload dialled
     * @param deprioritized uids of workloads to avoid if possible
     * @return the route; never null ({@link OutboundRoute.Refused} when there is none)
     */
    public OutboundRoute route(ProxyState state, Workload source, InetAddress sourceIp,
            InetSocketAddress originalDestination, Set<String> deprioritized) {
        Objects.requireNonNull(deprioritized, "deprioritized");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(sourceIp, "sourceIp");
        Objects.requireNonNull(originalDestination, "originalDestination");
        if (originalDestination.getAddress() == null) {
            throw new IllegalArgumentException("unresolved destination " + originalDestination);
        }
        if (originalDestination.getAddress().isLoopbackAddress()
                && settings.illegalPorts().contains(originalDestination.getPort())) {
            return new OutboundRoute.Refused(source, originalDestination, RefusalReason.SELF_CALL,
                    "connection to the proxy's own port " + originalDestination.getPort());
        }
        try {
            return new Decision(state, source, sourceIp, originalDestination, deprioritized).decide();
        } catch (NoRoute e) {
            return new OutboundRoute.Refused(source, originalDestination, e.reason, e.getMessage());
        }
    }

    /** ztunnel's {@code ServiceResolutionMode}: a waypoint's service need not list the HBONE port. */
    private enum ResolutionMode { STANDARD, WAYPOINT }

    /** Unwinds a decision to a {@link OutboundRoute.Refused}. */
    private static final class NoRoute extends Exception {
        private static final long serialVersionUID = 1L;
        private final transient RefusalReason reason;

        NoRoute(RefusalReason reason, String message) {
            super(message, null, false, false);
            this.reason = reason;
        }
    }

    /** A chosen next hop, before the route is assembled (ztunnel's {@code Upstream}). */
    private record Upstream(Workload workload, InetAddress selectedIp, int port, Service service) {

        Optional<InetSocketAddress> socketAddress() {
            return selectedIp == null ? Optional.empty() : Optional.of(new InetSocketAddress(selectedIp, port));
        }

        List<WorkloadIdentity> serviceSans() {
            return service == null ? List.of() : service.subjectAltNameIdentities();
        }

        List<WorkloadIdentity> workloadAndServiceSans() {
            Set<WorkloadIdentity> ids = new LinkedHashSet<>(serviceSans());
            ids.add(workload.identity());
            return List.copyOf(ids);
        }
    }

    /** ztunnel's {@code UpstreamDestination}: a workload and port, or "use the original destination". */
    private record UpstreamParts(Workload workload, int port, Service service, boolean originalDestination) {
        static final UpstreamParts ORIGINAL_DESTINATION = new UpstreamParts(null, 0, null, true);
    }

    /** One decision; holds its inputs so the helpers read like ztunnel's. */
    private final class Decision {
        private final ProxyState state;
        private final Workload source;
        private final InetAddress sourceIp;
        private final InetSocketAddress target;
        private final Set<String> deprioritized;

        Decision(ProxyState state, Workload source, InetAddress sourceIp, InetSocketAddress target,
                Set<String> deprioritized) {
            this.state = state;
            this.source = source;
            this.sourceIp = sourceIp;
            this.target = target;
            this.deprioritized = deprioritized;
        }

        OutboundRoute decide() throws NoRoute {
            Service service = null;
            // As in ztunnel: "was a service dialled?" is asked in the proxy's network, the upstream is then
            // resolved in the source workload's network (the same one, unless misconfigured).
            Optional<AddressOwner> dialled = state.findAddress(new NetworkAddress(settings.network(),
                    target.getAddress()));
            if (dialled.isPresent() && dialled.get() instanceof Service) {
                Service targetService = (Service) dialled.get();
                if (targetService.waypoint().isPresent()) {
                    Upstream waypoint = fetchWaypoint(targetService.waypoint().get());
                    if (!waypoint.workload().network().equals(source.network())) {
                        return throughGateway(waypoint, targetService);
                    }
                    return viaWaypoint(waypoint, Optional.of(targetService), WaypointKind.SERVICE);
                }
                service = targetService;
            }

            UpstreamParts parts = findUpstream(source.network(), target, ResolutionMode.STANDARD);
            if (parts == null || parts.originalDestination()) {
                if (service != null && !isPassthrough(service)) {
                    throw new NoRoute(RefusalReason.NO_HEALTHY_UPSTREAM, "service " + service.namespacedHostname()
                            + " has no healthy endpoint for port " + target.getPort());
                }
                return new OutboundRoute.Passthrough(source, target);
            }
            Upstream upstream = finish(target, parts);

            if (!upstream.workload().network().equals(source.network())) {
                if (service == null) {
                    throw new NoRoute(RefusalReason.NO_SERVICE, "workload " + upstream.workload().uid()
                            + " is on network \"" + upstream.workload().network()
                            + "\"; only services can be reached across networks");
                }
                return throughGateway(upstream, service);
            }

            boolean fromWaypoint = isFromWaypoint(upstream.workload());
            if (!fromWaypoint && service == null && upstream.workload().waypoint().isPresent()) {
                Upstream waypoint = fetchWaypoint(upstream.workload().waypoint().get());
                return viaWaypoint(waypoint, Optional.ofNullable(upstream.service()), WaypointKind.WORKLOAD);
            }

            Workload destination = upstream.workload();
            InetSocketAddress workloadAddress = upstream.socketAddress().orElseThrow(() -> noValidDestination(destination));
            if (destination.protocol() == InboundProtocol.HBONE) {
                return new OutboundRoute.DirectHbone(source, target,
                        new InetSocketAddress(workloadAddress.getAddress(), settings.hbonePort()),
                        HboneAuthority.of(workloadAddress), source.identity(), upstream.workloadAndServiceSans(),
                        destination, Optional.ofNullable(upstream.service()));
            }
            return new OutboundRoute.DirectTcp(source, target, workloadAddress, destination,
                    Optional.ofNullable(upstream.service()));
        }

        private OutboundRoute viaWaypoint(Upstream waypoint, Optional<Service> destinationService, WaypointKind kind)
                throws NoRoute {
            InetSocketAddress next = waypoint.socketAddress().orElseThrow(() -> noValidDestination(waypoint.workload()));
            return new OutboundRoute.ViaWaypoint(source, target, next, HboneAuthority.of(target), source.identity(),
                    waypoint.workloadAndServiceSans(), waypoint.workload(), destinationService, kind);
        }

        // Both CONNECTs carry the service hostname and port: the gateway routes on it without
        // terminating the inner tunnel.
        private OutboundRoute throughGateway(Upstream upstream, Service service) throws NoRoute {
            Optional<GatewayAddress> gateway = upstream.workload().networkGateway();
            if (gateway.isEmpty()) {
                throw new NoRoute(RefusalReason.NO_VALID_DESTINATION, "workload " + upstream.workload().uid()
                        + " is on network \"" + upstream.workload().network() + "\" and has no network gateway");
            }
            Upstream gw = fetchNetworkGateway(gateway.get());
            InetSocketAddress next = gw.socketAddress().orElseThrow(() -> noValidDestination(gw.workload()));
            return new OutboundRoute.ViaNetworkGateway(source, target, next,
                    new HboneAuthority.HostPort(service.hostname(), target.getPort()), source.identity(),
                    gw.workloadAndServiceSans(), innerIdentities(upstream, service), gw.workload(), service,
                    settings.network());
        }

        // The gateway picks the endpoint, so the inner handshake may meet any endpoint of the service on that
        // network: the service's subjectAltNames, else (none configured) the identities of those endpoints.
        private List<WorkloadIdentity> innerIdentities(Upstream upstream, Service service) {
            List<WorkloadIdentity> sans = upstream.serviceSans();
            if (!sans.isEmpty()) {
                return sans;
            }
            Set<WorkloadIdentity> ids = new LinkedHashSet<>();
            ids.add(upstream.workload().identity());
            for (Endpoint e : state.endpoints(service)) {
                if (e.workload().network().equals(upstream.workload().network())) {
                    ids.add(e.workload().identity());
                }
            }
            return List.copyOf(ids);
        }

        private Upstream fetchWaypoint(GatewayAddress waypoint) throws NoRoute {
            return fetchGateway(waypoint, ResolutionMode.WAYPOINT, RefusalReason.UNKNOWN_WAYPOINT, "waypoint");
        }

        private Upstream fetchNetworkGateway(GatewayAddress gateway) throws NoRoute {
            return fetchGateway(gateway, ResolutionMode.STANDARD, RefusalReason.UNKNOWN_NETWORK_GATEWAY,
                    "network gateway");
        }

        // A gateway named by address is dialled at that address; one named by hostname is resolved like a
        // service (load-balanced) or a workload, and the caller's IP family is kept.
        private Upstream fetchGateway(GatewayAddress gateway, ResolutionMode mode, RefusalReason unknown, String what)
                throws NoRoute {
            UpstreamParts parts;
            InetSocketAddress dialled;
            if (gateway.destination() instanceof NetworkAddress) {
                NetworkAddress address = (NetworkAddress) gateway.destination();
                dialled = new InetSocketAddress(address.address(), gateway.hboneMtlsPort());
                parts = findUpstream(address.network(), dialled, mode);
            } else {
                NamespacedHostname name = (NamespacedHostname) gateway.destination();
                Optional<AddressOwner> owner = state.findHostname(name);
                if (owner.isEmpty()) {
                    throw new NoRoute(unknown, what + " " + name + " not found");
                }
                dialled = target;
                if (owner.get() instanceof Service) {
                    parts = findUpstreamFromService(gateway.hboneMtlsPort(), mode, (Service) owner.get());
                } else {
                    parts = new UpstreamParts((Workload) owner.get(), gateway.hboneMtlsPort(), null, false);
                }
            }
            if (parts == null || parts.originalDestination()) {
                throw new NoRoute(unknown, what + " " + gateway.destination() + " not found or has no usable endpoint");
            }
            return finish(dialled, parts);
        }

        private UpstreamParts findUpstream(String network, InetSocketAddress address, ResolutionMode mode) {
            Optional<Service> service = state.serviceByVip(new NetworkAddress(network, address.getAddress()));
            if (service.isPresent()) {
                if (isPassthrough(service.get())) {
                    return UpstreamParts.ORIGINAL_DESTINATION;
                }
                return findUpstreamFromService(address.getPort(), mode, service.get());
            }
            return state.workloadByAddress(network, address.getAddress())
                    .map(w -> new UpstreamParts(w, address.getPort(), null, false))
                    .orElse(null);
        }

        private UpstreamParts findUpstreamFromService(int servicePort, ResolutionMode mode, Service service) {
            Endpoint endpoint = loadBalance(service, servicePort, mode);
            if (endpoint == null) {
                return null;
            }
            Workload workload = endpoint.workload();
            int serviceTargetPort = service.ports().getOrDefault(servicePort, 0);
            int targetPort;
            if (endpoint.ports().containsKey(servicePort)) {
                targetPort = endpoint.ports().get(servicePort); // the endpoint's mapping wins
            } else if (serviceTargetPort > 0) {
                targetPort = serviceTargetPort;
            } else if (workload.applicationTunnel().isPresent() && workload.applicationTunnel().get().port().isPresent()) {
                targetPort = servicePort; // the tunnel's owner resolves the port itself
            } else {
                return null;
            }
            return new UpstreamParts(workload, targetPort, service, false);
        }

        private Endpoint loadBalance(Service service, int servicePort, ResolutionMode mode) {
            Integer targetPort = service.ports().get(servicePort);
            if (mode == ResolutionMode.STANDARD && targetPort == null) {
                return null; // the service does not have this port at all
            }
            List<Endpoint> eligible = new ArrayList<>();
            for (Endpoint endpoint : state.endpoints(service)) {
                Workload w = endpoint.workload();
                if (!service.acceptsEndpointWith(w.status())) {
                    continue;
                }
                boolean inNetwork = w.network().equals(source.network());
                boolean hasAddress = !w.workloadIps().isEmpty() || !w.hostname().isEmpty();
                // Without an address a workload is only reachable through its network gateway, and a
                // gateway is never used inside its own network.
                if (!hasAddress && (inNetwork || w.networkGateway().isEmpty())) {
                    continue;
                }
                if (mode == ResolutionMode.STANDARD) {
                    if ((targetPort == null || targetPort == 0) && !endpoint.ports().containsKey(servicePort)) {
                        continue;
                    }
                } else if (targetPort == null && w.applicationTunnel().isEmpty()) {
                    continue;
                }
                eligible.add(endpoint);
            }
            if (!deprioritized.isEmpty()) {
                List<Endpoint> preferred = new ArrayList<>();
                for (Endpoint e : eligible) {
                    if (!deprioritized.contains(e.workload().uid())) {
                        preferred.add(e);
                    }
                }
                if (!preferred.isEmpty()) {
                    eligible = preferred;
                }
            }
            Optional<LoadBalancer> lb = service.loadBalancer();
            if (lb.isPresent() && lb.get().mode() != LoadBalancer.Mode.STANDARD) {
                eligible = bestRanked(eligible, lb.get());
            }
            if (eligible.isEmpty()) {
                return null;
            }
            long[] weights = new long[eligible.size()];
            for (int i = 0; i < weights.length; i++) {
                weights[i] = eligible.get(i).workload().capacity();
            }
            int chosen = picker.pick(weights);
            return chosen < 0 ? null : eligible.get(chosen);
        }

        // Rank = how many leading routing preferences the endpoint shares with the source; keep the best.
        private List<Endpoint> bestRanked(List<Endpoint> endpoints, LoadBalancer lb) {
            List<Endpoint> best = new ArrayList<>();
            int bestRank = -1;
            for (Endpoint endpoint : endpoints) {
                int rank = 0;
                for (LoadBalancer.Scope scope : lb.routingPreferences()) {
                    if (!sameScope(scope, endpoint.workload())) {
                        break;
                    }
                    rank++;
                }
                if (lb.mode() == LoadBalancer.Mode.STRICT && rank != lb.routingPreferences().size()) {
                    continue;
                }
                if (rank > bestRank) {
                    best.clear();
                    bestRank = rank;
                }
                if (rank == bestRank) {
                    best.add(endpoint);
                }
            }
            return best;
        }

        private boolean sameScope(LoadBalancer.Scope scope, Workload w) {
            switch (scope) {
                case REGION:
                    return source.locality().region().equals(w.locality().region());
                case ZONE:
                    return source.locality().zone().equals(w.locality().zone());
                case SUBZONE:
                    return source.locality().subzone().equals(w.locality().subzone());
                case NODE:
                    return source.node().equals(w.node());
                case CLUSTER:
                    return source.clusterId().equals(w.clusterId());
                case NETWORK:
                    return source.network().equals(w.network());
                default:
                    throw new AssertionError(scope);
            }
        }

        private Upstream finish(InetSocketAddress dialled, UpstreamParts parts) throws NoRoute {
            Optional<IpFamily> family = parts.service() == null ? Optional.empty() : parts.service().ipFamilies();
            InetAddress ip = pickWorkloadIp(parts.workload(), dialled, family);
            return new Upstream(parts.workload(), ip, parts.port(), parts.service());
        }

        // The IP dialled if the workload has it; otherwise one allowed by the service's families, preferring
        // the family dialled. No IP is fine when a network gateway leads to the workload.
        private InetAddress pickWorkloadIp(Workload workload, InetSocketAddress dialled, Optional<IpFamily> family)
                throws NoRoute {
            InetAddress dialledIp = dialled.getAddress();
            if (workload.workloadIps().contains(dialledIp)) {
                return dialledIp;
            }
            InetAddress first = null;
            for (InetAddress ip : workload.workloadIps()) {
                if (family.isPresent() && !family.get().accepts(ip)) {
                    continue;
                }
                if (IpAddresses.isIpv6(ip) == IpAddresses.isIpv6(dialledIp)) {
                    return ip;
                }
                if (first == null) {
                    first = ip;
                }
            }
            if (first != null) {
                return first;
            }
            if (workload.hostname().isEmpty()) {
                if (workload.networkGateway().isEmpty()) {
                    throw new NoRoute(RefusalReason.NO_VALID_DESTINATION, "workload " + workload.uid()
                            + " has no suitable workload IP");
                }
                return null;
            }
            throw new NoRoute(RefusalReason.NO_VALID_DESTINATION, "workload " + workload.uid()
                    + " has only a hostname (" + workload.hostname() + "); DNS resolution is not supported yet");
        }

        // The "waypoint sandwich": the source is the destination's own waypoint (same identity, same IP),
        // so going to the waypoint again would loop.
        private boolean isFromWaypoint(Workload destination) {
            Optional<GatewayAddress> waypoint = destination.waypoint();
            if (waypoint.isEmpty()) {
                return false;
            }
            WorkloadIdentity sourceIdentity = source.identity();
            Optional<AddressOwner> owner = state.findDestination(waypoint.get().destination());
            if (owner.isEmpty()) {
                return false;
            }
            if (owner.get() instanceof Workload) {
                return isWaypointWorkload((Workload) owner.get(), sourceIdentity);
            }
            for (Endpoint endpoint : state.endpoints((Service) owner.get())) {
                if (isWaypointWorkload(endpoint.workload(), sourceIdentity)) {
                    return true;
                }
            }
            return false;
        }

        private boolean isWaypointWorkload(Workload candidate, WorkloadIdentity sourceIdentity) {
            return candidate.identity().equals(sourceIdentity) && candidate.workloadIps().contains(sourceIp);
        }
    }

    private static boolean isPassthrough(Service service) {
        return service.loadBalancer().map(lb -> lb.mode() == LoadBalancer.Mode.PASSTHROUGH).orElse(false);
    }

    private static NoRoute noValidDestination(Workload workload) {
        return new NoRoute(RefusalReason.NO_VALID_DESTINATION, "workload " + workload.uid() + " has no usable address");
    }
}
