package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

/**
 * How to compile a {@link PolicySet}.
 *
 * @param rootNamespace    Istio's root namespace (policies there apply mesh-wide); {@code istio-system} by default
 * @param enforcementPoint where the result is enforced
 * @param l4Conversion     what happens to the L7 parts of a DENY rule at L4
 * @param implicitWaypointAllow at ztunnel: add istiod's implicit ALLOW of each waypoint's identities to the
 *                         workloads it serves ({@code PILOT_AUTO_ALLOW_WAYPOINT_POLICY=true}); off by default,
 *                         as in istiod
 */
public record CompileOptions(String rootNamespace, EnforcementPoint enforcementPoint, L4Conversion l4Conversion,
        boolean implicitWaypointAllow) {
    /** The default root namespace. */
    public static final String DEFAULT_ROOT_NAMESPACE = "istio-system";

    /**
     * At L4, an ALLOW rule using L7 attributes is always dropped. For a DENY rule the L7 parts are removed, and
     * a {@code from}/{@code to} entry or {@code when} condition that had only L7 attributes is left empty.
     */
    public enum L4Conversion {
        /**
         * As Istio + ztunnel do: an emptied part never matches, so the rule denies nothing (a WARNING is
         * reported).
         */
        ISTIO_COMPATIBLE,
        /** An emptied part matches everything: the DENY applies to all traffic its L4 parts select. */
        FAIL_CLOSED
    }

    /** Validates. */
    public CompileOptions {
        requireNonNull(rootNamespace, "rootNamespace");
        requireNonNull(enforcementPoint, "enforcementPoint");
        requireNonNull(l4Conversion, "l4Conversion");
    }

    /** Without the implicit waypoint ALLOW (istiod's default). */
    public CompileOptions(String rootNamespace, EnforcementPoint enforcementPoint, L4Conversion l4Conversion) {
        this(rootNamespace, enforcementPoint, l4Conversion, false);
    }

    /** ztunnel, root namespace {@code istio-system}, Istio-compatible conversion. */
    public static CompileOptions ztunnel() {
        return new CompileOptions(DEFAULT_ROOT_NAMESPACE, EnforcementPoint.ZTUNNEL, L4Conversion.ISTIO_COMPATIBLE);
    }

    /** Returns a copy for another enforcement point. */
    public CompileOptions withEnforcementPoint(EnforcementPoint ep) {
        return new CompileOptions(rootNamespace, ep, l4Conversion, implicitWaypointAllow);
    }

    /** Returns a copy with another root namespace. */
    public CompileOptions withRootNamespace(String ns) {
        return new CompileOptions(ns, enforcementPoint, l4Conversion, implicitWaypointAllow);
    }

    /** Returns a copy with another L4 conversion. */
    public CompileOptions withL4Conversion(L4Conversion c) {
        return new CompileOptions(rootNamespace, enforcementPoint, c, implicitWaypointAllow);
    }

    /**
     * Returns a copy that models istiod's {@code PILOT_AUTO_ALLOW_WAYPOINT_POLICY=true}: at ztunnel every
     * destination with {@link Destination#waypointIdentities()} gets one more ALLOW policy per waypoint,
     * {@code <wp-ns>/istio_allow_waypoint_<wp-ns>_<wp-name>}, whose single rule matches exactly the waypoint's
     * principals. Like any ALLOW it makes the workload default-deny: traffic that does not come through the
     * waypoint (or match another ALLOW) is refused. Has no effect at a waypoint or sidecar.
     */
    public CompileOptions withImplicitWaypointAllow(boolean on) {
        return new CompileOptions(rootNamespace, enforcementPoint, l4Conversion, on);
    }
}
