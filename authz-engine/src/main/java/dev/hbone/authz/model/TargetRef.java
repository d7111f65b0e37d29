package dev.hbone.authz.model;

import static java.util.Objects.requireNonNull;

/**
 * One entry of {@code spec.targetRefs} (or the legacy {@code spec.targetRef}): the policy attaches to a
 * waypoint or gateway instead of workloads.
 *
 * @param group     API group, e.g. {@code gateway.networking.k8s.io} or {@code ""} for core Services
 * @param kind      {@code Gateway}, {@code GatewayClass}, {@code Service} or {@code ServiceEntry}
 * @param name      the referenced object's name
 * @param namespace the referenced object's namespace; {@code null} means the policy's namespace
 */
public record TargetRef(String group, String kind, String name, String namespace) {
    /** Validates the mandatory parts. */
    public TargetRef {
        requireNonNull(group, "group");
        requireNonNull(kind, "kind");
        requireNonNull(name, "name");
    }
}
