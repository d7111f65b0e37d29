package dev.hbone.authz;

import dev.hbone.authz.internal.PolicyCompiler;
import dev.hbone.authz.model.Action;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The outcome of one evaluation, with what decided it. Common outcomes are shared, preallocated instances;
 * lists that need a search (candidate policies of a "no ALLOW matched" denial) are built on first request.
 */
public final class Decision {
    /** Why the decision was taken. */
    public enum Reason {
        /** No ALLOW policy applies to the destination (and no DENY matched): allowed. */
        NO_ALLOW_POLICY("no-allow-policy"),
        /** An ALLOW policy matched. */
        ALLOW_MATCHED("allow-matched"),
        /** A DENY policy matched. */
        DENY_MATCHED("deny-matched"),
        /** ALLOW policies apply but none matched. */
        NO_ALLOW_MATCHED("no-allow-matched"),
        /** PeerAuthentication STRICT and the connection has no peer identity. */
        PLAINTEXT_REJECTED("peer-authn-strict");

        private final String logName;

        Reason(String logName) {
            this.logName = logName;
        }

        /** The short form used by {@link Decision#toLogString()}. */
        public String logName() {
            return logName;
        }
    }

    /**
     * {@link #policyKind()} of a decision taken by Istio's implicit waypoint ALLOW ({@code
     * istio_allow_waypoint_<ns>_<name>}), whether modelled from {@link Destination#waypointIdentities()} or
     * received as a ztunnel policy of that name.
     */
    public static final String IMPLICIT_WAYPOINT_POLICY = "implicit waypoint policy";

    private final boolean allowed;
    private final Reason reason;
    private final String policy;
    private final String policyKind;
    private final int ruleIndex;
    private final List<CompileWarning> policyWarnings;
    private final Supplier<List<String>> candidateSource;
    private final Supplier<List<CompileWarning>> candidateWarnings;
    private final List<DryRunResult> dryRun;
    private final boolean dryRunAllowed;
    private final String externalAuthorizer;
    private final List<String> audits;
    private volatile List<String> candidates;

    Decision(boolean allowed, Reason reason, String policy, String policyKind, int ruleIndex,
            List<CompileWarning> policyWarnings, Supplier<List<String>> candidateSource,
            Supplier<List<CompileWarning>> candidateWarnings, List<DryRunResult> dryRun, boolean dryRunAllowed,
            String externalAuthorizer, List<String> audits) {
        this.allowed = allowed;
        this.reason = reason;
        this.policy = policy;
        this.policyKind = policyKind;
        this.ruleIndex = ruleIndex;
        this.policyWarnings = policyWarnings;
        this.candidateSource = candidateSource;
        this.candidateWarnings = candidateWarnings;
        this.dryRun = dryRun;
        this.dryRunAllowed = dryRunAllowed;
        this.externalAuthorizer = externalAuthorizer;
        this.audits = audits;
    }

    static Decision simple(boolean allowed, Reason reason, String policy, String kind, int rule,
            List<CompileWarning> warnings) {
        return new Decision(allowed, reason, policy, kind, rule, warnings, null, null, List.of(), allowed, null,
                List.of());
    }

    Decision withExtras(List<DryRunResult> dryRunResults, boolean wouldAllow, String provider, List<String> audit) {
        return new Decision(allowed, reason, policy, policyKind, ruleIndex, policyWarnings, candidateSource,
                candidateWarnings, List.copyOf(dryRunResults), wouldAllow, provider, List.copyOf(audit));
    }

    /** True if the connection or request may proceed (subject to {@link #externalAuthorizer()}). */
    public boolean allowed() {
        return allowed;
    }

    /** Why. */
    public Reason reason() {
        return reason;
    }

    /** {@code namespace/name} of the deciding policy (AuthorizationPolicy, ztunnel policy or PeerAuthentication), or null. */
    public String policy() {
        return policy;
    }

    /** What kind of resource {@link #policy()} is, or null. */
    public String policyKind() {
        return policyKind;
    }

    /** Index of the deciding rule in {@link #policy()}, or -1. */
    public int ruleIndex() {
        return ruleIndex;
    }

    /** For {@link Reason#NO_ALLOW_MATCHED}: the ALLOW policies that applied (sorted); empty otherwise. */
    public List<String> candidatePolicies() {
        List<String> c = candidates;
        if (c == null) {
            c = candidateSource == null ? List.of() : List.copyOf(candidateSource.get());
            candidates = c;
        }
        return c;
    }

    /** Results of dry-run policies that applied: reported, not enforced. */
    public List<DryRunResult> dryRunResults() {
        return dryRun;
    }

    /** What {@link #allowed()} would be if the dry-run policies were enforced too. */
    public boolean dryRunAllowed() {
        return dryRunAllowed;
    }

    /**
     * If a CUSTOM policy matched: the ext-authz provider that must also allow the request; else null. Only
     * HTTP-aware enforcement points produce this.
     */
    public String externalAuthorizer() {
        return externalAuthorizer;
    }

    /** AUDIT policies that matched (the request should be audit-logged); empty if none. */
    public List<String> auditPolicies() {
        return audits;
    }

    /** Compile warnings about the deciding (or candidate) policies: e.g. a DENY that cannot act at L4. */
    public List<CompileWarning> warnings() {
        if (candidateWarnings != null) {
            List<CompileWarning> all = new ArrayList<>(policyWarnings);
            all.addAll(candidateWarnings.get());
            return all;
        }
        return policyWarnings;
    }

    /** One line for access logs, e.g. {@code deny reason=deny-matched policy=ns/name rule=0}. */
    public String toLogString() {
        StringBuilder sb = new StringBuilder(64);
        sb.append(allowed ? "allow" : "deny").append(" reason=").append(reason.logName);
        if (policy != null) {
            sb.append(" policy=").append(policy);
        }
        if (ruleIndex >= 0) {
            sb.append(" rule=").append(ruleIndex);
        }
        if (reason == Reason.NO_ALLOW_MATCHED) {
            sb.append(" candidates=").append(String.join(",", candidatePolicies()));
        }
        if (!dryRun.isEmpty()) {
            sb.append(" dry-run=").append(dryRunAllowed ? "allow" : "deny").append(dryRun);
        }
        if (externalAuthorizer != null) {
            sb.append(" ext-authz=").append(externalAuthorizer);
        }
        if (!audits.isEmpty()) {
            sb.append(" audit=").append(String.join(",", audits));
        }
        int w = (int) warnings().stream().filter(x -> x.severity() == CompileWarning.Severity.WARNING).count();
        if (w > 0) {
            sb.append(" warnings=").append(w);
        }
        // Names come from user files (ztunnel policy names are free-form): never let one split the log line.
        return PolicyCompiler.escape(sb.toString());
    }

    /** A few lines a person can read: the verdict, why, dry-run results and warnings. */
    public String explain() {
        String policy = this.policy == null ? null : PolicyCompiler.escape(this.policy);
        StringBuilder sb = new StringBuilder();
        sb.append(allowed ? "ALLOW" : "DENY").append(": ");
        switch (reason) {
            case NO_ALLOW_POLICY -> sb.append("no DENY matched and no ALLOW policy applies to the destination");
            case ALLOW_MATCHED -> {
                if (IMPLICIT_WAYPOINT_POLICY.equals(policyKind)) {
                    sb.append("allowed by the implicit waypoint policy ").append(policy)
                            .append(" (the peer is the waypoint's identity; no DENY matched)");
                } else {
                    sb.append("rule ").append(ruleIndex).append(" of ").append(policyKind).append(' ')
                            .append(policy).append(" matched (no DENY matched)");
                }
            }
            case DENY_MATCHED -> sb.append("rule ").append(ruleIndex).append(" of DENY ").append(policyKind)
                    .append(' ').append(policy).append(" matched");
            case NO_ALLOW_MATCHED -> sb.append("ALLOW policies apply but none matched; candidates: ")
                    .append(PolicyCompiler.escape(String.join(", ", candidatePolicies())));
            case PLAINTEXT_REJECTED -> sb.append("PeerAuthentication ").append(policy)
                    .append(" requires mTLS (STRICT) on this port and the connection has no peer identity");
            default -> throw new AssertionError(reason);
        }
        sb.append('\n');
        if (externalAuthorizer != null) {
            sb.append("  CUSTOM: the request must also be allowed by ext-authz provider ").append(PolicyCompiler.escape(externalAuthorizer))
                    .append('\n');
        }
        if (!audits.isEmpty()) {
            sb.append("  AUDIT: matched ").append(PolicyCompiler.escape(String.join(", ", audits))).append('\n');
        }
        for (DryRunResult r : dryRun) {
            sb.append("  dry-run ").append(PolicyCompiler.escape(r.toString())).append('\n');
        }
        if (!dryRun.isEmpty()) {
            sb.append("  with dry-run policies enforced: ").append(dryRunAllowed ? "ALLOW" : "DENY").append('\n');
        }
        for (CompileWarning w : warnings()) {
            sb.append("  ").append(PolicyCompiler.escape(w.toString())).append('\n');
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return toLogString();
    }
}
