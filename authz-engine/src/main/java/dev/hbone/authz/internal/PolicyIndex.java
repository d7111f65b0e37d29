package dev.hbone.authz.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Policies of one action in one scope, indexed by their first (sorted) selector label so a workload only
 * visits policies whose first label it carries. Immutable; scanning never allocates.
 */
public final class PolicyIndex {
    /** No policy applies. */
    public static final long NONE = -1;
    /** At least one policy applies but none matched. */
    public static final long APPLIES = -2;

    private static final PolicyIndex EMPTY = new PolicyIndex(new CompiledPolicy[0], new String[0], List.of());

    private final CompiledPolicy[] unselected;
    private final String[] keys;
    private final List<Map<String, CompiledPolicy[]>> byValue;

    private PolicyIndex(CompiledPolicy[] unselected, String[] keys, List<Map<String, CompiledPolicy[]>> byValue) {
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
        List<Map<String, CompiledPolicy[]>> byValue = new ArrayList<>();
        for (String k : keys) {
            Map<String, CompiledPolicy[]> m = new HashMap<>();
            sel.get(k).forEach((v, ps) -> m.put(v, ps.toArray(CompiledPolicy[]::new)));
            byValue.add(m);
        }
        return new PolicyIndex(unsel.toArray(CompiledPolicy[]::new), keys, byValue);
    }

    /** True if it holds no policy. */
    public boolean isEmpty() {
        return unselected.length == 0 && keys.length == 0;
    }

    /**
     * Returns {@code (policyId << 32) | ruleIndex} of the first matching policy, else {@link #APPLIES} if a
     * policy applies to the workload, else {@link #NONE}.
     */
    public long first(Map<String, String> labels, ConnectionFacts c, RequestFacts r) {
        long acc = NONE;
        for (CompiledPolicy p : unselected) {
            int rule = p.firstMatchingRule(c, r);
            if (rule >= 0) {
                return ((long) p.id << 32) | rule;
            }
            acc = APPLIES;
        }
        for (int i = 0; i < keys.length; i++) {
            String v = labels.get(keys[i]);
            if (v == null) {
                continue;
            }
            CompiledPolicy[] ps = byValue.get(i).get(v);
            if (ps == null) {
                continue;
            }
            for (CompiledPolicy p : ps) {
                if (!p.selects(labels)) {
                    continue;
                }
                int rule = p.firstMatchingRule(c, r);
                if (rule >= 0) {
                    return ((long) p.id << 32) | rule;
                }
                acc = APPLIES;
            }
        }
        return acc;
    }

    /** Visits every policy that applies to the workload (allocates; for explanations and dry runs). */
    public void forEachApplicable(Map<String, String> labels, Consumer<CompiledPolicy> action) {
        for (CompiledPolicy p : unselected) {
            action.accept(p);
        }
        for (int i = 0; i < keys.length; i++) {
            String v = labels.get(keys[i]);
            CompiledPolicy[] ps = v == null ? null : byValue.get(i).get(v);
            if (ps != null) {
                for (CompiledPolicy p : ps) {
                    if (p.selects(labels)) {
                        action.accept(p);
                    }
                }
            }
        }
    }
}
