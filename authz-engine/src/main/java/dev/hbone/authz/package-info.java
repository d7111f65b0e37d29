/**
 * Istio authorization for the hbone-java data plane: load {@code AuthorizationPolicy} / {@code PeerAuthentication}
 * YAML ({@link dev.hbone.authz.PolicyLoader}), compile it for an enforcement point
 * ({@link dev.hbone.authz.PolicySet#compile}), evaluate connections or requests
 * ({@link dev.hbone.authz.CompiledPolicies}) and get a {@link dev.hbone.authz.Decision} that explains itself.
 * {@link dev.hbone.authz.PolicyEvaluator} holds the current snapshot for a running proxy.
 */
package dev.hbone.authz;
