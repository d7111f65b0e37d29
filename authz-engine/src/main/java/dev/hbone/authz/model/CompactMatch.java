package dev.hbone.authz.model;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * One match of ztunnel's compact form: all set fields must hold (AND), values of one field are OR'ed, the
 * {@code not*} fields must match none of their values. A match with no field set never matches (as in ztunnel).
 *
 * @param namespaces          peer namespaces
 * @param notNamespaces       negated namespaces
 * @param serviceAccounts     peer service accounts
 * @param notServiceAccounts  negated service accounts
 * @param principals          peer identities without {@code spiffe://}
 * @param notPrincipals       negated principals
 * @param sourceIps           peer CIDRs
 * @param notSourceIps        negated peer CIDRs
 * @param destinationIps      destination CIDRs
 * @param notDestinationIps   negated destination CIDRs
 * @param destinationPorts    destination ports
 * @param notDestinationPorts negated destination ports
 */
public record CompactMatch(
        List<StringMatch> namespaces, List<StringMatch> notNamespaces,
        List<ServiceAccountMatch> serviceAccounts, List<ServiceAccountMatch> notServiceAccounts,
        List<StringMatch> principals, List<StringMatch> notPrincipals,
        List<String> sourceIps, List<String> notSourceIps,
        List<String> destinationIps, List<String> notDestinationIps,
        List<Integer> destinationPorts, List<Integer> notDestinationPorts) {
    /** Copies the lists. */
    public CompactMatch {
        namespaces = List.copyOf(requireNonNull(namespaces, "namespaces"));
        notNamespaces = List.copyOf(requireNonNull(notNamespaces, "notNamespaces"));
        serviceAccounts = List.copyOf(requireNonNull(serviceAccounts, "serviceAccounts"));
        notServiceAccounts = List.copyOf(requireNonNull(notServiceAccounts, "notServiceAccounts"));
        principals = List.copyOf(requireNonNull(principals, "principals"));
        notPrincipals = List.copyOf(requireNonNull(notPrincipals, "notPrincipals"));
        sourceIps = List.copyOf(requireNonNull(sourceIps, "sourceIps"));
        notSourceIps = List.copyOf(requireNonNull(notSourceIps, "notSourceIps"));
        destinationIps = List.copyOf(requireNonNull(destinationIps, "destinationIps"));
        notDestinationIps = List.copyOf(requireNonNull(notDestinationIps, "notDestinationIps"));
        destinationPorts = List.copyOf(requireNonNull(destinationPorts, "destinationPorts"));
        notDestinationPorts = List.copyOf(requireNonNull(notDestinationPorts, "notDestinationPorts"));
    }
}
