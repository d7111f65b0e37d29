package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The workload (or waypoint-fronted service) a connection or request goes to: what decides which policies
 * apply. Build once per workload and reuse; it is immutable.
 */
public final class Destination {
    private final String namespace;
    private final Map<String, String> labels;
    private final List<String> services;
    private final String waypoint;
    private final String[] attachedPolicies;

    private Destination(Builder b) {
        this.namespace = b.namespace;
        this.labels = Map.copyOf(b.labels);
        this.services = List.copyOf(b.services);
        this.waypoint = b.waypoint;
        this.attachedPolicies = b.attachedPolicies.toArray(String[]::new);
    }

    /** Starts a destination in {@code namespace}. */
    public static Builder builder(String namespace) {
        return new Builder(requireNonNull(namespace, "namespace"));
    }

    /** Namespace of the workload. */
    public String namespace() {
        return namespace;
    }

    /** Workload labels (matched by {@code selector.matchLabels}). */
    public Map<String, String> labels() {
        return labels;
    }

    /** Service names of the destination (matched by {@code targetRefs} of kind Service at a waypoint). */
    public List<String> services() {
        return services;
    }

    /** Name of the waypoint Gateway in front of the destination, or null. */
    public String waypoint() {
        return waypoint;
    }

    /** Keys ({@code ns/name}) of compact WorkloadSelector policies the workload lists. */
    public List<String> attachedPolicies() {
        return List.of(attachedPolicies);
    }

    String[] attachedPolicyArray() {
        return attachedPolicies;
    }

    @Override
    public String toString() {
        return namespace + labels + (services.isEmpty() ? "" : " services=" + services)
                + (waypoint == null ? "" : " waypoint=" + waypoint)
                + (attachedPolicies.length == 0 ? "" : " policies=" + Arrays.toString(attachedPolicies));
    }

    /** Builds a {@link Destination}. */
    public static final class Builder {
        private final String namespace;
        private Map<String, String> labels = Map.of();
        private List<String> services = List.of();
        private String waypoint;
        private List<String> attachedPolicies = List.of();

        private Builder(String namespace) {
            this.namespace = namespace;
        }

        /** Workload labels. */
        public Builder labels(Map<String, String> labels) {
            this.labels = requireNonNull(labels, "labels");
            return this;
        }

        /** Service names. */
        public Builder services(List<String> services) {
            this.services = requireNonNull(services, "services");
            return this;
        }

        /** Waypoint Gateway name. */
        public Builder waypoint(String waypoint) {
            this.waypoint = requireNonNull(waypoint, "waypoint");
            return this;
        }

        /** The workload's {@code authorizationPolicies} ({@code ns/name} of compact WorkloadSelector policies). */
        public Builder attachedPolicies(List<String> keys) {
            this.attachedPolicies = requireNonNull(keys, "keys");
            return this;
        }

        /** Builds. */
        public Destination build() {
            return new Destination(this);
        }
    }
}
