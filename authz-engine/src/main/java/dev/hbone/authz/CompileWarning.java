package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

/**
 * Something the compiler changed or ignored while preparing policies for an enforcement point.
 *
 * @param severity  INFO (expected conversion) or WARNING (the policy does not do what it says here)
 * @param policy    {@code namespace/name}
 * @param ruleIndex the rule concerned, or -1 for the whole policy
 * @param message   what happened and what to do
 */
public record CompileWarning(Severity severity, String policy, int ruleIndex, String message) {
    /** How serious. */
    public enum Severity {
        /** An expected, documented conversion. */
        INFO,
        /** The policy is not enforced as written at this enforcement point. */
        WARNING
    }

    /** Validates. */
    public CompileWarning {
        requireNonNull(severity, "severity");
        requireNonNull(policy, "policy");
        requireNonNull(message, "message");
    }

    @Override
    public String toString() {
        return severity + " " + policy + (ruleIndex >= 0 ? " rule " + ruleIndex : "") + ": " + message;
    }
}
