package dev.hbone.ztunnel.state;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A service: a hostname and virtual IPs in front of the workloads that back it. Field names are
 * ztunnel's ({@code src/state/service.rs}). Endpoints are not part of the service: a workload names
 * the services it backs, and {@link ProxyState#endpoints} joins them.
 *
 * @param name the service name
 * @param namespace the namespace
 * @param hostname the hostname, e.g. {@code example.com} or {@code svc.ns.svc.cluster.local}
 * @param vips the virtual IPs, each in a network
 * @param ports service port → target port; a target port of 0 means "named port: ask the endpoint"
 * @param subjectAltNames extra SPIFFE identities any endpoint of the service may present
 * @param waypoint the waypoint for traffic addressed to the service, if any
 * @param loadBalancer load-balancing settings, if any (none means standard random)
 * @param ipFamilies the IP families endpoints may be reached on, if restricted
 */
public record Service(
        String name,
        String namespace,
        String hostname,
        List<NetworkAddress> vips,
        Map<Integer, Integer> ports,
        List<String> subjectAltNames,
        Optional<GatewayAddress> waypoint,
        Optional<LoadBalancer> loadBalancer,
        Optional<IpFamily> ipFamilies) implements AddressOwner {

    /** Validates and copies the components. */
    public Service {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(hostname, "hostname");
        vips = List.copyOf(Objects.requireNonNull(vips, "vips"));
        ports = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(ports, "ports")));
        subjectAltNames = List.copyOf(Objects.requireNonNull(subjectAltNames, "subjectAltNames"));
        Objects.requireNonNull(waypoint, "waypoint");
        Objects.requireNonNull(loadBalancer, "loadBalancer");
        Objects.requireNonNull(ipFamilies, "ipFamilies");
    }

    /** Returns the service's key, {@code namespace/hostname}. */
    public NamespacedHostname namespacedHostname() {
        return new NamespacedHostname(namespace, hostname);
    }

    /** Returns the subject alternative names that parse as identities (ztunnel ignores the others). */
    public List<WorkloadIdentity> subjectAltNameIdentities() {
        List<WorkloadIdentity> ids = new ArrayList<>();
        for (String san : subjectAltNames) {
            WorkloadIdentity.parse(san).ifPresent(ids::add);
        }
        return ids;
    }

    /** Returns true when an endpoint with this health may be load-balanced to (ztunnel's {@code should_include_endpoint}). */
    public boolean acceptsEndpointWith(HealthStatus health) {
        return health == HealthStatus.HEALTHY
                || loadBalancer.map(lb -> lb.healthPolicy() == LoadBalancer.HealthPolicy.ALLOW_ALL).orElse(false);
    }

    /** Returns a builder; {@code name}, {@code namespace} and {@code hostname} must be set. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link Service}. */
    public static final class Builder {
        private String name;
        private String namespace;
        private String hostname;
        private final List<NetworkAddress> vips = new ArrayList<>();
        private final Map<Integer, Integer> ports = new LinkedHashMap<>();
        private final List<String> subjectAltNames = new ArrayList<>();
        private GatewayAddress waypoint;
        private LoadBalancer loadBalancer;
        private IpFamily ipFamilies;

        private Builder() {}

        /** Sets the name. */
        public Builder name(String v) { this.name = Objects.requireNonNull(v, "name"); return this; }
        /** Sets the namespace. */
        public Builder namespace(String v) { this.namespace = Objects.requireNonNull(v, "namespace"); return this; }
        /** Sets the hostname. */
        public Builder hostname(String v) { this.hostname = Objects.requireNonNull(v, "hostname"); return this; }
        /** Adds a VIP. */
        public Builder addVip(NetworkAddress v) { this.vips.add(Objects.requireNonNull(v, "vip")); return this; }
        /** Adds a port mapping. */
        public Builder port(int servicePort, int targetPort) { this.ports.put(servicePort, targetPort); return this; }
        /** Adds a subject alternative name. */
        public Builder addSubjectAltName(String v) { this.subjectAltNames.add(Objects.requireNonNull(v, "san")); return this; }
        /** Sets the waypoint, or none with {@code null}. */
        public Builder waypoint(GatewayAddress v) { this.waypoint = v; return this; }
        /** Sets the load balancer, or none with {@code null}. */
        public Builder loadBalancer(LoadBalancer v) { this.loadBalancer = v; return this; }
        /** Sets the IP families, or automatic with {@code null}. */
        public Builder ipFamilies(IpFamily v) { this.ipFamilies = v; return this; }

        /** Builds the service. */
        public Service build() {
            return new Service(Objects.requireNonNull(name, "name"), Objects.requireNonNull(namespace, "namespace"),
                    Objects.requireNonNull(hostname, "hostname"), vips, ports, subjectAltNames,
                    Optional.ofNullable(waypoint), Optional.ofNullable(loadBalancer), Optional.ofNullable(ipFamilies));
        }
    }
}
