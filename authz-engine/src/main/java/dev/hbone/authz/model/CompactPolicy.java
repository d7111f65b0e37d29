package dev.hbone.authz.model;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * One entry of the {@code policies} list of ztunnel's local configuration: an already L4-only policy.
 * {@code rules} is three levels deep: rules (OR) → clauses (AND) → matches (OR). No rules = matches nothing; a
 * rule with no clauses matches everything; a clause with no matches is satisfied.
 *
 * @param name      name
 * @param namespace namespace
 * @param scope     scope
 * @param action    ALLOW or DENY
 * @param dryRun    evaluated and reported, never enforced
 * @param rules     rules → clauses → matches
 */
public record CompactPolicy(
        String name, String namespace, CompactScope scope, Action action, boolean dryRun,
        List<List<List<CompactMatch>>> rules) {
    /** Copies the lists. */
    public CompactPolicy {
        requireNonNull(name, "name");
        requireNonNull(namespace, "namespace");
        requireNonNull(scope, "scope");
        requireNonNull(action, "action");
        if (action != Action.ALLOW && action != Action.DENY) {
            throw new IllegalArgumentException("compact policies are ALLOW or DENY, not " + action);
        }
        rules = requireNonNull(rules, "rules").stream()
                .map(r -> r.stream().map(List::copyOf).toList()).toList();
    }

    /** Returns {@code namespace/name}. */
    public String key() {
        return namespace + "/" + name;
    }
}
