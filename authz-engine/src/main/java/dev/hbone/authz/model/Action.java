package dev.hbone.authz.model;

/**
 * The {@code action} of an AuthorizationPolicy. Which enforcement point honours which action is stated by
 * {@link dev.hbone.authz.EnforcementPoint#supports(Action)}.
 */
public enum Action {
    /** Allow matching requests; once an ALLOW policy applies, everything it does not match is denied. */
    ALLOW,
    /** Deny matching requests; evaluated before ALLOW. */
    DENY,
    /** Mark matching requests for audit logging; never changes the allow/deny outcome. */
    AUDIT,
    /** Delegate matching requests to an external authorizer named by {@code provider.name}. */
    CUSTOM
}
