/**
 * SPIFFE identities: strict SPIFFE ID parsing ({@link dev.hbone.spiffe.SpiffeIds}) and the Kubernetes identity form.
 * Sub-packages hold trust bundles, X.509-SVID validation, a certificate authority, the node identity store and the
 * JSSE integration. Nothing in this module depends on Netty.
 */
package dev.hbone.spiffe;
