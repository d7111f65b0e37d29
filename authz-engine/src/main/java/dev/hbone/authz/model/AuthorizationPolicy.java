package dev.hbone.authz.model;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Map;

/**
 * A {@code security.istio.io} AuthorizationPolicy.
 *
 * @param name        {@code metadata.name}
 * @param namespace   {@code metadata.namespace}
 * @param selector    {@code spec.selector.matchLabels}; empty = every workload of the namespace
 * @param targetRefs  {@code spec.targetRefs} (plus a legacy {@code targetRef}); non-empty = attached to a waypoint
 * @param action      the action (ALLOW when unset)
 * @param provider    {@code spec.provider.name} for CUSTOM, else {@code null}
 * @param rules       the rules; empty = matches nothing
 * @param dryRun      {@code metadata.annotations["istio.io/dry-run"] == "true"}
 */
public record AuthorizationPolicy(
        String name, String namespace, Map<String, String> selector, List<TargetRef> targetRefs,
        Action action, String provider, List<Rule> rules, boolean dryRun) {
    /** Copies the collections. */
    public AuthorizationPolicy {
        requireNonNull(name, "name");
        requireNonNull(namespace, "namespace");
        selector = Map.copyOf(requireNonNull(selector, "selector"));
        targetRefs = List.copyOf(requireNonNull(targetRefs, "targetRefs"));
        requireNonNull(action, "action");
        rules = List.copyOf(requireNonNull(rules, "rules"));
    }

    /** Returns {@code namespace/name}, the key decisions and logs use. */
    public String key() {
        return namespace + "/" + name;
    }
}
