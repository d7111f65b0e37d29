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
import static dev.hbone.ztunnel.route.Mesh.uris;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.ztunnel.route.OutboundRoute.DirectHbone;
import dev.hbone.ztunnel.route.OutboundRoute.DirectTcp;
import dev.hbone.ztunnel.route.OutboundRoute.Passthrough;
import dev.hbone.ztunnel.route.OutboundRoute.RefusalReason;
import dev.hbone.ztunnel.route.OutboundRoute.Refused;
import dev.hbone.ztunnel.route.OutboundRoute.ViaNetworkGateway;
import dev.hbone.ztunnel.route.OutboundRoute.ViaWaypoint;
import dev.hbone.ztunnel.route.OutboundRoute.WaypointKind;
import dev.hbone.ztunnel.state.ApplicationTunnel;
import dev.hbone.ztunnel.state.HealthStatus;
import dev.hbone.ztunnel.state.InboundProtocol;
import dev.hbone.ztunnel.state.IpFamily;
import dev.hbone.ztunnel.state.LoadBalancer;
import dev.hbone.ztunnel.state.Locality;
import dev.hbone.ztunnel.state.NamespacedHostname;
import dev.hbone.ztunnel.state.NetworkMode;
import dev.hbone.ztunnel.state.ProxyState;
import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OutboundRouterTest {

    private static final Workload SOURCE = pod("source", "10.0.0.1").build();
    private static final Workload SERVER = pod("server", "10.0.1.1").addService(SERVER_SVC, ports(80, 8080)).build();
    private static final Service SERVER_SERVICE = service(SERVER_SVC, "/10.96.0.1").port(80, 8080)
            .addSubjectAltName(spiffe("server-extra")).build();
    private static final Workload WAYPOINT = pod("waypoint", "10.0.2.1").addService(WAYPOINT_SVC, ports(15008, 15008))
            .build();
    private static final Service WAYPOINT_SERVICE = service(WAYPOINT_SVC, "/10.96.0.99").port(15008, 15008).build();

    private static final EndpointPicker FIRST = weights -> 0;

    private final OutboundRouter router = new OutboundRouter(ProxySettings.defaults(), FIRST);

    private OutboundRoute route(ProxyState state, InetSocketAddress target) {
        return router.route(state, SOURCE, SOURCE.workloadIps().get(0), target);
    }

    private static Mesh mesh() {
        return new Mesh().add(SOURCE);
    }

    // ------------------------------------------------------------------ workloads dialled directly

    @Test
    void hboneWorkloadByIp() {
        ProxyState state = mesh().add(SERVER).add(SERVER_SERVICE).state();
        OutboundRoute route = route(state, addr("10.0.1.1", 8080));
        assertThat(route).isInstanceOf(DirectHbone.class);
        DirectHbone hbone = (DirectHbone) route;
        assertThat(hbone.nextHop()).isEqualTo(addr("10.0.1.1", 15008));
        assertThat(hbone.authority()).hasToString("10.0.1.1:8080");
        assertThat(uris(hbone.expectedIdentities())).containsExactly(spiffe("server"));
        assertThat(hbone.sourceIdentity().toSpiffeUri()).isEqualTo(spiffe("source"));
        assertThat(hbone.destinationWorkload()).isEqualTo(SERVER);
        assertThat(hbone.destinationService()).isEmpty();
        assertThat(hbone.source()).isEqualTo(SOURCE);
        assertThat(hbone.originalDestination()).isEqualTo(addr("10.0.1.1", 8080));
    }

    @Test
    void hboneWorkloadOverIpv6UsesBrackets() {
        ProxyState state = mesh().add(pod("v6", "fd00::7").build()).state();
        DirectHbone route = (DirectHbone) route(state, addr("fd00::7", 80));
        assertThat(route.authority()).hasToString("[fd00:0:0:0:0:0:0:7]:80");
        assertThat(route.nextHop()).isEqualTo(addr("fd00::7", 15008));
    }

    @Test
    void tcpWorkloadGetsPlainTcp() {
        Workload tcp = pod("legacy", "10.0.1.2").protocol(InboundProtocol.TCP).build();
        OutboundRoute route = route(mesh().add(tcp).state(), addr("10.0.1.2", 9000));
        assertThat(route).isEqualTo(new DirectTcp(SOURCE, addr("10.0.1.2", 9000), addr("10.0.1.2", 9000), tcp,
                java.util.Optional.empty()));
    }

    @Test
    void unknownDestinationPassesThrough() {
        OutboundRoute route = route(mesh().add(SERVER).state(), addr("93.184.216.34", 443));
        assertThat(route).isEqualTo(new Passthrough(SOURCE, addr("93.184.216.34", 443)));
    }

    @Test
    void hostNetworkWorkloadIsNotFoundByIp() {
        Workload host = pod("host", "10.0.1.9").networkMode(NetworkMode.HOST_NETWORK).build();
        assertThat(route(mesh().add(host).state(), addr("10.0.1.9", 80))).isInstanceOf(Passthrough.class);
    }

    @Test
    void workloadInAnotherNetworkIsNotFoundByIp() {
        Workload remote = pod("remote", "10.0.1.1").network("remote").build();
        assertThat(route(mesh().add(remote).state(), addr("10.0.1.1", 80))).isInstanceOf(Passthrough.class);
    }

    @ParameterizedTest
    @ValueSource(ints = {15001, 15006, 15008})
    void refusesTheProxysOwnPortsOnLoopback(int port) {
        Refused refused = (Refused) route(mesh().state(), addr("127.0.0.1", port));
        assertThat(refused.reason()).isEqualTo(RefusalReason.SELF_CALL);
        assertThat(((Refused) route(mesh().state(), addr("::1", port))).reason()).isEqualTo(RefusalReason.SELF_CALL);
    }

    @Test
    void ownPortsElsewhereAreNotSelfCalls() {
        assertThat(route(mesh().state(), addr("10.9.9.9", 15008))).isInstanceOf(Passthrough.class);
        assertThat(route(mesh().state(), addr("127.0.0.1", 15020))).isInstanceOf(Passthrough.class);
        OutboundRouter socks = new OutboundRouter(ProxySettings.defaults().withIllegalPorts(
                java.util.Set.of(15001, 15006, 15008, 15080)), FIRST);
        assertThat(((Refused) socks.route(mesh().state(), SOURCE, ip("10.0.0.1"), addr("127.0.0.1", 15080))).reason())
                .isEqualTo(RefusalReason.SELF_CALL);
    }

    @Test
    void workloadWithOnlyAHostnameIsNotSupportedYet() {
        Workload dns = pod("dns").hostname("db.example.com").addService(SERVER_SVC, ports(80, 5432)).build();
        Refused refused = (Refused) route(mesh().add(dns).add(SERVER_SERVICE).state(), addr("10.96.0.1", 80));
        assertThat(refused.reason()).isEqualTo(RefusalReason.NO_VALID_DESTINATION);
        assertThat(refused.message()).contains("DNS resolution is not supported yet");
    }

    // ------------------------------------------------------------------ services

    @Test
    void serviceVipLoadBalancesToAnEndpointWithPortMapping() {
        ProxyState state = mesh().add(SERVER).add(SERVER_SERVICE).state();
        DirectHbone route = (DirectHbone) route(state, addr("10.96.0.1", 80));
        assertThat(route.nextHop()).isEqualTo(addr("10.0.1.1", 15008));
        assertThat(route.authority()).hasToString("10.0.1.1:8080");
        // ztunnel expects the service's subjectAltNames or the endpoint's own identity.
        assertThat(uris(route.expectedIdentities())).containsExactly(spiffe("server-extra"), spiffe("server"));
        assertThat(route.destinationService()).contains(SERVER_SERVICE);
        assertThat(route.destinationWorkload()).isEqualTo(SERVER);
    }

    @Test
    void serviceVipToTcpEndpoint() {
        Workload tcp = pod("legacy", "10.0.1.2").protocol(InboundProtocol.TCP).addService(SERVER_SVC, ports(80, 8080))
                .build();
        DirectTcp route = (DirectTcp) route(mesh().add(tcp).add(SERVER_SERVICE).state(), addr("10.96.0.1", 80));
        assertThat(route.nextHop()).isEqualTo(addr("10.0.1.2", 8080));
        assertThat(route.destinationService()).contains(SERVER_SERVICE);
    }

    @Test
    void endpointPortMappingWinsOverTheServices() {
        Workload server = pod("server", "10.0.1.1").addService(SERVER_SVC, ports(80, 9090)).build();
        DirectHbone route = (DirectHbone) route(mesh().add(server).add(SERVER_SERVICE).state(), addr("10.96.0.1", 80));
        assertThat(route.authority()).hasToString("10.0.1.1:9090");
    }

    @Test
    void serviceTargetPortIsUsedWhenTheEndpointHasNoMapping() {
        Workload server = pod("server", "10.0.1.1").addService(SERVER_SVC, java.util.Map.of()).build();
        DirectHbone route = (DirectHbone) route(mesh().add(server).add(SERVER_SERVICE).state(), addr("10.96.0.1", 80));
        assertThat(route.authority()).hasToString("10.0.1.1:8080");
    }

    @Test
    void namedServicePortNeedsTheEndpointsMapping() {
        Service named = service(SERVER_SVC, "/10.96.0.1").port(80, 0).build();
        Workload mapped = pod("mapped", "10.0.1.1").addService(SERVER_SVC, ports(80, 7070)).build();
        Workload unmapped = pod("unmapped", "10.0.1.2").addService(SERVER_SVC, java.util.Map.of()).build();
        DirectHbone route = (DirectHbone) route(mesh().add(unmapped).add(mapped).add(named).state(),
                addr("10.96.0.1", 80));
        assertThat(route.authority()).hasToString("10.0.1.1:7070");
        Refused refused = (Refused) route(mesh().add(unmapped).add(named).state(), addr("10.96.0.1", 80));
        assertThat(refused.reason()).isEqualTo(RefusalReason.NO_HEALTHY_UPSTREAM);
    }

    @Test
    void portNotOnTheServiceHasNoUpstream() {
        Refused refused = (Refused) route(mesh().add(SERVER).add(SERVER_SERVICE).state(), addr("10.96.0.1", 81));
        assertThat(refused.reason()).isEqualTo(RefusalReason.NO_HEALTHY_UPSTREAM);
        assertThat(refused.message()).isEqualTo("service ns/server.ns.svc.cluster.local has no healthy endpoint for port 81");
    }

    @Test
    void serviceWithoutEndpointsHasNoUpstream() {
        Refused refused = (Refused) route(mesh().add(SERVER_SERVICE).state(), addr("10.96.0.1", 80));
        assertThat(refused.reason()).isEqualTo(RefusalReason.NO_HEALTHY_UPSTREAM);
    }

    @Test
    void unhealthyEndpointsAreSkippedUnlessTheServiceAllowsAll() {
        Workload sick = pod("sick", "10.0.1.3").status(HealthStatus.UNHEALTHY).addService(SERVER_SVC, ports(80, 8080))
                .build();
        assertThat(((Refused) route(mesh().add(sick).add(SERVER_SERVICE).state(), addr("10.96.0.1", 80))).reason())
                .isEqualTo(RefusalReason.NO_HEALTHY_UPSTREAM);
        Service allowAll = service(SERVER_SVC, "/10.96.0.1").port(80, 8080).loadBalancer(new LoadBalancer(List.of(),
                LoadBalancer.Mode.STANDARD, LoadBalancer.HealthPolicy.ALLOW_ALL)).build();
        DirectHbone route = (DirectHbone) route(mesh().add(sick).add(allowAll).state(), addr("10.96.0.1", 80));
        assertThat(route.destinationWorkload()).isEqualTo(sick);
        // A healthy endpoint is still preferred over nothing: the unhealthy one is just not excluded.
        Workload healthy = pod("healthy", "10.0.1.4").addService(SERVER_SVC, ports(80, 8080)).build();
        assertThat(((DirectHbone) route(mesh().add(sick).add(healthy).add(SERVER_SERVICE).state(),
                addr("10.96.0.1", 80))).destinationWorkload()).isEqualTo(healthy);
    }

    @Test
    void passthroughServiceGoesToTheOriginalDestination() {
        Service passthrough = service(SERVER_SVC, "/10.96.0.1").port(80, 8080).loadBalancer(new LoadBalancer(
                List.of(), LoadBalancer.Mode.PASSTHROUGH, LoadBalancer.HealthPolicy.ONLY_HEALTHY)).build();
        assertThat(route(mesh().add(SERVER).add(passthrough).state(), addr("10.96.0.1", 80)))
                .isEqualTo(new Passthrough(SOURCE, addr("10.96.0.1", 80)));
    }

    @Test
    void picksAmongEndpointsWithTheInjectedPicker() {
        Workload a = pod("a", "10.0.1.1").addService(SERVER_SVC, ports(80, 8080)).build();
        Workload b = pod("b", "10.0.1.2").addService(SERVER_SVC, ports(80, 8080)).capacity(3).build();
        ProxyState state = mesh().add(a).add(b).add(SERVER_SERVICE).state();
        List<long[]> seen = new ArrayList<>();
        OutboundRouter second = new OutboundRouter(ProxySettings.defaults(), weights -> {
            seen.add(weights.clone());
            return 1;
        });
        DirectHbone route = (DirectHbone) second.route(state, SOURCE, ip("10.0.0.1"), addr("10.96.0.1", 80));
        assertThat(route.destinationWorkload()).isEqualTo(b);
        assertThat(seen).containsExactly(new long[] {1, 3}); // the weights are the workloads' capacities
    }

    @Test
    void retriesAvoidDeprioritizedEndpointsWhenTheyCan() {
        Workload a = pod("a", "10.0.1.1").addService(SERVER_SVC, ports(80, 8080)).build();
        Workload b = pod("b", "10.0.1.2").addService(SERVER_SVC, ports(80, 8080)).build();
        ProxyState state = mesh().add(a).add(b).add(SERVER_SERVICE).state();
        DirectHbone retry = (DirectHbone) router.route(state, SOURCE, ip("10.0.0.1"), addr("10.96.0.1", 80),
                java.util.Set.of(a.uid()));
        assertThat(retry.destinationWorkload()).isEqualTo(b);
        DirectHbone onlyBad = (DirectHbone) router.route(state, SOURCE, ip("10.0.0.1"), addr("10.96.0.1", 80),
                java.util.Set.of(a.uid(), b.uid()));
        assertThat(onlyBad.destinationWorkload()).isEqualTo(a); // nothing better: still try
    }

    @Test
    void roundRobinAlternates() {
        Workload a = pod("a", "10.0.1.1").addService(SERVER_SVC, ports(80, 8080)).build();
        Workload b = pod("b", "10.0.1.2").addService(SERVER_SVC, ports(80, 8080)).build();
        ProxyState state = mesh().add(a).add(b).add(SERVER_SERVICE).state();
        OutboundRouter rr = new OutboundRouter(ProxySettings.defaults(), EndpointPicker.roundRobin());
        List<String> picked = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            picked.add(((DirectHbone) rr.route(state, SOURCE, ip("10.0.0.1"), addr("10.96.0.1", 80)))
                    .destinationWorkload().name());
        }
        assertThat(picked).containsExactly("a", "b", "a", "b");
    }

    @Test
    void weightedRandomIsReproducibleWithASeed() {
        Workload a = pod("a", "10.0.1.1").addService(SERVER_SVC, ports(80, 8080)).capacity(0).build();
        Workload b = pod("b", "10.0.1.2").addService(SERVER_SVC, ports(80, 8080)).build();
        ProxyState state = mesh().add(a).add(b).add(SERVER_SERVICE).state();
        OutboundRouter random = new OutboundRouter(ProxySettings.defaults(),
                EndpointPicker.weightedRandom(new SplittableRandom(42)));
        for (int i = 0; i < 20; i++) {
            // capacity 0 is never chosen
            assertThat(((DirectHbone) random.route(state, SOURCE, ip("10.0.0.1"), addr("10.96.0.1", 80)))
                    .destinationWorkload()).isEqualTo(b);
        }
        Workload zero = pod("zero", "10.0.1.3").addService(SERVER_SVC, ports(80, 8080)).capacity(0).build();
        assertThat(((Refused) random.route(mesh().add(zero).add(SERVER_SERVICE).state(), SOURCE, ip("10.0.0.1"),
                addr("10.96.0.1", 80))).reason()).isEqualTo(RefusalReason.NO_HEALTHY_UPSTREAM);
    }

    @Test
    void strictLocalityKeepsOnlyFullMatches() {
        Workload source = pod("source", "10.0.0.1").locality(new Locality("eu", "eu-1", "")).build();
        Workload sameZone = pod("same", "10.0.1.1").locality(new Locality("eu", "eu-1", ""))
                .addService(SERVER_SVC, ports(80, 8080)).build();
        Workload sameRegion = pod("region", "10.0.1.2").locality(new Locality("eu", "eu-2", ""))
                .addService(SERVER_SVC, ports(80, 8080)).build();
        Workload elsewhere = pod("far", "10.0.1.3").locality(new Locality("us", "us-1", ""))
                .addService(SERVER_SVC, ports(80, 8080)).build();
        LoadBalancer strict = new LoadBalancer(List.of(LoadBalancer.Scope.REGION, LoadBalancer.Scope.ZONE),
                LoadBalancer.Mode.STRICT, LoadBalancer.HealthPolicy.ONLY_HEALTHY);
        Service svc = service(SERVER_SVC, "/10.96.0.1").port(80, 8080).loadBalancer(strict).build();
        List<long[]> offered = new ArrayList<>();
        OutboundRouter recording = new OutboundRouter(ProxySettings.defaults(), w -> {
            offered.add(w);
            return 0;
        });
        DirectHbone route = (DirectHbone) recording.route(new Mesh().add(source).add(elsewhere).add(sameRegion)
                .add(sameZone).add(svc).state(), source, ip("10.0.0.1"), addr("10.96.0.1", 80));
        assertThat(route.destinationWorkload()).isEqualTo(sameZone);
        assertThat(offered.get(0)).hasSize(1);
        Refused none = (Refused) recording.route(new Mesh().add(source).add(elsewhere).add(sameRegion).add(svc).state(),
                source, ip("10.0.0.1"), addr("10.96.0.1", 80));
        assertThat(none.reason()).isEqualTo(RefusalReason.NO_HEALTHY_UPSTREAM);
    }

    @Test
    void failoverLocalityPrefersTheBestMatch() {
        Workload source = pod("source", "10.0.0.1").locality(new Locality("eu", "eu-1", "")).build();
        Workload sameRegion = pod("region", "10.0.1.2").locality(new Locality("eu", "eu-2", ""))
                .addService(SERVER_SVC, ports(80, 8080)).build();
        Workload elsewhere = pod("far", "10.0.1.3").locality(new Locality("us", "us-1", ""))
                .addService(SERVER_SVC, ports(80, 8080)).build();
        LoadBalancer failover = new LoadBalancer(List.of(LoadBalancer.Scope.REGION, LoadBalancer.Scope.ZONE),
                LoadBalancer.Mode.FAILOVER, LoadBalancer.HealthPolicy.ONLY_HEALTHY);
        Service svc = service(SERVER_SVC, "/10.96.0.1").port(80, 8080).loadBalancer(failover).build();
        DirectHbone route = (DirectHbone) router.route(new Mesh().add(source).add(elsewhere).add(sameRegion).add(svc)
                .state(), source, ip("10.0.0.1"), addr("10.96.0.1", 80));
        assertThat(route.destinationWorkload()).isEqualTo(sameRegion);
        DirectHbone fallback = (DirectHbone) router.route(new Mesh().add(source).add(elsewhere).add(svc).state(),
                source, ip("10.0.0.1"), addr("10.96.0.1", 80));
        assertThat(fallback.destinationWorkload()).isEqualTo(elsewhere);
    }

    @Test
    void dualStackEndpointKeepsTheDialledFamily() {
        Workload dual = pod("dual", "10.0.1.5", "fd00::5").addService(SERVER_SVC, ports(80, 8080)).build();
        Service svc = service(SERVER_SVC, "/10.96.0.1", "/fd00::96:1").port(80, 8080).build();
        ProxyState state = mesh().add(dual).add(svc).state();
        assertThat(((DirectHbone) route(state, addr("fd00::96:1", 80))).nextHop()).isEqualTo(addr("fd00::5", 15008));
        assertThat(((DirectHbone) route(state, addr("10.96.0.1", 80))).nextHop()).isEqualTo(addr("10.0.1.5", 15008));
        Service v4only = service(SERVER_SVC, "/10.96.0.1", "/fd00::96:1").port(80, 8080).ipFamilies(IpFamily.IPV4)
                .build();
        assertThat(((DirectHbone) route(mesh().add(dual).add(v4only).state(), addr("fd00::96:1", 80))).nextHop())
                .isEqualTo(addr("10.0.1.5", 15008));
    }

    // ------------------------------------------------------------------ waypoints

    @Test
    void serviceWaypointByHostname() {
        Service svc = service(SERVER_SVC, "/10.96.0.1").port(80, 8080).waypoint(gateway(WAYPOINT_SVC.toString(), 15008))
                .build();
        ProxyState state = mesh().add(SERVER).add(svc).add(WAYPOINT).add(WAYPOINT_SERVICE).state();
        OutboundRoute route = route(state, addr("10.96.0.1", 80));
        assertThat(route).isEqualTo(new ViaWaypoint(SOURCE, addr("10.96.0.1", 80), addr("10.0.2.1", 15008),
                HboneAuthority.of(addr("10.96.0.1", 80)), SOURCE.identity(), List.of(WAYPOINT.identity()), WAYPOINT,
                java.util.Optional.of(svc), WaypointKind.SERVICE));
    }

    @Test
    void serviceWaypointByAddress() {
        Service svc = service(SERVER_SVC, "/10.96.0.1").port(80, 8080).waypoint(gateway("/10.0.2.1", 15008)).build();
        ViaWaypoint route = (ViaWaypoint) route(mesh().add(SERVER).add(svc).add(WAYPOINT).state(),
                addr("10.96.0.1", 80));
        assertThat(route.nextHop()).isEqualTo(addr("10.0.2.1", 15008));
        assertThat(route.authority()).hasToString("10.96.0.1:80");
        assertThat(uris(route.expectedIdentities())).containsExactly(spiffe("waypoint"));
    }

    @Test
    void waypointServiceWithoutTheHbonePortNeedsAnApplicationTunnel() {
        Service svc = service(SERVER_SVC, "/10.96.0.1").port(80, 8080).waypoint(gateway(WAYPOINT_SVC.toString(), 15008))
                .build();
        Service portless = service(WAYPOINT_SVC, "/10.96.0.99").build();
        Workload plain = pod("waypoint", "10.0.2.1").addService(WAYPOINT_SVC, java.util.Map.of()).build();
        Refused refused = (Refused) route(mesh().add(SERVER).add(svc).add(plain).add(portless).state(),
                addr("10.96.0.1", 80));
        assertThat(refused.reason()).isEqualTo(RefusalReason.UNKNOWN_WAYPOINT);
        Workload tunnelled = pod("waypoint", "10.0.2.1").addService(WAYPOINT_SVC, java.util.Map.of())
                .applicationTunnel(new ApplicationTunnel(ApplicationTunnel.Protocol.PROXY, OptionalInt.of(15088))).build();
        ViaWaypoint route = (ViaWaypoint) route(mesh().add(SERVER).add(svc).add(tunnelled).add(portless).state(),
                addr("10.96.0.1", 80));
        assertThat(route.nextHop()).isEqualTo(addr("10.0.2.1", 15008));
    }

    @Test
    void waypointServiceSansAreExpectedToo() {
        Service wpSvc = service(WAYPOINT_SVC, "/10.96.0.99").port(15008, 15008).addSubjectAltName(spiffe("wp-alias"))
                .build();
        Service svc = service(SERVER_SVC, "/10.96.0.1").port(80, 8080).waypoint(gateway(WAYPOINT_SVC.toString(), 15008))
                .build();
        ViaWaypoint route = (ViaWaypoint) route(mesh().add(SERVER).add(svc).add(WAYPOINT).add(wpSvc).state(),
                addr("10.96.0.1", 80));
        assertThat(uris(route.expectedIdentities())).containsExactly(spiffe("wp-alias"), spiffe("waypoint"));
    }

    @Test
    void workloadWaypointWhenTheWorkloadIsDialledDirectly() {
        Workload server = pod("server", "10.0.1.1").waypoint(gateway(WAYPOINT_SVC.toString(), 15008))
                .addService(SERVER_SVC, ports(80, 8080)).build();
        ProxyState state = mesh().add(server).add(SERVER_SERVICE).add(WAYPOINT).add(WAYPOINT_SERVICE).state();
        ViaWaypoint route = (ViaWaypoint) route(state, addr("10.0.1.1", 8080));
        assertThat(route.kind()).isEqualTo(WaypointKind.WORKLOAD);
        assertThat(route.authority()).hasToString("10.0.1.1:8080");
        assertThat(route.nextHop()).isEqualTo(addr("10.0.2.1", 15008));
        assertThat(route.waypoint()).isEqualTo(WAYPOINT);
        assertThat(route.destinationService()).isEmpty();
    }

    @Test
    void workloadWaypointIsSkippedForServiceAddressedTraffic() {
        // ztunnel: a service without a waypoint is routed directly even if the endpoint has one.
        Workload server = pod("server", "10.0.1.1").waypoint(gateway(WAYPOINT_SVC.toString(), 15008))
                .addService(SERVER_SVC, ports(80, 8080)).build();
        ProxyState state = mesh().add(server).add(SERVER_SERVICE).add(WAYPOINT).add(WAYPOINT_SERVICE).state();
        assertThat(route(state, addr("10.96.0.1", 80))).isInstanceOf(DirectHbone.class);
    }

    @Test
    void waypointSandwichDoesNotLoop() {
        Workload server = pod("server", "10.0.1.1").waypoint(gateway(WAYPOINT_SVC.toString(), 15008)).build();
        ProxyState state = new Mesh().add(server).add(WAYPOINT).add(WAYPOINT_SERVICE).state();
        OutboundRoute fromWaypoint = router.route(state, WAYPOINT, ip("10.0.2.1"), addr("10.0.1.1", 8080));
        assertThat(fromWaypoint).isInstanceOf(DirectHbone.class);
        // Same identity from another IP is not the waypoint.
        OutboundRoute spoofed = router.route(state, WAYPOINT, ip("10.0.2.77"), addr("10.0.1.1", 8080));
        assertThat(spoofed).isInstanceOf(ViaWaypoint.class);
    }

    @Test
    void unknownWaypointIsRefused() {
        Service svc = service(SERVER_SVC, "/10.96.0.1").port(80, 8080).waypoint(gateway("ns/missing.example", 15008))
                .build();
        Refused refused = (Refused) route(mesh().add(SERVER).add(svc).state(), addr("10.96.0.1", 80));
        assertThat(refused.reason()).isEqualTo(RefusalReason.UNKNOWN_WAYPOINT);
        assertThat(refused.message()).isEqualTo("waypoint ns/missing.example not found");
        Workload server = pod("server", "10.0.1.1").waypoint(gateway("/10.0.2.200", 15008)).build();
        assertThat(((Refused) route(mesh().add(server).state(), addr("10.0.1.1", 80))).reason())
                .isEqualTo(RefusalReason.UNKNOWN_WAYPOINT);
    }

    // ------------------------------------------------------------------ other networks

    private static final Workload EW_GATEWAY = Workload.builder().uid("cluster2//v1/Pod/istio-system/eastwest")
            .name("eastwest").namespace("istio-system").serviceAccount("istio-eastwestgateway").network("remote")
            .addWorkloadIp(ip("192.168.0.1")).protocol(InboundProtocol.HBONE).build();

    @Test
    void serviceEndpointOnAnotherNetworkGoesThroughItsGateway() {
        Workload remote = pod("remote").network("remote").networkGateway(gateway("remote/192.168.0.1", 15008))
                .addService(SERVER_SVC, ports(80, 8080)).build();
        ProxyState state = mesh().add(remote).add(EW_GATEWAY).add(SERVER_SERVICE).state();
        OutboundRoute route = route(state, addr("10.96.0.1", 80));
        assertThat(route).isEqualTo(new ViaNetworkGateway(SOURCE, addr("10.96.0.1", 80), addr("192.168.0.1", 15008),
                new HboneAuthority.HostPort("server.ns.svc.cluster.local", 80), SOURCE.identity(),
                List.of(EW_GATEWAY.identity()), SERVER_SERVICE.subjectAltNameIdentities(), EW_GATEWAY, SERVER_SERVICE,
                ""));
        assertThat(((ViaNetworkGateway) route).authority()).hasToString("server.ns.svc.cluster.local:80");
    }

    @Test
    void withoutSubjectAltNamesTheInnerHandshakeExpectsTheServicesEndpointsOnThatNetwork() {
        Workload remote = pod("remote").network("remote").networkGateway(gateway("remote/192.168.0.1", 15008))
                .addService(SERVER_SVC, ports(80, 8080)).build();
        Workload remote2 = pod("remote2").network("remote").networkGateway(gateway("remote/192.168.0.1", 15008))
                .addService(SERVER_SVC, ports(80, 8080)).build();
        Workload local = pod("local-backend", "10.0.1.9").network("elsewhere").addService(SERVER_SVC, ports(80, 8080))
                .build();
        Service noSans = service(SERVER_SVC, "/10.96.0.1").port(80, 8080).build();
        int viaGateway = 0;
        for (int i = 0; i < 40; i++) { // whichever endpoint is picked, the gateway may meet any on its network
            OutboundRoute route = route(mesh().add(remote).add(remote2).add(local).add(EW_GATEWAY).add(noSans)
                    .state(), addr("10.96.0.1", 80));
            if (route instanceof ViaNetworkGateway g) {
                viaGateway++;
                assertThat(g.destinationIdentities()).containsExactlyInAnyOrder(remote.identity(), remote2.identity());
            }
        }
        assertThat(viaGateway).as("routes through the gateway").isPositive();
    }

    @Test
    void remoteEndpointWithAddressesStillUsesTheGateway() {
        Workload remote = pod("remote", "10.1.0.1").network("remote")
                .networkGateway(gateway("remote/192.168.0.1", 15008)).addService(SERVER_SVC, ports(80, 8080)).build();
        ViaNetworkGateway route = (ViaNetworkGateway) route(mesh().add(remote).add(EW_GATEWAY).add(SERVER_SERVICE)
                .state(), addr("10.96.0.1", 80));
        assertThat(route.nextHop()).isEqualTo(addr("192.168.0.1", 15008));
        assertThat(route.forwardedNetwork()).isEmpty();
    }

    @Test
    void gatewayByHostnameIsLoadBalancedLikeAService() {
        NamespacedHostname gwName = NamespacedHostname.of("istio-system", "eastwest.istio-system.svc.cluster.local");
        Workload gw = EW_GATEWAY.toBuilder().addService(gwName, ports(15008, 15008)).build();
        Service gwSvc = service(gwName, "remote/10.200.0.1").port(15008, 15008).build();
        Workload remote = pod("remote").network("remote").networkGateway(gateway(gwName.toString(), 15008))
                .addService(SERVER_SVC, ports(80, 8080)).build();
        ViaNetworkGateway route = (ViaNetworkGateway) route(mesh().add(remote).add(gw).add(gwSvc).add(SERVER_SERVICE)
                .state(), addr("10.96.0.1", 80));
        assertThat(route.nextHop()).isEqualTo(addr("192.168.0.1", 15008));
        assertThat(route.gateway().uid()).isEqualTo(EW_GATEWAY.uid());
    }

    @Test
    void remoteEndpointWithoutGatewayIsNotUsed() {
        Workload remote = pod("remote", "10.1.0.1").network("remote").addService(SERVER_SVC, ports(80, 8080)).build();
        Refused refused = (Refused) route(mesh().add(remote).add(SERVER_SERVICE).state(), addr("10.96.0.1", 80));
        assertThat(refused.reason()).isEqualTo(RefusalReason.NO_VALID_DESTINATION);
        assertThat(refused.message()).contains("has no network gateway");
        Workload noAddress = pod("remote").network("remote").addService(SERVER_SVC, ports(80, 8080)).build();
        assertThat(((Refused) route(mesh().add(noAddress).add(SERVER_SERVICE).state(), addr("10.96.0.1", 80))).reason())
                .isEqualTo(RefusalReason.NO_HEALTHY_UPSTREAM);
    }

    @Test
    void unknownNetworkGatewayIsRefused() {
        Workload remote = pod("remote").network("remote").networkGateway(gateway("remote/192.168.0.99", 15008))
                .addService(SERVER_SVC, ports(80, 8080)).build();
        Refused refused = (Refused) route(mesh().add(remote).add(SERVER_SERVICE).state(), addr("10.96.0.1", 80));
        assertThat(refused.reason()).isEqualTo(RefusalReason.UNKNOWN_NETWORK_GATEWAY);
    }

    @Test
    void serviceWaypointOnAnotherNetworkGoesThroughTheGateway() {
        Workload remoteWaypoint = pod("waypoint", "10.1.2.1").network("remote")
                .networkGateway(gateway("remote/192.168.0.1", 15008)).addService(WAYPOINT_SVC, ports(15008, 15008))
                .build();
        Service wpSvc = service(WAYPOINT_SVC, "remote/10.97.0.99").port(15008, 15008)
                .addSubjectAltName(spiffe("waypoint")).build();
        Service svc = service(SERVER_SVC, "/10.96.0.1").port(80, 8080).waypoint(gateway(WAYPOINT_SVC.toString(), 15008))
                .build();
        ViaNetworkGateway route = (ViaNetworkGateway) route(mesh().add(remoteWaypoint).add(wpSvc).add(svc)
                .add(EW_GATEWAY).state(), addr("10.96.0.1", 80));
        assertThat(route.authority()).hasToString("server.ns.svc.cluster.local:80");
        assertThat(uris(route.destinationIdentities())).containsExactly(spiffe("waypoint"));
        assertThat(route.destinationService()).isEqualTo(svc);
    }

    @Test
    void findsTheSourceWorkloadOnThisNode() {
        Workload elsewhere = pod("elsewhere", "10.0.0.2").node("node-b").build();
        ProxyState state = mesh().add(elsewhere).state();
        OutboundRouter nodeA = new OutboundRouter(ProxySettings.defaults().withNode("node-a"), FIRST);
        assertThat(nodeA.findSource(state, ip("10.0.0.1"))).contains(SOURCE);
        assertThat(nodeA.findSource(state, ip("10.0.0.2"))).isEmpty();
        assertThat(nodeA.findSource(state, ip("10.0.0.3"))).isEmpty();
        assertThat(router.findSource(state, ip("10.0.0.2"))).contains(elsewhere); // no node set: any node
        OutboundRouter otherNetwork = new OutboundRouter(ProxySettings.defaults().withNetwork("net2"), FIRST);
        assertThat(otherNetwork.findSource(state, ip("10.0.0.1"))).isEmpty();
    }

    @Test
    void sourceInAnotherNetworkSeesItsOwnNetwork() {
        Workload source = pod("source", "10.0.0.1").network("net2").build();
        Workload server = pod("server", "10.0.1.1").network("net2").build();
        DirectHbone route = (DirectHbone) router.route(new Mesh().add(source).add(server).state(), source,
                ip("10.0.0.1"), addr("10.0.1.1", 80));
        assertThat(route.destinationWorkload()).isEqualTo(server);
    }
}
