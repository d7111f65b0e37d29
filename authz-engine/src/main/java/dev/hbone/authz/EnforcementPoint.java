package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

import dev.hbone.authz.model.Action;

/**
 * Where policies are enforced; decides which policies apply and which attributes can be seen.
 *
 * <table>
 * <caption>Actions supported</caption>
 * <tr><th></th><th>ALLOW</th><th>DENY</th><th>AUDIT</th><th>CUSTOM</th><th>attributes</th><th>policies</th></tr>
 * <tr><td>ZTUNNEL</td><td>yes</td><td>yes</td><td>no (ignored, warned)</td><td>no (ignored, warned)</td>
 *     <td>L4 only</td><td>root ns / namespace / selector; not targetRefs</td></tr>
 * <tr><td>WAYPOINT</td><td>yes</td><td>yes</td><td>yes (logs)</td><td>yes (ext-authz provider)</td>
 *     <td>L4 + L7</td><td>targetRefs (Gateway, Service, GatewayClass istio-waypoint in root ns)</td></tr>
 * <tr><td>SIDECAR</td><td>yes</td><td>yes</td><td>yes (logs)</td><td>yes (ext-authz provider)</td>
 *     <td>L4 + L7</td><td>root ns / namespace / selector</td></tr>
 * </table>
 */
public enum EnforcementPoint {
    /** The node proxy (ztunnel): L4 only, ALLOW and DENY only, Istio's fail-closed L7 conversion. */
    ZTUNNEL,
    /** A waypoint proxy: full L7; policies attached with targetRefs. */
    WAYPOINT,
    /** A sidecar-style L7 proxy in front of one workload: full L7; policies selected by namespace/selector. */
    SIDECAR;

    /** Returns true if this enforcement point enforces (or, for AUDIT, reports) the action. */
    public boolean supports(Action action) {
        requireNonNull(action, "action");
        return this != ZTUNNEL || action == Action.ALLOW || action == Action.DENY;
    }

    /** Returns true if HTTP attributes are visible here. */
    public boolean seesHttp() {
        return this != ZTUNNEL;
    }
}
