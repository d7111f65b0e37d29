package dev.hbone.ztunnel.route;

import dev.hbone.ztunnel.state.GatewayAddress;
import dev.hbone.ztunnel.state.GatewayDestination;
import dev.hbone.ztunnel.state.InboundProtocol;
import dev.hbone.ztunnel.state.NamespacedHostname;
import dev.hbone.ztunnel.state.NetworkAddress;
import dev.hbone.ztunnel.state.ProxyState;
import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import dev.hbone.ztunnel.state.WorkloadIdentity;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Small builders for routing tests: a mesh is a list of workloads and services. */
final class Mesh {

    static final String NS = "ns";
    static final NamespacedHostname SERVER_SVC = NamespacedHostname.of(NS, "server.ns.svc.cluster.local");
    static final NamespacedHostname WAYPOINT_SVC = NamespacedHostname.of(NS, "waypoint.ns.svc.cluster.local");

    private final List<Workload> workloads = new ArrayList<>();
    private final List<Service> services = new ArrayList<>();

    Mesh add(Workload w) {
        workloads.add(w);
        return this;
    }

    Mesh add(Service s) {
        services.add(s);
        return this;
    }

    ProxyState state() {
        return ProxyState.of(workloads, services);
    }

    static InetAddress ip(String text) {
        try {
            return InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    static InetSocketAddress addr(String ip, int port) {
        return new InetSocketAddress(ip(ip), port);
    }

    static WorkloadIdentity id(String sa) {
        return new WorkloadIdentity("cluster.local", NS, sa);
    }

    static String spiffe(String sa) {
        return id(sa).toSpiffeUri();
    }

    /** An HBONE pod in namespace {@code ns} with service account {@code name}. */
    static Workload.Builder pod(String name, String... ips) {
        Workload.Builder b = Workload.builder()
                .uid("cluster1//v1/Pod/ns/" + name)
                .name(name)
                .namespace(NS)
                .serviceAccount(name)
                .node("node-a")
                .protocol(InboundProtocol.HBONE);
        for (String ip : ips) {
            b.addWorkloadIp(ip(ip));
        }
        return b;
    }

    static Service.Builder service(NamespacedHostname name, String... vips) {
        Service.Builder b = Service.builder().name(name.hostname().split("\\.")[0]).namespace(name.namespace())
                .hostname(name.hostname());
        for (String vip : vips) {
            b.addVip(NetworkAddress.parse(vip));
        }
        return b;
    }

    static GatewayAddress gateway(String destination, int port) {
        return new GatewayAddress(GatewayDestination.parse(destination), port);
    }

    static Map<Integer, Integer> ports(int servicePort, int targetPort) {
        return Map.of(servicePort, targetPort);
    }

    static List<String> uris(List<WorkloadIdentity> ids) {
        return ids.stream().map(WorkloadIdentity::toSpiffeUri).toList();
    }
}
