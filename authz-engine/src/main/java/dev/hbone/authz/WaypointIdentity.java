package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;

/**
 * A waypoint that serves a destination (the workload's own {@code istio.io/use-waypoint} waypoint, or the
 * waypoint of one of its services) and the identities its instances run as. Used for Istio's implicit
 * waypoint ALLOW (istiod {@code PILOT_AUTO_ALLOW_WAYPOINT_POLICY}, see
 * {@link CompileOptions#withImplicitWaypointAllow(boolean)}).
 *
 * @param namespace  namespace of the waypoint Gateway
 * @param name       name of the waypoint Gateway
 * @param principals identities of the waypoint's instances ({@code cluster.local/ns/<ns>/sa/<sa>}, with or
 *                   without {@code spiffe://}); istiod uses the service accounts of the pods labelled
 *                   {@code gateway.networking.k8s.io/gateway-name=<name>} in the waypoint's namespace
 */
public record WaypointIdentity(String namespace, String name, List<String> principals) {
    /** Prefix of the name istiod gives the implicit policy (underscores: illegal in Kubernetes names). */
    public static final String IMPLICIT_POLICY_PREFIX = "istio_allow_waypoint_";

    /** Validates and strips {@code spiffe://}. */
    public WaypointIdentity {
        requireNonNull(namespace, "namespace");
        requireNonNull(name, "name");
        List<String> p = new ArrayList<>();
        for (String s : requireNonNull(principals, "principals")) {
            requireNonNull(s, "principal");
            p.add(s.startsWith("spiffe://") ? s.substring("spiffe://".length()) : s);
        }
        principals = List.copyOf(p);
    }

    /**
     * A waypoint whose instances run as {@code serviceAccounts} in its own namespace (as istiod builds the
     * principals: {@code <trustDomain>/ns/<namespace>/sa/<sa>}).
     */
    public static WaypointIdentity of(String trustDomain, String namespace, String name, String... serviceAccounts) {
        List<String> p = new ArrayList<>();
        for (String sa : serviceAccounts) {
            p.add(trustDomain + "/ns/" + namespace + "/sa/" + sa);
        }
        return new WaypointIdentity(namespace, name, p);
    }

    /**
     * Name of the implicit policy istiod generates for this waypoint:
     * {@code istio_allow_waypoint_<namespace>_<name>}.
     */
    public String implicitPolicyName() {
        return IMPLICIT_POLICY_PREFIX + namespace + "_" + name;
    }

    /** {@code <namespace>/istio_allow_waypoint_<namespace>_<name>}: the key workloads reference it by. */
    public String implicitPolicyKey() {
        return namespace + "/" + implicitPolicyName();
    }
}
