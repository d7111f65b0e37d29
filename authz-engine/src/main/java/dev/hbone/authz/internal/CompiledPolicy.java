package dev.hbone.authz.internal;

import dev.hbone.authz.CompileWarning;
import dev.hbone.authz.model.Action;
import java.util.List;
import java.util.Map;

/** One policy in evaluation-ready form: rules (OR) → clauses (AND) → matches (OR) → conditions (AND). */
public final class CompiledPolicy {
    /** Dense id inside one compiled snapshot. */
    public final int id;
    /** {@code namespace/name}. */
    public final String key;
    /** Namespace. */
    public final String namespace;
    /** Action. */
    public final Action action;
    /** Dry run. */
    public final boolean dryRun;
    /** CUSTOM provider or null. */
    public final String provider;
    /** Selector keys (parallel to {@link #selectorValues}); empty = no selector. */
    public final String[] selectorKeys;
    /** Selector values. */
    public final String[] selectorValues;
    /** Rules. */
    public final Rule[] rules;
    /** "AuthorizationPolicy" or "ztunnel policy". */
    public final String origin;
    /** Warnings produced while compiling this policy. */
    public final List<CompileWarning> warnings;

    /** Creates. */
    public CompiledPolicy(int id, String key, String namespace, Action action, boolean dryRun, String provider,
            Map<String, String> selector, Rule[] rules, String origin, List<CompileWarning> warnings) {
        this.id = id;
        this.key = key;
        this.namespace = namespace;
        this.action = action;
        this.dryRun = dryRun;
        this.provider = provider;
        String[] keys = selector.keySet().stream().sorted().toArray(String[]::new);
        this.selectorKeys = keys;
        this.selectorValues = new String[keys.length];
        for (int i = 0; i < keys.length; i++) {
            selectorValues[i] = selector.get(keys[i]);
        }
        this.rules = rules;
        this.origin = origin;
        this.warnings = List.copyOf(warnings);
    }

    /**
     * The exact peer principals without which no rule can match (every rule has a clause whose every match
     * requires one of them), or null if the policy cannot be keyed by principal. Lets an index skip the policy
     * for other peers.
     */
    public java.util.Set<String> requiredPrincipals() {
        if (rules.length == 0) {
            return null;
        }
        java.util.Set<String> all = new java.util.TreeSet<>();
        for (Rule rule : rules) {
            java.util.Set<String> forRule = null;
            for (Clause clause : rule.clauses) {
                java.util.Set<String> vals = clause.matches.length == 0 ? null : new java.util.TreeSet<>();
                for (int i = 0; vals != null && i < clause.matches.length; i++) {
                    String[] ex = null;
                    for (Cond cond : clause.matches[i].conds) {
                        if (cond instanceof Cond.StringCond sc && sc.exactPrincipals() != null) {
                            ex = sc.exactPrincipals();
                            break;
                        }
                    }
                    if (ex == null) {
                        vals = null;
                    } else {
                        vals.addAll(java.util.List.of(ex));
                    }
                }
                if (vals != null) {
                    forRule = vals;
                    break;
                }
            }
            if (forRule == null) {
                return null;
            }
            all.addAll(forRule);
        }
        return all;
    }

    /** True if every selector label is present on the workload. */
    public boolean selects(Map<String, String> labels) {
        for (int i = 0; i < selectorKeys.length; i++) {
            if (!selectorValues[i].equals(labels.get(selectorKeys[i]))) {
                return false;
            }
        }
        return true;
    }

    /** Returns the index (in the source policy) of the first matching rule, or -1. Never allocates. */
    public int firstMatchingRule(ConnectionFacts c, RequestFacts r) {
        for (Rule rule : rules) {
            if (rule.test(c, r)) {
                return rule.sourceIndex;
            }
        }
        return -1;
    }

    /** One rule: all clauses must hold. */
    public static final class Rule {
        /** Index of the rule in the source policy. */
        public final int sourceIndex;
        /** Clauses. */
        public final Clause[] clauses;

        /** Creates. */
        public Rule(int sourceIndex, Clause[] clauses) {
            this.sourceIndex = sourceIndex;
            this.clauses = clauses;
        }

        boolean test(ConnectionFacts c, RequestFacts r) {
            for (Clause clause : clauses) {
                if (!clause.test(c, r)) {
                    return false;
                }
            }
            return true;
        }
    }

    /** One clause: any match must hold; a clause without matches holds. */
    public static final class Clause {
        /** Matches. */
        public final Match[] matches;

        /** Creates. */
        public Clause(Match[] matches) {
            this.matches = matches;
        }

        boolean test(ConnectionFacts c, RequestFacts r) {
            if (matches.length == 0) {
                return true;
            }
            for (Match m : matches) {
                if (m.test(c, r)) {
                    return true;
                }
            }
            return false;
        }
    }

    /** One match: all conditions must hold; a match without conditions never matches (as in ztunnel). */
    public static final class Match {
        /** Conditions. */
        public final Cond[] conds;

        /** Creates. */
        public Match(Cond[] conds) {
            this.conds = conds;
        }

        boolean test(ConnectionFacts c, RequestFacts r) {
            if (conds.length == 0) {
                return false;
            }
            for (Cond cond : conds) {
                if (!cond.test(c, r)) {
                    return false;
                }
            }
            return true;
        }
    }
}
