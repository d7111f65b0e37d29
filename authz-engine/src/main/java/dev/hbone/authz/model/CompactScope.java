package dev.hbone.authz.model;

/** The {@code scope} of a ztunnel compact policy. */
public enum CompactScope {
    /** Applies to every workload (a policy in the root namespace). */
    GLOBAL,
    /** Applies to every workload of the policy's namespace. */
    NAMESPACE,
    /** Applies only to workloads that list the policy ({@code namespace/name}) in their {@code authorizationPolicies}. */
    WORKLOAD_SELECTOR
}
