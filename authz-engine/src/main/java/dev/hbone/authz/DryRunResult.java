package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

import dev.hbone.authz.model.Action;

/**
 * What a dry-run policy would have done: evaluated and reported, never enforced.
 *
 * @param policy    {@code namespace/name}
 * @param action    its action
 * @param matched   true if a rule matched
 * @param ruleIndex the matching rule, or -1
 */
public record DryRunResult(String policy, Action action, boolean matched, int ruleIndex) {
    /** Validates. */
    public DryRunResult {
        requireNonNull(policy, "policy");
        requireNonNull(action, "action");
    }

    @Override
    public String toString() {
        return policy + "(" + action + (matched ? " matched rule " + ruleIndex : " no match") + ")";
    }
}
