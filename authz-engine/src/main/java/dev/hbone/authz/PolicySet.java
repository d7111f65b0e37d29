package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

import dev.hbone.authz.model.AuthorizationPolicy;
import dev.hbone.authz.model.CompactPolicy;
import dev.hbone.authz.model.PeerAuthentication;
import java.util.ArrayList;
import java.util.List;

/** An immutable collection of policies as loaded: the input of {@link #compile(CompileOptions)}. */
public final class PolicySet {
    private static final PolicySet EMPTY = new PolicySet(List.of(), List.of(), List.of());

    private final List<AuthorizationPolicy> authorizationPolicies;
    private final List<PeerAuthentication> peerAuthentications;
    private final List<CompactPolicy> compactPolicies;

    private PolicySet(List<AuthorizationPolicy> a, List<PeerAuthentication> p, List<CompactPolicy> c) {
        this.authorizationPolicies = List.copyOf(a);
        this.peerAuthentications = List.copyOf(p);
        this.compactPolicies = List.copyOf(c);
    }

    /** The empty set (everything allowed). */
    public static PolicySet empty() {
        return EMPTY;
    }

    /** Creates a set. */
    public static PolicySet of(List<AuthorizationPolicy> authorizationPolicies,
            List<PeerAuthentication> peerAuthentications, List<CompactPolicy> compactPolicies) {
        return new PolicySet(requireNonNull(authorizationPolicies, "authorizationPolicies"),
                requireNonNull(peerAuthentications, "peerAuthentications"),
                requireNonNull(compactPolicies, "compactPolicies"));
    }

    /** AuthorizationPolicies. */
    public List<AuthorizationPolicy> authorizationPolicies() {
        return authorizationPolicies;
    }

    /** PeerAuthentications. */
    public List<PeerAuthentication> peerAuthentications() {
        return peerAuthentications;
    }

    /** ztunnel compact policies. */
    public List<CompactPolicy> compactPolicies() {
        return compactPolicies;
    }

    /** Returns the union of this set and {@code other}. */
    public PolicySet plus(PolicySet other) {
        requireNonNull(other, "other");
        List<AuthorizationPolicy> a = new ArrayList<>(authorizationPolicies);
        a.addAll(other.authorizationPolicies);
        List<PeerAuthentication> p = new ArrayList<>(peerAuthentications);
        p.addAll(other.peerAuthentications);
        List<CompactPolicy> c = new ArrayList<>(compactPolicies);
        c.addAll(other.compactPolicies);
        return new PolicySet(a, p, c);
    }

    /** Total number of resources. */
    public int size() {
        return authorizationPolicies.size() + peerAuthentications.size() + compactPolicies.size();
    }

    /**
     * Compiles for an enforcement point. Throws IllegalArgumentException if a policy is invalid (policies from
     * {@link PolicyLoader} have been validated already).
     */
    public CompiledPolicies compile(CompileOptions options) {
        return new CompiledPolicies(this, requireNonNull(options, "options"));
    }
}
