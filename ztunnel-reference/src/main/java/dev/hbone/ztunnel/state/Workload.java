package dev.hbone.ztunnel.state;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A workload (a pod, a VM, ...) as ztunnel knows it. Field names and defaults are ztunnel's
 * ({@code src/state/workload.rs}); defaults for empty values follow ztunnel's xDS conversion:
 * trust domain {@code cluster.local}, service account {@code default}, cluster {@code Kubernetes}.
 *
 * @param uid unique id, e.g. {@code cluster1//v1/Pod/default/local}
 * @param name the workload's own name (pod name)
 * @param namespace the namespace
 * @param serviceAccount the service account (identity)
 * @param trustDomain the trust domain (identity)
 * @param workloadIps the workload's addresses (one per IP family); may be empty
 * @param protocol whether it accepts HBONE
 * @param networkMode whether its IPs are its own
 * @param network the network its IPs belong to ({@code ""} default)
 * @param node the node it runs on
 * @param hostname a DNS name to resolve when it has no IPs
 * @param waypoint the waypoint in front of it, if any
 * @param networkGateway the east-west gateway that reaches it from other networks, if any
 * @param applicationTunnel a tunnel it terminates itself, if any
 * @param services the services it backs: service → (service port → target port)
 * @param canonicalName the canonical service name (telemetry)
 * @param canonicalRevision the canonical revision (telemetry)
 * @param workloadName the owning workload's name, e.g. the Deployment (telemetry)
 * @param workloadType the owning workload's kind, e.g. {@code deployment} (telemetry)
 * @param clusterId the cluster it runs in
 * @param locality where it runs
 * @param authorizationPolicies keys ({@code namespace/name}) of workload-selected authorization policies
 * @param status its health
 * @param nativeTunnel whether it terminates HBONE itself
 * @param capacity its load-balancing weight (ztunnel default 1)
 * @param labels its labels, matched by the {@code selector} of Istio policies given as Istio YAML (not in
 *     ztunnel's model: istiod resolves selectors itself; ours, for local configuration)
 */
public record Workload(
        String uid,
        String name,
        String namespace,
        String serviceAccount,
        String trustDomain,
        List<InetAddress> workloadIps,
        InboundProtocol protocol,
        NetworkMode networkMode,
        String network,
        String node,
        String hostname,
        Optional<GatewayAddress> waypoint,
        Optional<GatewayAddress> networkGateway,
        Optional<ApplicationTunnel> applicationTunnel,
        Map<NamespacedHostname, Map<Integer, Integer>> services,
        String canonicalName,
        String canonicalRevision,
        String workloadName,
        String workloadType,
        String clusterId,
        Locality locality,
        List<String> authorizationPolicies,
        HealthStatus status,
        boolean nativeTunnel,
        long capacity,
        Map<String, String> labels) implements AddressOwner {

    /** ztunnel's default trust domain. */
    public static final String DEFAULT_TRUST_DOMAIN = "cluster.local";
    /** ztunnel's default service account. */
    public static final String DEFAULT_SERVICE_ACCOUNT = "default";
    /** ztunnel's default cluster id. */
    public static final String DEFAULT_CLUSTER_ID = "Kubernetes";

    /** Validates and copies the components (collections become unmodifiable). */
    public Workload {
        Objects.requireNonNull(uid, "uid");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(serviceAccount, "serviceAccount");
        Objects.requireNonNull(trustDomain, "trustDomain");
        workloadIps = List.copyOf(Objects.requireNonNull(workloadIps, "workloadIps"));
        Objects.requireNonNull(protocol, "protocol");
        Objects.requireNonNull(networkMode, "networkMode");
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(hostname, "hostname");
        Objects.requireNonNull(waypoint, "waypoint");
        Objects.requireNonNull(networkGateway, "networkGateway");
        Objects.requireNonNull(applicationTunnel, "applicationTunnel");
        services = copyServices(Objects.requireNonNull(services, "services"));
        Objects.requireNonNull(canonicalName, "canonicalName");
        Objects.requireNonNull(canonicalRevision, "canonicalRevision");
        Objects.requireNonNull(workloadName, "workloadName");
        Objects.requireNonNull(workloadType, "workloadType");
        Objects.requireNonNull(clusterId, "clusterId");
        Objects.requireNonNull(locality, "locality");
        authorizationPolicies = List.copyOf(Objects.requireNonNull(authorizationPolicies, "authorizationPolicies"));
        Objects.requireNonNull(status, "status");
        labels = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(labels, "labels")));
        if (capacity < 0) {
            throw new IllegalArgumentException("capacity must not be negative: " + capacity);
        }
    }

    private static Map<NamespacedHostname, Map<Integer, Integer>> copyServices(
            Map<NamespacedHostname, Map<Integer, Integer>> services) {
        Map<NamespacedHostname, Map<Integer, Integer>> copy = new LinkedHashMap<>();
        services.forEach((k, v) -> copy.put(Objects.requireNonNull(k), Collections.unmodifiableMap(new LinkedHashMap<>(v))));
        return Collections.unmodifiableMap(copy);
    }

    /** Returns the workload's SPIFFE identity: {@code spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>}. */
    public WorkloadIdentity identity() {
        return new WorkloadIdentity(trustDomain, namespace, serviceAccount);
    }

    /** Returns a builder with ztunnel's defaults; only {@code namespace} has none. */
    public static Builder builder() {
        return new Builder();
    }

    /** Returns a builder initialised from this workload. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.uid = uid;
        b.name = name;
        b.namespace = namespace;
        b.serviceAccount = serviceAccount;
        b.trustDomain = trustDomain;
        b.workloadIps = new ArrayList<>(workloadIps);
        b.protocol = protocol;
        b.networkMode = networkMode;
        b.network = network;
        b.node = node;
        b.hostname = hostname;
        b.waypoint = waypoint.orElse(null);
        b.networkGateway = networkGateway.orElse(null);
        b.applicationTunnel = applicationTunnel.orElse(null);
        b.services = new LinkedHashMap<>(services);
        b.canonicalName = canonicalName;
        b.canonicalRevision = canonicalRevision;
        b.workloadName = workloadName;
        b.workloadType = workloadType;
        b.clusterId = clusterId;
        b.locality = locality;
        b.authorizationPolicies = new ArrayList<>(authorizationPolicies);
        b.status = status;
        b.nativeTunnel = nativeTunnel;
        b.labels = new LinkedHashMap<>(labels);
        b.capacity = capacity;
        return b;
    }

    @Override
    public String toString() {
        return "Workload{" + name + " with uid " + uid + " (" + protocol + ")}";
    }

    /** Builds a {@link Workload}; unset fields take ztunnel's defaults. */
    public static final class Builder {
        private String uid = "";
        private String name = "";
        private String namespace;
        private String serviceAccount = DEFAULT_SERVICE_ACCOUNT;
        private String trustDomain = DEFAULT_TRUST_DOMAIN;
        private List<InetAddress> workloadIps = new ArrayList<>();
        private InboundProtocol protocol = InboundProtocol.TCP;
        private NetworkMode networkMode = NetworkMode.STANDARD;
        private String network = "";
        private String node = "";
        private String hostname = "";
        private GatewayAddress waypoint;
        private GatewayAddress networkGateway;
        private ApplicationTunnel applicationTunnel;
        private Map<NamespacedHostname, Map<Integer, Integer>> services = new LinkedHashMap<>();
        private String canonicalName = "";
        private String canonicalRevision = "";
        private String workloadName = "";
        private String workloadType = "";
        private String clusterId = DEFAULT_CLUSTER_ID;
        private Locality locality = Locality.UNKNOWN;
        private List<String> authorizationPolicies = new ArrayList<>();
        private HealthStatus status = HealthStatus.HEALTHY;
        private boolean nativeTunnel;
        private long capacity = 1;
        private Map<String, String> labels = new LinkedHashMap<>();

        private Builder() {}

        /** Sets the uid. */
        public Builder uid(String uid) { this.uid = Objects.requireNonNull(uid, "uid"); return this; }
        /** Sets the name. */
        public Builder name(String name) { this.name = Objects.requireNonNull(name, "name"); return this; }
        /** Sets the namespace. */
        public Builder namespace(String namespace) { this.namespace = Objects.requireNonNull(namespace, "namespace"); return this; }
        /** Sets the service account. */
        public Builder serviceAccount(String sa) { this.serviceAccount = Objects.requireNonNull(sa, "serviceAccount"); return this; }
        /** Sets the trust domain. */
        public Builder trustDomain(String td) { this.trustDomain = Objects.requireNonNull(td, "trustDomain"); return this; }
        /** Replaces the workload IPs. */
        public Builder workloadIps(List<InetAddress> ips) { this.workloadIps = new ArrayList<>(Objects.requireNonNull(ips, "workloadIps")); return this; }
        /** Adds a workload IP. */
        public Builder addWorkloadIp(InetAddress ip) { this.workloadIps.add(Objects.requireNonNull(ip, "ip")); return this; }
        /** Sets the inbound protocol. */
        public Builder protocol(InboundProtocol protocol) { this.protocol = Objects.requireNonNull(protocol, "protocol"); return this; }
        /** Sets the network mode. */
        public Builder networkMode(NetworkMode mode) { this.networkMode = Objects.requireNonNull(mode, "networkMode"); return this; }
        /** Sets the network. */
        public Builder network(String network) { this.network = Objects.requireNonNull(network, "network"); return this; }
        /** Sets the node. */
        public Builder node(String node) { this.node = Objects.requireNonNull(node, "node"); return this; }
        /** Sets the hostname. */
        public Builder hostname(String hostname) { this.hostname = Objects.requireNonNull(hostname, "hostname"); return this; }
        /** Sets the waypoint, or none with {@code null}. */
        public Builder waypoint(GatewayAddress waypoint) { this.waypoint = waypoint; return this; }
        /** Sets the network gateway, or none with {@code null}. */
        public Builder networkGateway(GatewayAddress gateway) { this.networkGateway = gateway; return this; }
        /** Sets the application tunnel, or none with {@code null}. */
        public Builder applicationTunnel(ApplicationTunnel tunnel) { this.applicationTunnel = tunnel; return this; }
        /** Replaces the service memberships. */
        public Builder services(Map<NamespacedHostname, Map<Integer, Integer>> services) { this.services = new LinkedHashMap<>(Objects.requireNonNull(services, "services")); return this; }
        /** Adds a service membership with its port mapping (service port → target port). */
        public Builder addService(NamespacedHostname service, Map<Integer, Integer> ports) { this.services.put(Objects.requireNonNull(service, "service"), Objects.requireNonNull(ports, "ports")); return this; }
        /** Sets the canonical name. */
        public Builder canonicalName(String v) { this.canonicalName = Objects.requireNonNull(v, "canonicalName"); return this; }
        /** Sets the canonical revision. */
        public Builder canonicalRevision(String v) { this.canonicalRevision = Objects.requireNonNull(v, "canonicalRevision"); return this; }
        /** Sets the owning workload name. */
        public Builder workloadName(String v) { this.workloadName = Objects.requireNonNull(v, "workloadName"); return this; }
        /** Sets the owning workload type. */
        public Builder workloadType(String v) { this.workloadType = Objects.requireNonNull(v, "workloadType"); return this; }
        /** Sets the cluster id. */
        public Builder clusterId(String v) { this.clusterId = Objects.requireNonNull(v, "clusterId"); return this; }
        /** Sets the locality. */
        public Builder locality(Locality v) { this.locality = Objects.requireNonNull(v, "locality"); return this; }
        /** Replaces the workload-selected policy keys. */
        public Builder authorizationPolicies(List<String> v) { this.authorizationPolicies = new ArrayList<>(Objects.requireNonNull(v, "authorizationPolicies")); return this; }
        /** Sets the health status. */
        public Builder status(HealthStatus v) { this.status = Objects.requireNonNull(v, "status"); return this; }
        /** Sets whether the workload terminates HBONE itself. */
        public Builder nativeTunnel(boolean v) { this.nativeTunnel = v; return this; }
        /** Sets the load-balancing weight. */
        public Builder capacity(long v) { this.capacity = v; return this; }
        /** Replaces the labels (matched by Istio policy selectors). */
        public Builder labels(Map<String, String> v) { this.labels = new LinkedHashMap<>(Objects.requireNonNull(v, "labels")); return this; }

        /**
         * Builds the workload.
         *
         * @throws NullPointerException when no namespace was set
         */
        public Workload build() {
            return new Workload(uid, name, Objects.requireNonNull(namespace, "namespace"), serviceAccount,
                    trustDomain, workloadIps, protocol, networkMode, network, node, hostname,
                    Optional.ofNullable(waypoint), Optional.ofNullable(networkGateway),
                    Optional.ofNullable(applicationTunnel), services, canonicalName, canonicalRevision,
                    workloadName, workloadType, clusterId, locality, authorizationPolicies, status,
                    nativeTunnel, capacity, labels);
        }
    }
}
