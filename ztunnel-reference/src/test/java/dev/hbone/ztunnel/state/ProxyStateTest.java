package dev.hbone.ztunnel.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProxyStateTest {

    private static final NamespacedHostname SVC = NamespacedHostname.of("ns", "svc.example");

    private static InetAddress ip(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static Workload.Builder workload(String uid, String... ips) {
        Workload.Builder b = Workload.builder().uid(uid).name(uid).namespace("ns");
        for (String i : ips) {
            b.addWorkloadIp(ip(i));
        }
        return b;
    }

    private static Service service(NamespacedHostname name, String... vips) {
        Service.Builder b = Service.builder().name("svc").namespace(name.namespace()).hostname(name.hostname())
                .port(80, 8080);
        for (String v : vips) {
            b.addVip(NetworkAddress.parse(v));
        }
        return b.build();
    }

    @Test
    void indexesWorkloadsByUidAddressAndNode() {
        Workload a = workload("a", "10.0.0.1", "fd00::1").node("n1").build();
        Workload b = workload("b", "10.0.0.2").node("n2").network("net2").build();
        Workload c = workload("c", "10.0.0.3").node("n1").build();
        ProxyState state = ProxyState.of(List.of(a, b, c), List.of());
        assertThat(state.workloads()).containsExactly(a, b, c);
        assertThat(state.workloadByUid("b")).contains(b);
        assertThat(state.workloadByUid("zz")).isEmpty();
        assertThat(state.workloadByAddress("", ip("10.0.0.1"))).contains(a);
        assertThat(state.workloadByAddress("", ip("fd00::1"))).contains(a);
        assertThat(state.workloadByAddress(NetworkAddress.parse("net2/10.0.0.2"))).contains(b);
        assertThat(state.workloadByAddress("", ip("10.0.0.2"))).isEmpty();
        assertThat(state.workloadsOnNode("n1")).containsExactly(a, c);
        assertThat(state.workloadsOnNode("n3")).isEmpty();
    }

    @Test
    void hostNetworkWorkloadsAreNotIndexedByAddress() {
        Workload host = workload("h", "10.0.0.9").networkMode(NetworkMode.HOST_NETWORK).node("n1").build();
        ProxyState state = ProxyState.of(List.of(host), List.of());
        assertThat(state.workloadByAddress("", ip("10.0.0.9"))).isEmpty();
        assertThat(state.workloadByUid("h")).contains(host);
        assertThat(state.workloadsOnNode("n1")).containsExactly(host);
    }

    @Test
    void sharedAddressPrefersPodsThenHbone() {
        Workload entry = workload("cluster1/networking.istio.io/ServiceEntry/ns/se", "10.0.0.5")
                .protocol(InboundProtocol.HBONE).build();
        Workload tcpPod = workload("Kubernetes//Pod/ns/tcp", "10.0.0.5").build();
        Workload hbonePod = workload("Kubernetes//Pod/ns/hbone", "10.0.0.5").protocol(InboundProtocol.HBONE).build();
        Workload plain = workload("plain", "10.0.0.5").build();
        assertThat(ProxyState.of(List.of(plain, entry), List.of()).workloadByAddress("", ip("10.0.0.5"))).contains(entry);
        assertThat(ProxyState.of(List.of(entry, tcpPod), List.of()).workloadByAddress("", ip("10.0.0.5"))).contains(tcpPod);
        assertThat(ProxyState.of(List.of(tcpPod, hbonePod, entry), List.of()).workloadByAddress("", ip("10.0.0.5")))
                .contains(hbonePod);
        Workload plain2 = workload("plain2", "10.0.0.5").build();
        assertThat(ProxyState.of(List.of(plain, plain2), List.of()).workloadByAddress("", ip("10.0.0.5"))).contains(plain);
    }

    @Test
    void laterDuplicatesReplaceEarlierOnes() {
        Workload first = workload("a", "10.0.0.1").build();
        Workload second = workload("a", "10.0.0.2").build();
        ProxyState state = ProxyState.of(List.of(first, second), List.of(service(SVC, "/10.96.0.1"), service(SVC, "/10.96.0.2")));
        assertThat(state.workloads()).containsExactly(second);
        assertThat(state.workloadByAddress("", ip("10.0.0.1"))).isEmpty();
        assertThat(state.services()).hasSize(1);
        assertThat(state.serviceByVip(NetworkAddress.parse("/10.96.0.1"))).isEmpty();
        assertThat(state.serviceByVip(NetworkAddress.parse("/10.96.0.2"))).isPresent();
    }

    @Test
    void indexesServicesByVipAndHostname() {
        Service mine = service(SVC, "/10.96.0.1", "net2/10.96.0.1");
        Service other = service(NamespacedHostname.of("other", "svc.example"), "/10.96.0.2");
        ProxyState state = ProxyState.of(List.of(), List.of(mine, other));
        assertThat(state.serviceByVip(NetworkAddress.parse("/10.96.0.1"))).contains(mine);
        assertThat(state.serviceByVip(NetworkAddress.parse("net2/10.96.0.1"))).contains(mine);
        assertThat(state.serviceByVip(NetworkAddress.parse("/10.96.0.3"))).isEmpty();
        assertThat(state.serviceByNamespacedHostname(SVC)).contains(mine);
        assertThat(state.servicesByHostname("svc.example")).containsExactly(mine, other);
        assertThat(state.servicesByHostname("none.example")).isEmpty();
    }

    @Test
    void endpointsJoinWorkloadsToTheServicesTheyName() {
        Workload a = workload("a", "10.0.0.1").addService(SVC, Map.of(80, 8080)).build();
        Workload b = workload("b", "10.0.0.2").addService(SVC, Map.of()).status(HealthStatus.UNHEALTHY).build();
        Workload c = workload("c", "10.0.0.3").addService(NamespacedHostname.of("ns", "unknown.example"), Map.of()).build();
        Service svc = service(SVC, "/10.96.0.1");
        ProxyState state = ProxyState.of(List.of(a, b, c), List.of(svc));
        assertThat(state.endpoints(svc)).containsExactly(new Endpoint(SVC, a, Map.of(80, 8080)),
                new Endpoint(SVC, b, Map.of()));
        assertThat(state.hasEndpoint(svc, a)).isTrue();
        assertThat(state.hasEndpoint(svc, c)).isFalse();
        // Endpoints of a service not (yet) defined are kept, as ztunnel stages them.
        assertThat(state.endpoints(NamespacedHostname.of("ns", "unknown.example"))).hasSize(1);
        assertThat(state.servicesOf(a)).containsExactly(svc);
        assertThat(state.servicesOf(c)).isEmpty();
    }

    @Test
    void findAddressPrefersWorkloadsAndFindHostnamePrefersServices() {
        Workload w = workload("w", "10.0.0.1").hostname("svc.example").build();
        Service svc = service(SVC, "/10.0.0.1", "/10.96.0.1");
        ProxyState state = ProxyState.of(List.of(w), List.of(svc));
        assertThat(state.findAddress(NetworkAddress.parse("/10.0.0.1"))).contains(w);
        assertThat(state.findAddress(NetworkAddress.parse("/10.96.0.1"))).contains(svc);
        assertThat(state.findAddress(NetworkAddress.parse("/10.0.0.9"))).isEmpty();
        assertThat(state.findHostname(SVC)).contains(svc);
        ProxyState noService = ProxyState.of(List.of(w), List.of());
        assertThat(noService.findHostname(SVC)).contains(w);
        assertThat(noService.findHostname(NamespacedHostname.of("other", "svc.example"))).isEmpty();
        assertThat(state.findDestination(GatewayDestination.parse("/10.96.0.1"))).contains(svc);
        assertThat(state.findDestination(GatewayDestination.parse("ns/svc.example"))).contains(svc);
    }

    @Test
    void snapshotsAreImmutable() {
        Workload a = workload("a", "10.0.0.1").build();
        ProxyState state = ProxyState.of(List.of(a), List.of());
        assertThatThrownBy(() -> state.workloads().add(a)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> state.workloadsOnNode("").clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> a.workloadIps().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> a.services().clear()).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void holderSwapsWholeSnapshots() {
        ProxyStateHolder holder = new ProxyStateHolder();
        assertThat(holder.current()).isSameAs(ProxyState.empty());
        ProxyState next = ProxyState.of(List.of(workload("a", "10.0.0.1").build()), List.of());
        assertThat(holder.replace(next)).isSameAs(ProxyState.empty());
        assertThat(holder.current()).isSameAs(next);
    }

    @Test
    void identityAndAddressValueTypes() {
        assertThat(workload("a").serviceAccount("sa").trustDomain("td").build().identity().toSpiffeUri())
                .isEqualTo("spiffe://td/ns/ns/sa/sa");
        assertThat(WorkloadIdentity.parse("spiffe://td/ns/a/sa/b")).contains(new WorkloadIdentity("td", "a", "b"));
        assertThat(new WorkloadIdentity("td", "a", "b").toSpiffeId().toString()).isEqualTo("spiffe://td/ns/a/sa/b");
        for (String bad : List.of("spiffe://td/ns/a", "spiffe://td/ns//sa/b", "http://td/ns/a/sa/b",
                "spiffe://td/ns/a/sa/b/c", "spiffe://td/sa/a/ns/b", "spiffe://TD/ns/a/sa/b", "spiffe://td/ns/a b/sa/c")) {
            assertThat(WorkloadIdentity.parse(bad)).as(bad).isEmpty();
        }
        assertThat(NetworkAddress.parse("/10.0.0.1")).hasToString("/10.0.0.1");
        assertThat(NetworkAddress.parse("net/fd00::1").network()).isEqualTo("net");
        assertThat(GatewayDestination.parse("net/10.0.0.1")).isInstanceOf(NetworkAddress.class);
        assertThat(GatewayDestination.parse("ns/host.example")).isEqualTo(NamespacedHostname.of("ns", "host.example"));
        assertThatThrownBy(() -> NetworkAddress.parse("10.0.0.1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NamespacedHostname.parse("/h")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GatewayDestination.parse("nothing")).isInstanceOf(IllegalArgumentException.class);
        assertThat(IpFamily.IPV4.accepts(ip("10.0.0.1"))).isTrue();
        assertThat(IpFamily.IPV4.accepts(ip("fd00::1"))).isFalse();
        assertThat(IpFamily.DUAL.accepts(ip("fd00::1"))).isTrue();
    }
}
