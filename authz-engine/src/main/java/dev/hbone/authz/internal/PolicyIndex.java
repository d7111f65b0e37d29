package dev.hbone.authz.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Policies of one action in one scope, indexed by their first (sorted) selector label so a workload only
 * visits policies whose first label it carries, and within that by required exact peer principal so a
 * connection only evaluates the policies that name its peer (plus those that cannot be keyed). Immutable;
 * scanning never allocates. Visiting order is fixed at build time, so results are deterministic.
 */
public final class PolicyIndex {
    /** No policy applies. */
    public static final long NONE = -1;
    /** At least one policy applies but none matched. */
    public static final long APPLIES = -2;

    private static final PolicyIndex EMPTY = new PolicyIndex(Group.of(List.of()), new String[0], List.of());

    private final Group unselected;
    private final String[] keys;
    private final List<Map<String, Group>> byValue;

    private PolicyIndex(Group unselected, String[] keys, List<Map<String, Group>> byValue) {
        this.unselected = unselected;
        this.keys = keys;
        this.byValue = byValue;
    }

    /** The empty index. */
    public static PolicyIndex empty() {
        return EMPTY;
    }

    /** Builds from policies in a deterministic order (sorted by key). */
    public static PolicyIndex of(List<CompiledPolicy> policies) {
        if (policies.isEmpty()) {
            return EMPTY;
        }
        List<CompiledPolicy> sorted = new ArrayList<>(policies);
        sorted.sort(Comparator.comparing(p -> p.key));
        List<CompiledPolicy> unsel = new ArrayList<>();
        TreeMap<String, TreeMap<String, List<CompiledPolicy>>> sel = new TreeMap<>();
        for (CompiledPolicy p : sorted) {
            if (p.selectorKeys.length == 0) {
                unsel.add(p);
            } else {
                sel.computeIfAbsent(p.selectorKeys[0], k -> new TreeMap<>())
                        .computeIfAbsent(p.selectorValues[0], k -> new ArrayList<>()).add(p);
            }
        }
        String[] keys = sel.keySet().toArray(String[]::new);
        List<Map<String, Group>> byValue = new ArrayList<>();
        for (String k : keys) {
            Map<String, Group> m = new HashMap<>();
            sel.get(k).forEach((v, ps) -> m.put(v, Group.of(ps)));
            byValue.add(m);
        }
        return new PolicyIndex(Group.of(unsel), keys, byValue);
    }

    /** True if it holds no policy. */
    public boolean isEmpty() {
        return unselected.isEmpty() && keys.length == 0;
    }

    /**
     * Returns {@code (policyId << 32) | ruleIndex} of the first matching policy, else {@link #APPLIES} if a
     * policy applies to the workload, else {@link #NONE}.
     */
    public long first(Map<String, String> labels, ConnectionFacts c, RequestFacts r) {
        long acc = unselected.first(labels, c, r, false);
        if (acc >= 0) {
            return acc;
        }
        for (int i = 0; i < keys.length; i++) {
            String v = labels.get(keys[i]);
            if (v == null) {
                continue;
            }
            Group g = byValue.get(i).get(v);
            if (g == null) {
                continue;
            }
            long res = g.first(labels, c, r, true);
            if (res >= 0) {
                return res;
            }
            if (res == APPLIES) {
                acc = APPLIES;
            }
        }
        return acc;
    }

    /** Visits every policy that applies to the workload (allocates; for explanations and dry runs). */
    public void forEachApplicable(Map<String, String> labels, Consumer<CompiledPolicy> action) {
        unselected.forEach(labels, false, action);
        for (int i = 0; i < keys.length; i++) {
            String v = labels.get(keys[i]);
            Group g = v == null ? null : byValue.get(i).get(v);
            if (g != null) {
                g.forEach(labels, true, action);
            }
        }
    }

    /** Policies sharing a selector bucket: those keyed by required principal, and the rest. */
    private static final class Group {
        final CompiledPolicy[] scanned;
        final CompiledPolicy[] keyed;
        final Map<String, CompiledPolicy[]> byPrincipal;

        private Group(CompiledPolicy[] scanned, CompiledPolicy[] keyed, Map<String, CompiledPolicy[]> byPrincipal) {
            this.scanned = scanned;
            this.keyed = keyed;
            this.byPrincipal = byPrincipal;
        }

        static Group of(List<CompiledPolicy> sorted) {
            List<CompiledPolicy> scanned = new ArrayList<>();
            List<CompiledPolicy> keyed = new ArrayList<>();
            Map<String, List<CompiledPolicy>> by = new HashMap<>();
            for (CompiledPolicy p : sorted) {
                Set<String> req = p.requiredPrincipals();
                if (req == null) {
                    scanned.add(p);
                } else {
                    keyed.add(p);
                    for (String principal : req) {
                        by.computeIfAbsent(principal, k -> new ArrayList<>()).add(p);
                    }
                }
            }
            Map<String, CompiledPolicy[]> byPrincipal = new HashMap<>();
            by.forEach((k, v) -> byPrincipal.put(k, v.toArray(CompiledPolicy[]::new)));
            return new Group(scanned.toArray(CompiledPolicy[]::new), keyed.toArray(CompiledPolicy[]::new),
                    byPrincipal);
        }

        boolean isEmpty() {
            return scanned.length == 0 && keyed.length == 0;
        }

        long first(Map<String, String> labels, ConnectionFacts c, RequestFacts r, boolean checkSelector) {
            long acc = NONE;
            for (CompiledPolicy p : scanned) {
                if (checkSelector && !p.selects(labels)) {
                    continue;
                }
                int rule = p.firstMatchingRule(c, r);
                if (rule >= 0) {
                    return ((long) p.id << 32) | rule;
                }
                acc = APPLIES;
            }
            if (keyed.length == 0) {
                return acc;
            }
            CompiledPolicy[] candidates = c.principal == null ? null : byPrincipal.get(c.principal);
            if (candidates != null) {
                for (CompiledPolicy p : candidates) {
                    if (checkSelector && !p.selects(labels)) {
                        continue;
                    }
                    acc = APPLIES;
                    int rule = p.firstMatchingRule(c, r);
                    if (rule >= 0) {
                        return ((long) p.id << 32) | rule;
                    }
                }
            }
            if (acc == NONE) {
                if (!checkSelector) {
                    return APPLIES;
                }
                for (CompiledPolicy p : keyed) {
                    if (p.selects(labels)) {
                        return APPLIES;
                    }
                }
            }
            return acc;
        }

        void forEach(Map<String, String> labels, boolean checkSelector, Consumer<CompiledPolicy> action) {
            for (CompiledPolicy p : scanned) {
                if (!checkSelector || p.selects(labels)) {
                    action.accept(p);
                }
            }
            for (CompiledPolicy p : keyed) {
                if (!checkSelector || p.selects(labels)) {
                    action.accept(p);
                }
            }
        }
    }
}
