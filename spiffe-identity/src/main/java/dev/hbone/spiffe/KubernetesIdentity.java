package dev.hbone.spiffe;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;

/**
 * The parts of a Kubernetes workload identity {@code spiffe://<trust domain>/ns/<namespace>/sa/<service account>}.
 *
 * @param trustDomain the trust domain
 * @param namespace the Kubernetes namespace
 * @param serviceAccount the Kubernetes service account
 */
public record KubernetesIdentity(TrustDomain trustDomain, String namespace, String serviceAccount) {
    /**
     * Creates the parts; use {@link SpiffeIds#kubernetes} to validate them.
     *
     * @param trustDomain the trust domain
     * @param namespace the Kubernetes namespace
     * @param serviceAccount the Kubernetes service account
     */
    public KubernetesIdentity {
        requireNonNull(trustDomain, "trustDomain");
        requireNonNull(namespace, "namespace");
        requireNonNull(serviceAccount, "serviceAccount");
    }

    /** Returns the SPIFFE ID these parts form. */
    public SpiffeId toSpiffeId() {
        return SpiffeIds.kubernetes(trustDomain.getName(), namespace, serviceAccount);
    }
}
