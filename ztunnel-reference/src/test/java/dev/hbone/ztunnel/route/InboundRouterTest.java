package dev.hbone.ztunnel.route;

import static dev.hbone.ztunnel.route.Mesh.SERVER_SVC;
import static dev.hbone.ztunnel.route.Mesh.WAYPOINT_SVC;
import static dev.hbone.ztunnel.route.Mesh.addr;
import static dev.hbone.ztunnel.route.Mesh.gateway;
import static dev.hbone.ztunnel.route.Mesh.ip;
import static dev.hbone.ztunnel.route.Mesh.pod;
import static dev.hbone.ztunnel.route.Mesh.ports;
import static dev.hbone.ztunnel.route.Mesh.service;
import static dev.hbone.ztunnel.route.Mesh.spiffe;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.ztunnel.route.InboundDecision.Forward;
import dev.hbone.ztunnel.route.InboundDecision.ProxyProtocolHeader;
import dev.hbone.ztunnel.route.InboundDecision.Reject;
import dev.hbone.ztunnel.route.InboundDecision.RejectReason;
import dev.hbone.ztunnel.state.ApplicationTunnel;
import dev.hbone.ztunnel.state.NamespacedHostname;
import dev.hbone.ztunnel.state.ProxyState;
import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class InboundRouterTest {

    private static final Workload SERVER = pod("server", "10.0.1.1").addService(SERVER_SVC, ports(80, 8080)).build();
    private static final Service SERVER_SERVICE = service(SERVER_SVC, "/10.96.0.1").port(80, 8080).build();
    private static final InetSocketAddress PEER = addr("10.0.0.1", 40000);
    private static final String PEER_ID = spiffe("client");

    private final InboundRouter router = new InboundRouter(ProxySettings.defaults());

    private static ProxyState state(Workload... workloads) {
        Mesh mesh = new Mesh().add(SERVER_SERVICE);
        for (Workload w : workloads) {
            mesh.add(w);
        }
        return mesh.state();
    }

    private InboundDecision decide(ProxyState state, String authority, String connectionIp) {
        return router.decide(state, InboundRequest.connect(authority, PEER, ip(connectionIp), PEER_ID));
    }

    private static Reject reject(InboundDecision decision) {
        assertThat(decision).isInstanceOf(Reject.class);
        return (Reject) decision;
    }

    private static Forward forward(InboundDecision decision) {
        assertThat(decision).isInstanceOf(Forward.class);
        return (Forward) decision;
    }

    @Test
    void forwardsToTheWorkloadAtTheRequestedPort() {
        Forward f = forward(decide(state(SERVER), "10.0.1.1:8080", "10.0.1.1"));
        assertThat(f.destinationWorkload()).isEqualTo(SERVER);
        assertThat(f.upstream()).isEqualTo(addr("10.0.1.1", 8080));
        assertThat(f.authorizedDestination()).isEqualTo(addr("10.0.1.1", 8080));
        assertThat(f.authority()).isEqualTo(HboneAuthority.of(addr("10.0.1.1", 8080)));
        assertThat(f.upstreamSource()).isEmpty();
        assertThat(f.proxyProtocol()).isEmpty();
        assertThat(f.services()).containsExactly(SERVER_SERVICE);
        assertThat(f.fromNetworkGateway()).isFalse();
    }

    @Test
    void ipv6Authority() {
        Workload v6 = pod("v6", "fd00::1").build();
        Forward f = forward(decide(state(v6), "[fd00::1]:8080", "fd00::1"));
        assertThat(f.upstream()).isEqualTo(addr("fd00::1", 8080));
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET", "POST", "connect", "PRI"})
    void onlyConnectIsServed(String method) {
        InboundRequest request = new InboundRequest(method, "10.0.1.1:8080", PEER, ip("10.0.1.1"), Optional.empty(),
                Optional.empty());
        Reject r = reject(router.decide(state(SERVER), request));
        assertThat(r.reason()).isEqualTo(RejectReason.NOT_CONNECT);
        assertThat(r.status()).isEqualTo(400);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "10.0.1.1", "10.0.1.1:", ":8080", "10.0.1.1:0", "10.0.1.1:65536", "10.0.1.1:80a",
            "10.0.1.1:-1", "::1:80", "[::1:80", "[10.0.1.1]:80", "10.0.1.256:80", "1.2.3:80", "user@host:80",
            "a b:80", "host..example:80", "-host:80", "[fd00::1%eth0]:80", "10.0.1.1:8080/path"})
    void malformedAuthorityIs400(String authority) {
        Reject r = reject(decide(state(SERVER), authority, "10.0.1.1"));
        assertThat(r.reason()).isEqualTo(RejectReason.MALFORMED_AUTHORITY);
        assertThat(r.status()).isEqualTo(400);
    }

    @Test
    void unknownDestinationIs503() {
        Reject r = reject(decide(state(SERVER), "10.0.1.9:8080", "10.0.1.9"));
        assertThat(r.reason()).isEqualTo(RejectReason.UNKNOWN_DESTINATION);
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.message()).isEqualTo("no workload at 10.0.1.9 in network \"\"");
    }

    @Test
    void destinationIsLookedUpInTheProxysNetwork() {
        Workload other = pod("other", "10.0.1.1").network("net2").build();
        assertThat(reject(decide(state(other), "10.0.1.1:80", "10.0.1.1")).reason())
                .isEqualTo(RejectReason.UNKNOWN_DESTINATION);
        InboundRouter net2 = new InboundRouter(ProxySettings.defaults().withNetwork("net2"));
        assertThat(net2.decide(state(other), InboundRequest.connect("10.0.1.1:80", PEER, ip("10.0.1.1"), PEER_ID)))
                .isInstanceOf(Forward.class);
    }

    @Test
    void nodeScopedProxyOnlyServesItsNodesWorkloads() {
        InboundRouter nodeB = new InboundRouter(ProxySettings.defaults().withNode("node-b"));
        Reject r = reject(nodeB.decide(state(SERVER), InboundRequest.connect("10.0.1.1:8080", PEER, ip("10.0.1.1"),
                PEER_ID)));
        assertThat(r.reason()).isEqualTo(RejectReason.UNKNOWN_DESTINATION);
        assertThat(r.message()).isEqualTo("workload cluster1//v1/Pod/ns/server runs on node \"node-a\", not on this "
                + "proxy's node \"node-b\"");
        InboundRouter nodeA = new InboundRouter(ProxySettings.defaults().withNode("node-a"));
        assertThat(nodeA.decide(state(SERVER), InboundRequest.connect("10.0.1.1:8080", PEER, ip("10.0.1.1"), PEER_ID)))
                .isInstanceOf(Forward.class);
    }

    @Test
    void authorityIpMustMatchTheConnection() {
        Workload other = pod("other", "10.0.1.2").build();
        Reject r = reject(decide(state(SERVER, other), "10.0.1.2:8080", "10.0.1.1"));
        assertThat(r.reason()).isEqualTo(RejectReason.IP_MISMATCH);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.message()).isEqualTo("authority 10.0.1.2:8080 does not match the connection's destination 10.0.1.1");
        // Also when the authority's IP is unknown.
        assertThat(reject(decide(state(SERVER), "10.9.9.9:8080", "10.0.1.1")).reason())
                .isEqualTo(RejectReason.IP_MISMATCH);
    }

    @Test
    void waypointMayReceiveTrafficForWhatItServes() {
        Workload waypoint = pod("waypoint", "10.0.2.1").addService(WAYPOINT_SVC, ports(15008, 15008)).build();
        Service waypointService = service(WAYPOINT_SVC, "/10.96.0.99").port(15008, 15008).build();
        Service served = service(SERVER_SVC, "/10.96.0.1").port(80, 8080)
                .waypoint(gateway(WAYPOINT_SVC.toString(), 15008)).build();
        ProxyState state = new Mesh().add(SERVER).add(waypoint).add(waypointService).add(served).state();
        // The service's VIP (its waypoint is a service this workload backs).
        Forward f = forward(decide(state, "10.96.0.1:80", "10.0.2.1"));
        assertThat(f.destinationWorkload()).isEqualTo(waypoint);
        assertThat(f.upstream()).isEqualTo(addr("10.0.2.1", 80)); // the waypoint's own IP, the requested port
        // A workload whose waypoint is named by this workload's address.
        Workload byAddress = pod("server2", "10.0.1.2").waypoint(gateway("/10.0.2.1", 15008)).build();
        ProxyState state2 = new Mesh().add(byAddress).add(waypoint).state();
        assertThat(decide(state2, "10.0.1.2:8080", "10.0.2.1")).isInstanceOf(Forward.class);
        // Not its waypoint: another workload's.
        Workload otherWaypoint = pod("wp2", "10.0.2.2").build();
        Workload served2 = pod("server3", "10.0.1.3").waypoint(gateway("/10.0.2.2", 15008)).build();
        ProxyState state3 = new Mesh().add(served2).add(waypoint).add(otherWaypoint).state();
        assertThat(reject(decide(state3, "10.0.1.3:8080", "10.0.2.1")).reason()).isEqualTo(RejectReason.IP_MISMATCH);
        // A waypoint that cannot be resolved does not authorize anything.
        Workload dangling = pod("server4", "10.0.1.4").waypoint(gateway("ns/gone.example", 15008)).build();
        assertThat(reject(decide(new Mesh().add(dangling).add(waypoint).state(), "10.0.1.4:8080", "10.0.2.1")).reason())
                .isEqualTo(RejectReason.IP_MISMATCH);
    }

    @Test
    void applicationTunnelOwnerMayReceiveAnyTarget() {
        Workload tunnel = pod("waypoint", "10.0.2.1")
                .applicationTunnel(new ApplicationTunnel(ApplicationTunnel.Protocol.NONE, OptionalInt.empty())).build();
        Forward f = forward(decide(state(tunnel), "10.0.1.1:8080", "10.0.2.1"));
        assertThat(f.upstream()).isEqualTo(addr("10.0.2.1", 8080));
        assertThat(f.proxyProtocol()).isEmpty();
    }

    @Test
    void proxyProtocolTunnelOnLoopback() {
        Workload tunnel = pod("waypoint", "10.0.2.1")
                .applicationTunnel(new ApplicationTunnel(ApplicationTunnel.Protocol.PROXY, OptionalInt.of(15088))).build();
        Forward f = forward(decide(state(tunnel), "10.0.1.1:8080", "10.0.2.1"));
        assertThat(f.upstream()).isEqualTo(addr("127.0.0.1", 15088));
        assertThat(f.upstreamSource()).contains(ip("127.0.0.1"));
        assertThat(f.authorizedDestination()).isEqualTo(addr("10.0.2.1", 15088));
        assertThat(f.proxyProtocol()).contains(new ProxyProtocolHeader(PEER, addr("10.0.1.1", 8080), Optional.of(PEER_ID)));
    }

    @Test
    void proxyProtocolTunnelWithoutLoopback() {
        Workload tunnel = pod("waypoint", "10.0.2.1")
                .applicationTunnel(new ApplicationTunnel(ApplicationTunnel.Protocol.PROXY, OptionalInt.empty())).build();
        InboundRouter direct = new InboundRouter(ProxySettings.defaults().withLocalhostAppTunnel(false));
        Forward f = forward(direct.decide(state(tunnel), InboundRequest.connect("10.0.1.1:8080", PEER, ip("10.0.2.1"),
                null)));
        assertThat(f.upstream()).isEqualTo(addr("10.0.2.1", 8080));
        assertThat(f.upstreamSource()).isEmpty();
        assertThat(f.proxyProtocol()).contains(new ProxyProtocolHeader(PEER, addr("10.0.1.1", 8080), Optional.empty()));
    }

    @Test
    void proxyProtocolTunnelOverIpv6UsesIpv6Loopback() {
        Workload tunnel = pod("waypoint", "fd00::2")
                .applicationTunnel(new ApplicationTunnel(ApplicationTunnel.Protocol.PROXY, OptionalInt.of(15088))).build();
        Forward f = forward(decide(state(tunnel), "[fd00::9]:80", "fd00::2"));
        assertThat(f.upstream()).isEqualTo(addr("::1", 15088));
    }

    @Test
    void hostnameAuthorityResolvesTheServicePort() {
        Forward f = forward(decide(state(SERVER), "server.ns.svc.cluster.local:80", "10.0.1.1"));
        assertThat(f.upstream()).isEqualTo(addr("10.0.1.1", 8080));
        assertThat(f.authority()).isEqualTo(new HboneAuthority.HostPort("server.ns.svc.cluster.local", 80));
        assertThat(f.services()).containsExactly(SERVER_SERVICE);
        // The endpoint's own mapping wins over the service's.
        Workload mapped = pod("server", "10.0.1.1").addService(SERVER_SVC, ports(80, 9999)).build();
        assertThat(forward(decide(state(mapped), "server.ns.svc.cluster.local:80", "10.0.1.1")).upstream())
                .isEqualTo(addr("10.0.1.1", 9999));
    }

    @Test
    void hostnameAuthorityFailures() {
        Reject unknown = reject(decide(state(SERVER), "nothing.example:80", "10.0.1.1"));
        assertThat(unknown.reason()).isEqualTo(RejectReason.UNKNOWN_SERVICE);
        assertThat(unknown.status()).isEqualTo(503);
        Reject noPort = reject(decide(state(SERVER), "server.ns.svc.cluster.local:81", "10.0.1.1"));
        assertThat(noPort.reason()).isEqualTo(RejectReason.NO_PORT_FOR_SERVICE);
        assertThat(noPort.status()).isEqualTo(503);
        Service named = service(SERVER_SVC, "/10.96.0.1").port(80, 0).build();
        Workload unmapped = pod("server", "10.0.1.1").build();
        assertThat(reject(router.decide(new Mesh().add(named).add(unmapped).state(),
                InboundRequest.connect("server.ns.svc.cluster.local:80", PEER, ip("10.0.1.1"), PEER_ID))).reason())
                .isEqualTo(RejectReason.NO_PORT_FOR_SERVICE);
    }

    @Test
    void hostnameInSeveralNamespacesPrefersTheDestinations() {
        Service mine = service(NamespacedHostname.of("ns", "db.example"), "/10.96.0.5").port(5432, 5432).build();
        Service theirs = service(NamespacedHostname.of("other", "db.example"), "/10.96.0.6").port(5432, 6543).build();
        ProxyState state = new Mesh().add(theirs).add(mine).add(SERVER).state();
        assertThat(forward(decide(state, "db.example:5432", "10.0.1.1")).services()).containsExactly(mine);
        ProxyState onlyTheirs = new Mesh().add(theirs).add(SERVER).state();
        assertThat(forward(decide(onlyTheirs, "db.example:5432", "10.0.1.1")).upstream())
                .isEqualTo(addr("10.0.1.1", 6543));
    }

    @Test
    void proxyProtocolWithHostnameAuthorityUsesAVip() {
        NamespacedHostname name = NamespacedHostname.of("ns", "dual.example");
        Service dual = service(name, "/fd00::96:7", "other/10.97.0.7", "/10.96.0.7").port(80, 8080).build();
        Workload tunnel = pod("waypoint", "10.0.2.1").addService(name, Map.of())
                .applicationTunnel(new ApplicationTunnel(ApplicationTunnel.Protocol.PROXY, OptionalInt.of(15088))).build();
        Forward f = forward(router.decide(new Mesh().add(dual).add(tunnel).state(),
                InboundRequest.connect("dual.example:80", PEER, ip("10.0.2.1"), PEER_ID)));
        // Same network first, IPv4 first.
        assertThat(f.proxyProtocol().orElseThrow().destination()).isEqualTo(addr("10.96.0.7", 80));
        Service noVip = service(name).port(80, 8080).build();
        assertThat(reject(router.decide(new Mesh().add(noVip).add(tunnel).state(),
                InboundRequest.connect("dual.example:80", PEER, ip("10.0.2.1"), PEER_ID))).reason())
                .isEqualTo(RejectReason.NO_IP_FOR_SERVICE);
    }

    @ParameterizedTest
    @ValueSource(ints = {15001, 15006, 15008})
    void proxysOwnPortsAre503(int port) {
        Reject r = reject(decide(state(SERVER), "10.0.1.1:" + port, "10.0.1.1"));
        assertThat(r.reason()).isEqualTo(RejectReason.SELF_CALL);
        assertThat(r.status()).isEqualTo(503);
    }

    @Test
    void selfCallIsCheckedOnTheResolvedPort() {
        Service sneaky = service(SERVER_SVC, "/10.96.0.1").port(80, 15006).build();
        assertThat(reject(router.decide(new Mesh().add(sneaky).add(pod("server", "10.0.1.1").build()).state(),
                InboundRequest.connect("server.ns.svc.cluster.local:80", PEER, ip("10.0.1.1"), PEER_ID))).reason())
                .isEqualTo(RejectReason.SELF_CALL);
        // Admin and metrics ports are not in ztunnel's illegal set.
        assertThat(decide(state(SERVER), "10.0.1.1:15020", "10.0.1.1")).isInstanceOf(Forward.class);
    }

    @Test
    void forwardedNetworkMarksGatewayTraffic() {
        InboundRequest crossed = new InboundRequest("CONNECT", "server.ns.svc.cluster.local:80", PEER, ip("10.0.1.1"),
                Optional.of(PEER_ID), Optional.of("west"));
        assertThat(forward(router.decide(state(SERVER), crossed)).fromNetworkGateway()).isTrue();
        InboundRequest local = new InboundRequest("CONNECT", "10.0.1.1:8080", PEER, ip("10.0.1.1"),
                Optional.of(PEER_ID), Optional.of(""));
        assertThat(forward(router.decide(state(SERVER), local)).fromNetworkGateway()).isFalse();
    }

    @Test
    void servicesOfTheDestinationAreListedForTelemetry() {
        NamespacedHostname second = NamespacedHostname.of("ns", "second.example");
        Workload both = pod("server", "10.0.1.1").addService(SERVER_SVC, ports(80, 8080))
                .addService(second, ports(81, 8080)).addService(NamespacedHostname.of("ns", "unknown.example"), Map.of())
                .build();
        Service secondService = service(second, "/10.96.0.2").port(81, 8080).build();
        Forward f = forward(router.decide(new Mesh().add(SERVER_SERVICE).add(secondService).add(both).state(),
                InboundRequest.connect("10.0.1.1:8080", PEER, ip("10.0.1.1"), PEER_ID)));
        assertThat(f.services()).containsExactly(SERVER_SERVICE, secondService);
        assertThat(List.copyOf(f.services())).hasSize(2);
    }
}
