package dev.hbone.ztunnel.state;

import dev.hbone.spiffe.SpiffeIds;
import io.spiffe.spiffeid.SpiffeId;
import java.util.Objects;
import java.util.Optional;

/**
 * The SPIFFE identity of a Kubernetes-style workload: {@code spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>}.
 * The proxy requests one certificate per identity, presents it for the workload, and expects it from peers.
 *
 * @param trustDomain the trust domain, e.g. {@code cluster.local}
 * @param namespace the namespace
 * @param serviceAccount the service account
 */
public record WorkloadIdentity(String trustDomain, String namespace, String serviceAccount) {

    private static final String SCHEME = "spiffe://";

    /** Validates the components. */
    public WorkloadIdentity {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(serviceAccount, "serviceAccount");
    }

    /**
     * Parses {@code spiffe://td/ns/<ns>/sa/<sa>}, the only form ztunnel accepts as an identity
     * (a service's {@code subjectAltNames} must have it).
     */
    public static Optional<WorkloadIdentity> parse(String uri) {
        Objects.requireNonNull(uri, "uri");
        if (!uri.startsWith(SCHEME)) {
            return Optional.empty();
        }
        String[] parts = uri.substring(SCHEME.length()).split("/", -1);
        if (parts.length != 5 || !"ns".equals(parts[1]) || !"sa".equals(parts[3])) {
            return Optional.empty();
        }
        for (String part : parts) {
            if (part.isEmpty()) {
                return Optional.empty();
            }
        }
        if (!SpiffeIds.isValid(uri)) {
            return Optional.empty();
        }
        return Optional.of(new WorkloadIdentity(parts[0], parts[2], parts[4]));
    }

    /**
     * Returns the identity as a java-spiffe {@link SpiffeId}, the type the TLS layer binds.
     *
     * @throws dev.hbone.spiffe.InvalidSpiffeIdException when a part is not valid in a SPIFFE ID (the
     *     configuration loader refuses such workloads)
     */
    public SpiffeId toSpiffeId() {
        return SpiffeIds.kubernetes(trustDomain, namespace, serviceAccount);
    }

    /** Returns the SPIFFE URI. */
    public String toSpiffeUri() {
        return SCHEME + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
    }

    /** Returns the SPIFFE URI. */
    @Override
    public String toString() {
        return toSpiffeUri();
    }
}
