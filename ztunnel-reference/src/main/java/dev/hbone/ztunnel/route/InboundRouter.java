package dev.hbone.ztunnel.route;

import dev.hbone.ztunnel.internal.IpAddresses;
import dev.hbone.ztunnel.route.InboundDecision.RejectReason;
import dev.hbone.ztunnel.state.AddressOwner;
import dev.hbone.ztunnel.state.ApplicationTunnel;
import dev.hbone.ztunnel.state.Endpoint;
import dev.hbone.ztunnel.state.GatewayAddress;
import dev.hbone.ztunnel.state.NetworkAddress;
import dev.hbone.ztunnel.state.ProxyState;
import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Decides what an inbound HBONE CONNECT reaches (ztunnel's {@code build_inbound_request},
 * {@code validate_destination}, {@code find_inbound_upstream}). Authorization is not decided here: the
 * {@link InboundDecision.Forward} carries what the authorization engine needs. Stateless and thread-safe.
 *
 * <p>In order: not CONNECT → 400; malformed authority → 400; no workload at the connection's destination
 * IP (or one on another node, when the proxy serves one node) → 503; authority IP ≠ connection IP → 400 unless the destination has an application tunnel or this
 * workload is the authority target's waypoint; a hostname authority must name a service with a port
 * mapping → 503; a resolved port that is one of the proxy's own → 503; then an application tunnel may
 * change the port and add a PROXY v2 header; otherwise the upstream is {@code <connection IP>:<port>}.
 */
public final class InboundRouter {

    private final ProxySettings settings;

    /** Creates a router for a proxy with these settings. */
    public InboundRouter(ProxySettings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    /**
     * Decides one request.
     *
     * @param state the snapshot to decide with
     * @param request the request
     * @return the decision; never null
     */
    public InboundDecision decide(ProxyState state, InboundRequest request) {
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(request, "request");
        if (!"CONNECT".equals(request.method())) {
            return reject(RejectReason.NOT_CONNECT, "method " + request.method() + " is not CONNECT");
        }
        Optional<HboneAuthority> parsed = HboneAuthority.parse(request.authority());
        if (parsed.isEmpty()) {
            return reject(RejectReason.MALFORMED_AUTHORITY, "malformed authority \"" + request.authority() + "\"");
        }
        HboneAuthority authority = parsed.get();
        InetAddress targetIp = request.connectionDestination();
        Optional<Workload> found = state.workloadByAddress(settings.network(), targetIp);
        if (found.isEmpty()) {
            return reject(RejectReason.UNKNOWN_DESTINATION, "no workload at " + targetIp.getHostAddress()
                    + " in network \"" + settings.network() + "\"");
        }
        Workload destination = found.get();
        if (!settings.servesNode(destination.node())) {
            return reject(RejectReason.UNKNOWN_DESTINATION, "workload " + destination.uid() + " runs on node \""
                    + destination.node() + "\", not on this proxy's node \"" + settings.node() + "\"");
        }

        if (authority instanceof HboneAuthority.IpPort) {
            InetAddress authorityIp = ((HboneAuthority.IpPort) authority).ip();
            if (!authorityIp.equals(targetIp) && !mayTargetOtherAddress(state, destination, targetIp, authorityIp)) {
                return reject(RejectReason.IP_MISMATCH, "authority " + authority + " does not match the connection's "
                        + "destination " + targetIp.getHostAddress());
            }
        }

        int port;
        List<Service> services;
        Service hostnameService = null;
        if (authority instanceof HboneAuthority.HostPort) {
            HboneAuthority.HostPort hostPort = (HboneAuthority.HostPort) authority;
            Optional<Service> service = serviceByHostname(state, destination, hostPort.hostname());
            if (service.isEmpty()) {
                return reject(RejectReason.UNKNOWN_SERVICE, "no service with hostname " + hostPort.hostname());
            }
            hostnameService = service.get();
            Integer endpointPort = endpointPort(state, hostnameService, destination, hostPort.port());
            if (endpointPort != null) {
                port = endpointPort;
            } else {
                int serviceTarget = hostnameService.ports().getOrDefault(hostPort.port(), 0);
                if (serviceTarget == 0) {
                    return reject(RejectReason.NO_PORT_FOR_SERVICE, "service " + hostnameService.namespacedHostname()
                            + " has no target port for port " + hostPort.port());
                }
                port = serviceTarget;
            }
            services = List.of(hostnameService);
        } else {
            port = authority.port();
            services = state.servicesOf(destination);
        }

        // Checked on the resolved port: a service port may map onto one of the proxy's own.
        if (settings.illegalPorts().contains(port)) {
            return reject(RejectReason.SELF_CALL, "port " + port + " is one of the proxy's own ports");
        }

        InetSocketAddress upstream = new InetSocketAddress(targetIp, port);
        Optional<InetAddress> upstreamSource = Optional.empty();
        Optional<InboundDecision.ProxyProtocolHeader> proxyHeader = Optional.empty();
        if (destination.applicationTunnel().isPresent()) {
            ApplicationTunnel tunnel = destination.applicationTunnel().get();
            upstream = new InetSocketAddress(targetIp, tunnel.port().orElse(port));
            if (tunnel.protocol() == ApplicationTunnel.Protocol.PROXY) {
                InetSocketAddress tunnelTarget;
                if (authority instanceof HboneAuthority.IpPort) {
                    tunnelTarget = ((HboneAuthority.IpPort) authority).socketAddress();
                } else {
                    Optional<NetworkAddress> vip = preferredVip(hostnameService);
                    if (vip.isEmpty()) {
                        return reject(RejectReason.NO_IP_FOR_SERVICE, "service " + hostnameService.namespacedHostname()
                                + " has no VIP for the PROXY header");
                    }
                    tunnelTarget = new InetSocketAddress(vip.get().address(), authority.port());
                }
                proxyHeader = Optional.of(new InboundDecision.ProxyProtocolHeader(request.peer(), tunnelTarget,
                        request.peerIdentity()));
            }
        }
        InetSocketAddress authorizedDestination = upstream;
        if (proxyHeader.isPresent() && settings.localhostAppTunnel()) {
            // The tunnel listens on loopback so nothing reaches it around the proxy; the PROXY header keeps
            // the real addresses.
            InetAddress loopback = loopbackLike(upstream.getAddress());
            upstream = new InetSocketAddress(loopback, upstream.getPort());
            upstreamSource = Optional.of(loopback);
        }

        boolean fromGateway = request.forwardedNetwork()
                .map(n -> !n.toLowerCase(Locale.ROOT).equals(settings.network().toLowerCase(Locale.ROOT)))
                .orElse(false);
        return new InboundDecision.Forward(destination, authority, authorizedDestination, upstream, upstreamSource,
                proxyHeader, services, fromGateway);
    }

    // ztunnel's validate_destination: the authority may name another address when the destination reads the
    // target from its own tunnel, or when it is the waypoint of the authority's target.
    private boolean mayTargetOtherAddress(ProxyState state, Workload destination, InetAddress connectionIp,
            InetAddress authorityIp) {
        if (destination.applicationTunnel().isPresent()) {
            return true;
        }
        Optional<AddressOwner> target = state.findAddress(new NetworkAddress(settings.network(), authorityIp));
        if (target.isEmpty()) {
            return false;
        }
        Optional<GatewayAddress> waypoint = target.get() instanceof Service
                ? ((Service) target.get()).waypoint()
                : ((Workload) target.get()).waypoint();
        if (waypoint.isEmpty()) {
            return false;
        }
        Optional<AddressOwner> waypointOwner = state.findDestination(waypoint.get().destination());
        if (waypointOwner.isEmpty()) {
            return false;
        }
        if (waypointOwner.get() instanceof Service) {
            return state.hasEndpoint((Service) waypointOwner.get(), destination);
        }
        return ((Workload) waypointOwner.get()).workloadIps().contains(connectionIp);
    }

    // Several namespaces may define the hostname (ServiceEntry); prefer the destination's own namespace.
    private static Optional<Service> serviceByHostname(ProxyState state, Workload destination, String hostname) {
        List<Service> candidates = state.servicesByHostname(hostname);
        for (Service s : candidates) {
            if (s.namespace().equals(destination.namespace())) {
                return Optional.of(s);
            }
        }
        return candidates.isEmpty() ? Optional.empty() : Optional.of(candidates.get(0));
    }

    private static Integer endpointPort(ProxyState state, Service service, Workload workload, int servicePort) {
        for (Endpoint e : state.endpoints(service)) {
            if (e.workload().uid().equals(workload.uid())) {
                return e.ports().get(servicePort);
            }
        }
        return null;
    }

    // PROXY headers carry IPs, not hostnames: a VIP in this network, IPv4 first.
    private Optional<NetworkAddress> preferredVip(Service service) {
        NetworkAddress best = null;
        int bestRank = -1;
        for (NetworkAddress vip : service.vips()) {
            int rank = !vip.network().equals(settings.network()) ? 0 : IpAddresses.isIpv6(vip.address()) ? 1 : 2;
            if (rank > bestRank) {
                best = vip;
                bestRank = rank;
            }
        }
        return Optional.ofNullable(best);
    }

    private static InetAddress loopbackLike(InetAddress address) {
        try {
            return address instanceof Inet6Address
                    ? InetAddress.getByAddress(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
                    : Inet4Address.getByAddress(new byte[] {127, 0, 0, 1});
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static InboundDecision.Reject reject(RejectReason reason, String message) {
        return new InboundDecision.Reject(reason, message);
    }
}
