package dev.hbone.ztunnel.state;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * An immutable snapshot of the workloads and services the proxy knows, with the indexes routing needs.
 * A new configuration builds a new snapshot; readers keep the one they started with
 * (see {@link ProxyStateHolder}).
 *
 * <p>Lookup rules are ztunnel's ({@code src/state.rs}, {@code src/state/workload.rs}):
 * <ul>
 *   <li>an address resolves to a workload first, then to a service VIP ({@link #findAddress});
 *   <li>a hostname resolves to a service first, then to a workload with that hostname ({@link #findHostname});
 *   <li>several workloads on one address: a Kubernetes pod ({@code uid} contains {@code //Pod/}) wins over
 *       other kinds, then an HBONE workload over a TCP one, then the first in configuration order;
 *   <li>{@code HostNetwork} workloads are not indexed by address (their IPs are the node's).
 * </ul>
 */
public final class ProxyState {

    private static final ProxyState EMPTY = new ProxyState(List.of(), List.of());

    private final List<Workload> workloads;
    private final List<Service> services;
    private final Map<String, Workload> workloadsByUid;
    private final Map<NetworkAddress, Workload> workloadsByAddress;
    private final Map<String, List<Workload>> workloadsByNode;
    private final Map<NetworkAddress, Service> servicesByVip;
    private final Map<NamespacedHostname, Service> servicesByNamespacedHostname;
    private final Map<String, List<Service>> servicesByHostname;
    private final Map<NamespacedHostname, List<Endpoint>> endpointsByService;

    private ProxyState(Collection<Workload> workloads, Collection<Service> services) {
        Map<String, Workload> byUid = new LinkedHashMap<>();
        for (Workload w : workloads) {
            // As in ztunnel's store, a later workload with the same uid replaces the earlier one.
            byUid.remove(w.uid());
            byUid.put(w.uid(), w);
        }
        this.workloads = List.copyOf(byUid.values());

        Map<NetworkAddress, Workload> byAddress = new LinkedHashMap<>();
        Map<String, List<Workload>> byNode = new LinkedHashMap<>();
        for (Workload w : this.workloads) {
            if (w.networkMode() != NetworkMode.HOST_NETWORK) {
                for (InetAddress ip : w.workloadIps()) {
                    byAddress.merge(new NetworkAddress(w.network(), ip), w, ProxyState::preferred);
                }
            }
            byNode.computeIfAbsent(w.node(), k -> new ArrayList<>()).add(w);
        }

        Map<NamespacedHostname, Service> byKey = new LinkedHashMap<>();
        for (Service s : services) {
            byKey.remove(s.namespacedHostname());
            byKey.put(s.namespacedHostname(), s);
        }
        this.services = List.copyOf(byKey.values());
        Map<NetworkAddress, Service> byVip = new LinkedHashMap<>();
        Map<String, List<Service>> byHostname = new LinkedHashMap<>();
        for (Service s : this.services) {
            for (NetworkAddress vip : s.vips()) {
                byVip.put(vip, s);
            }
            byHostname.computeIfAbsent(s.hostname(), k -> new ArrayList<>()).add(s);
        }

        Map<NamespacedHostname, List<Endpoint>> endpoints = new LinkedHashMap<>();
        for (Workload w : this.workloads) {
            w.services().forEach((svc, ports) ->
                    endpoints.computeIfAbsent(svc, k -> new ArrayList<>()).add(new Endpoint(svc, w, ports)));
        }

        this.workloadsByUid = Collections.unmodifiableMap(byUid);
        this.workloadsByAddress = Collections.unmodifiableMap(byAddress);
        this.workloadsByNode = freeze(byNode);
        this.servicesByVip = Collections.unmodifiableMap(byVip);
        this.servicesByNamespacedHostname = Collections.unmodifiableMap(byKey);
        this.servicesByHostname = freeze(byHostname);
        this.endpointsByService = freeze(endpoints);
    }

    private static <K, V> Map<K, List<V>> freeze(Map<K, List<V>> map) {
        Map<K, List<V>> copy = new LinkedHashMap<>();
        map.forEach((k, v) -> copy.put(k, List.copyOf(v)));
        return Collections.unmodifiableMap(copy);
    }

    // ztunnel's WorkloadByAddr ranking: pods (istiod uids "<cluster>//Pod/<ns>/<name>") are not spoofable,
    // and in-mesh workloads carry more context.
    private static Workload preferred(Workload current, Workload candidate) {
        return rank(candidate) > rank(current) ? candidate : current;
    }

    private static int rank(Workload w) {
        return (w.uid().contains("//Pod/") ? 2 : 0) + (w.protocol() == InboundProtocol.HBONE ? 1 : 0);
    }

    /** Returns the empty snapshot. */
    public static ProxyState empty() {
        return EMPTY;
    }

    /**
     * Builds a snapshot. A workload with the uid of an earlier one replaces it, and so does a service with
     * the {@code namespace/hostname} of an earlier one (ztunnel's store semantics); the configuration
     * loader refuses such duplicates before they get here.
     */
    public static ProxyState of(Collection<Workload> workloads, Collection<Service> services) {
        Objects.requireNonNull(workloads, "workloads");
        Objects.requireNonNull(services, "services");
        return new ProxyState(workloads, services);
    }

    /** Returns all workloads, in configuration order. */
    public List<Workload> workloads() {
        return workloads;
    }

    /** Returns all services, in configuration order. */
    public List<Service> services() {
        return services;
    }

    /** Returns the workload with this uid. */
    public Optional<Workload> workloadByUid(String uid) {
        Objects.requireNonNull(uid, "uid");
        return Optional.ofNullable(workloadsByUid.get(uid));
    }

    /** Returns the workload that owns this address in this network. */
    public Optional<Workload> workloadByAddress(NetworkAddress address) {
        Objects.requireNonNull(address, "address");
        return Optional.ofNullable(workloadsByAddress.get(address));
    }

    /** Returns the workload that owns {@code ip} in {@code network}. */
    public Optional<Workload> workloadByAddress(String network, InetAddress ip) {
        return workloadByAddress(new NetworkAddress(network, ip));
    }

    /** Returns the workloads running on a node (the ones this node's proxy acts for). */
    public List<Workload> workloadsOnNode(String node) {
        Objects.requireNonNull(node, "node");
        return workloadsByNode.getOrDefault(node, List.of());
    }

    /** Returns the service with this VIP. */
    public Optional<Service> serviceByVip(NetworkAddress vip) {
        Objects.requireNonNull(vip, "vip");
        return Optional.ofNullable(servicesByVip.get(vip));
    }

    /** Returns the service with this namespace and hostname. */
    public Optional<Service> serviceByNamespacedHostname(NamespacedHostname name) {
        Objects.requireNonNull(name, "name");
        return Optional.ofNullable(servicesByNamespacedHostname.get(name));
    }

    /** Returns the services with this hostname, in any namespace. */
    public List<Service> servicesByHostname(String hostname) {
        Objects.requireNonNull(hostname, "hostname");
        return servicesByHostname.getOrDefault(hostname, List.of());
    }

    /** Returns the services a workload backs that are known (unknown names are skipped, as in ztunnel). */
    public List<Service> servicesOf(Workload workload) {
        Objects.requireNonNull(workload, "workload");
        List<Service> result = new ArrayList<>();
        for (NamespacedHostname name : workload.services().keySet()) {
            Service s = servicesByNamespacedHostname.get(name);
            if (s != null) {
                result.add(s);
            }
        }
        return result;
    }

    /**
     * Returns every workload that names the service in its {@code services} map, healthy or not, with its
     * port mapping. Load balancing applies the service's health policy.
     */
    public List<Endpoint> endpoints(NamespacedHostname service) {
        Objects.requireNonNull(service, "service");
        return endpointsByService.getOrDefault(service, List.of());
    }

    /** Returns the endpoints of a service. */
    public List<Endpoint> endpoints(Service service) {
        Objects.requireNonNull(service, "service");
        return endpoints(service.namespacedHostname());
    }

    /** Returns true when the workload backs the service (ztunnel's {@code contains_endpoint}). */
    public boolean hasEndpoint(Service service, Workload workload) {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(workload, "workload");
        for (Endpoint e : endpoints(service)) {
            if (e.workload().uid().equals(workload.uid())) {
                return true;
            }
        }
        return false;
    }

    /** Resolves an address: a workload first, then a service VIP. */
    public Optional<AddressOwner> findAddress(NetworkAddress address) {
        Objects.requireNonNull(address, "address");
        Workload w = workloadsByAddress.get(address);
        if (w != null) {
            return Optional.of(w);
        }
        return Optional.ofNullable(servicesByVip.get(address));
    }

    /** Resolves a namespaced hostname: a service first, then a workload with that hostname and namespace. */
    public Optional<AddressOwner> findHostname(NamespacedHostname name) {
        Objects.requireNonNull(name, "name");
        Service s = servicesByNamespacedHostname.get(name);
        if (s != null) {
            return Optional.of(s);
        }
        for (Workload w : workloads) {
            if (w.hostname().equals(name.hostname()) && w.namespace().equals(name.namespace())) {
                return Optional.of(w);
            }
        }
        return Optional.empty();
    }

    /** Resolves a waypoint or gateway destination. */
    public Optional<AddressOwner> findDestination(GatewayDestination destination) {
        Objects.requireNonNull(destination, "destination");
        if (destination instanceof NetworkAddress) {
            return findAddress((NetworkAddress) destination);
        }
        return findHostname((NamespacedHostname) destination);
    }

    @Override
    public String toString() {
        return "ProxyState{" + workloads.size() + " workloads, " + services.size() + " services}";
    }
}
