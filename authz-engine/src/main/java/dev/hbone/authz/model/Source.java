package dev.hbone.authz.model;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * {@code rules[].from[].source}: fields are AND'ed, values of one field are OR'ed, a {@code notX} field must
 * match none of its values. Empty lists mean "not set".
 *
 * @param principals           peer identities without {@code spiffe://} (L4)
 * @param notPrincipals        negated principals (L4)
 * @param requestPrincipals    JWT {@code iss/sub} (L7)
 * @param notRequestPrincipals negated request principals (L7)
 * @param namespaces           peer namespaces (L4)
 * @param notNamespaces        negated namespaces (L4)
 * @param serviceAccounts      {@code ns/sa} or {@code sa} (the policy's namespace) (L4)
 * @param notServiceAccounts   negated service accounts (L4)
 * @param ipBlocks             peer IPs/CIDRs (L4)
 * @param notIpBlocks          negated peer IPs (L4)
 * @param remoteIpBlocks       original client IPs (X-Forwarded-For) (L7)
 * @param notRemoteIpBlocks    negated remote IPs (L7)
 */
public record Source(
        List<String> principals, List<String> notPrincipals,
        List<String> requestPrincipals, List<String> notRequestPrincipals,
        List<String> namespaces, List<String> notNamespaces,
        List<String> serviceAccounts, List<String> notServiceAccounts,
        List<String> ipBlocks, List<String> notIpBlocks,
        List<String> remoteIpBlocks, List<String> notRemoteIpBlocks) {
    /** Copies the lists. */
    public Source {
        principals = List.copyOf(requireNonNull(principals, "principals"));
        notPrincipals = List.copyOf(requireNonNull(notPrincipals, "notPrincipals"));
        requestPrincipals = List.copyOf(requireNonNull(requestPrincipals, "requestPrincipals"));
        notRequestPrincipals = List.copyOf(requireNonNull(notRequestPrincipals, "notRequestPrincipals"));
        namespaces = List.copyOf(requireNonNull(namespaces, "namespaces"));
        notNamespaces = List.copyOf(requireNonNull(notNamespaces, "notNamespaces"));
        serviceAccounts = List.copyOf(requireNonNull(serviceAccounts, "serviceAccounts"));
        notServiceAccounts = List.copyOf(requireNonNull(notServiceAccounts, "notServiceAccounts"));
        ipBlocks = List.copyOf(requireNonNull(ipBlocks, "ipBlocks"));
        notIpBlocks = List.copyOf(requireNonNull(notIpBlocks, "notIpBlocks"));
        remoteIpBlocks = List.copyOf(requireNonNull(remoteIpBlocks, "remoteIpBlocks"));
        notRemoteIpBlocks = List.copyOf(requireNonNull(notRemoteIpBlocks, "notRemoteIpBlocks"));
    }

    /** Returns true if no field is set (Istio rejects such a source). */
    public boolean isEmpty() {
        return principals.isEmpty() && notPrincipals.isEmpty() && requestPrincipals.isEmpty()
                && notRequestPrincipals.isEmpty() && namespaces.isEmpty() && notNamespaces.isEmpty()
                && serviceAccounts.isEmpty() && notServiceAccounts.isEmpty() && ipBlocks.isEmpty()
                && notIpBlocks.isEmpty() && remoteIpBlocks.isEmpty() && notRemoteIpBlocks.isEmpty();
    }
}
