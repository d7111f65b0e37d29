package dev.hbone.ztunnel.config;

import java.util.Map;
import java.util.Objects;

/**
 * An authorization policy from the {@code policies} list, checked for shape (known keys, enum values,
 * three-level {@code rules}, well-formed matches) and kept as its YAML subtree for the authorization
 * engine to compile.
 *
 * @param name the policy name
 * @param namespace the policy namespace
 * @param scope {@code Global}, {@code Namespace} or {@code WorkloadSelector}
 * @param action {@code Allow} or {@code Deny}
 * @param dryRun whether the policy is only evaluated for logging
 * @param definition the whole policy mapping as written (unmodifiable maps and lists of strings, numbers, booleans)
 */
public record LocalPolicy(String name, String namespace, String scope, String action, boolean dryRun,
        Map<String, Object> definition) {

    /** Validates the components. */
    public LocalPolicy {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(scope, "scope");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(definition, "definition");
    }

    /** Returns ztunnel's key for the policy, {@code namespace/name} (what workloads list in {@code authorizationPolicies}). */
    public String key() {
        return namespace + "/" + name;
    }
}
