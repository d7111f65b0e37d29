/**
 * The resources users write, as plain immutable data: Istio {@code AuthorizationPolicy} and
 * {@code PeerAuthentication} ({@code security.istio.io/v1} and {@code v1beta1}) and ztunnel's compact
 * {@code policies} form. Instances come from {@link dev.hbone.authz.PolicyLoader} or are built by hand; they
 * carry no behaviour.
 */
package dev.hbone.authz.model;
