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
    private final List<WaypointIdentity> waypointIdentities;
    /** Flattened principals of {@link #waypointIdentities} and the implicit ALLOW decision for each. */
    private final String[] waypointPrincipals;
    private final Decision[] implicitAllows;
    private final List<String> implicitPolicyKeys;

    private Destination(Builder b) {
        this.namespace = b.namespace;
        this.labels = Map.copyOf(b.labels);
        this.services = List.copyOf(b.services);
        this.waypoint = b.waypoint;
        this.attachedPolicies = b.attachedPolicies.toArray(String[]::new);
        this.waypointIdentities = List.copyOf(b.waypointIdentities);
        List<String> principals = new java.util.ArrayList<>();
        List<Decision> allows = new java.util.ArrayList<>();
        java.util.TreeSet<String> keys = new java.util.TreeSet<>();
        for (WaypointIdentity w : waypointIdentities) {
            if (w.principals().isEmpty()) {
                continue; // istiod generates no policy for a waypoint without instances
            }
            Decision d = Decision.simple(true, Decision.Reason.ALLOW_MATCHED, w.implicitPolicyKey(),
                    Decision.IMPLICIT_WAYPOINT_POLICY, 0, List.of());
            keys.add(w.implicitPolicyKey());
            for (String p : w.principals()) {
                principals.add(p);
                allows.add(d);
            }
        }
        this.waypointPrincipals = principals.toArray(String[]::new);
        this.implicitAllows = allows.toArray(Decision[]::new);
        this.implicitPolicyKeys = List.copyOf(keys);
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

    /**
     * The waypoints serving this workload (its own and its services'), with their instances' identities: what
     * the implicit waypoint ALLOW admits when {@link CompileOptions#implicitWaypointAllow()} is on.
     */
    public List<WaypointIdentity> waypointIdentities() {
        return waypointIdentities;
    }

    /** True if an implicit waypoint policy would be attached (a waypoint with at least one identity). */
    boolean hasImplicitWaypointPolicy() {
        return waypointPrincipals.length > 0;
    }

    /** Keys of the implicit waypoint policies, sorted. */
    List<String> implicitPolicyKeys() {
        return implicitPolicyKeys;
    }

    /** The implicit ALLOW decision if {@code principal} is one of the waypoints' identities; else null. */
    Decision implicitWaypointAllow(String principal) {
        if (principal == null) {
            return null;
        }
        for (int i = 0; i < waypointPrincipals.length; i++) {
            if (waypointPrincipals[i].equals(principal)) {
                return implicitAllows[i];
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return namespace + labels + (services.isEmpty() ? "" : " services=" + services)
                + (waypoint == null ? "" : " waypoint=" + waypoint)
                + (attachedPolicies.length == 0 ? "" : " policies=" + Arrays.toString(attachedPolicies))
                + (waypointIdentities.isEmpty() ? "" : " waypointIdentities=" + waypointIdentities);
    }

    /** Builds a {@link Destination}. */
    public static final class Builder {
        private final String namespace;
        private Map<String, String> labels = Map.of();
        private List<String> services = List.of();
        private String waypoint;
        private List<String> attachedPolicies = List.of();
        private List<WaypointIdentity> waypointIdentities = List.of();

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

        /**
         * The waypoints that serve the workload, with their identities: its own ({@code istio.io/use-waypoint}
         * on the pod or namespace) and those of its services. istiod attaches one implicit ALLOW per waypoint
         * (see {@link CompileOptions#withImplicitWaypointAllow(boolean)}).
         */
        public Builder waypointIdentities(List<WaypointIdentity> waypoints) {
            this.waypointIdentities = requireNonNull(waypoints, "waypoints");
            return this;
        }

        /** Builds. */
        public Destination build() {
            return new Destination(this);
        }
    }
}
