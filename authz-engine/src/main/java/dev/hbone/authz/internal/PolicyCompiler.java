package dev.hbone.authz.internal;

import dev.hbone.authz.CompileWarning;
import dev.hbone.authz.model.Action;
import dev.hbone.authz.model.AuthorizationPolicy;
import dev.hbone.authz.model.CompactMatch;
import dev.hbone.authz.model.CompactPolicy;
import dev.hbone.authz.model.CompactScope;
import dev.hbone.authz.model.Condition;
import dev.hbone.authz.model.Operation;
import dev.hbone.authz.model.Rule;
import dev.hbone.authz.model.ServiceAccountMatch;
import dev.hbone.authz.model.Source;
import dev.hbone.authz.model.StringMatch;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Turns policies into {@link CompiledPolicy}. With {@code l4Only} it applies Istio's ztunnel conversion: an
 * ALLOW rule using any L7 attribute is dropped; a DENY rule loses its L7 parts.
 */
public final class PolicyCompiler {
    /** {@code when} keys ztunnel can evaluate. */
    public static final Set<String> L4_WHEN_KEYS =
            Set.of("source.ip", "source.namespace", "source.principal", "destination.ip", "destination.port");

    private static final Set<String> L7_WHEN_KEYS = Set.of("remote.ip", "request.auth.principal",
            "request.auth.audiences", "request.auth.presenter", "connection.sni");

    private final boolean l4Only;
    private final boolean failClosed;

    /**
     * Creates a compiler.
     *
     * @param l4Only     convert for an L4 enforcement point (ztunnel)
     * @param failClosed at L4, treat the removed L7 parts of a DENY rule as matching (deny more) instead of
     *                   Istio's behaviour (the emptied part never matches)
     */
    public PolicyCompiler(boolean l4Only, boolean failClosed) {
        this.l4Only = l4Only;
        this.failClosed = failClosed;
    }

    /** Validates a policy completely (every field, as for an HTTP enforcement point); throws PolicyException. */
    public static void validate(AuthorizationPolicy p) {
        new PolicyCompiler(false, false).compile(0, p, new ArrayList<>());
        if (p.action() == Action.CUSTOM && (p.provider() == null || p.provider().isEmpty())) {
            throw new PolicyException("spec.provider.name", "a CUSTOM policy needs a provider");
        }
        if (p.action() != Action.CUSTOM && p.provider() != null) {
            throw new PolicyException("spec.provider", "only a CUSTOM policy may name a provider");
        }
        if (!p.selector().isEmpty() && !p.targetRefs().isEmpty()) {
            throw new PolicyException("spec", "selector and targetRefs are mutually exclusive");
        }
    }

    /** Compiles an AuthorizationPolicy; warnings go to {@code warnings}. */
    public CompiledPolicy compile(int id, AuthorizationPolicy p, List<CompileWarning> warnings) {
        List<CompileWarning> own = new ArrayList<>();
        List<CompiledPolicy.Rule> rules = new ArrayList<>();
        boolean deny = p.action() == Action.DENY;
        for (int i = 0; i < p.rules().size(); i++) {
            String path = "spec.rules[" + i + "]";
            Rule r = p.rules().get(i);
            Set<String> l7 = new LinkedHashSet<>();
            List<CompiledPolicy.Clause> clauses = new ArrayList<>();
            if (!r.to().isEmpty()) {
                List<CompiledPolicy.Match> ms = new ArrayList<>();
                for (int j = 0; j < r.to().size(); j++) {
                    ms.add(match(operation(r.to().get(j), path + ".to[" + j + "].operation"), l7));
                }
                clauses.add(new CompiledPolicy.Clause(ms.toArray(CompiledPolicy.Match[]::new)));
            }
            if (!r.from().isEmpty()) {
                List<CompiledPolicy.Match> ms = new ArrayList<>();
                for (int j = 0; j < r.from().size(); j++) {
                    ms.add(match(source(r.from().get(j), p.namespace(), path + ".from[" + j + "].source"), l7));
                }
                clauses.add(new CompiledPolicy.Clause(ms.toArray(CompiledPolicy.Match[]::new)));
            }
            for (int j = 0; j < r.when().size(); j++) {
                Cond c = when(r.when().get(j), path + ".when[" + j + "]");
                List<Cond> one = new ArrayList<>(List.of(c));
                clauses.add(new CompiledPolicy.Clause(new CompiledPolicy.Match[] {match(one, l7)}));
            }
            if (l4Only && !l7.isEmpty()) {
                if (!deny) {
                    own.add(new CompileWarning(CompileWarning.Severity.INFO, p.key(), i,
                            "ALLOW rule uses HTTP attributes " + l7 + " and is dropped at L4 (it can never allow "
                                    + "here); use a waypoint to enforce it"));
                    continue;
                }
                boolean inert = false;
                for (CompiledPolicy.Clause cl : clauses) {
                    boolean allEmpty = cl.matches.length > 0;
                    for (CompiledPolicy.Match m : cl.matches) {
                        allEmpty &= m.conds.length == 0;
                    }
                    inert |= allEmpty;
                }
                if (inert) {
                    own.add(new CompileWarning(CompileWarning.Severity.WARNING, p.key(), i,
                            "DENY rule uses HTTP attributes " + l7 + " and nothing L4 remains of a from/to/when part:"
                                    + " at L4 this rule never matches, so it denies nothing here (Istio behaves the"
                                    + " same, silently); attach the policy to a waypoint with targetRefs"));
                } else {
                    own.add(new CompileWarning(CompileWarning.Severity.INFO, p.key(), i,
                            "DENY rule enforced at L4 without its HTTP attributes " + l7
                                    + ": it denies more than requested"));
                }
            }
            rules.add(new CompiledPolicy.Rule(i, clauses.toArray(CompiledPolicy.Clause[]::new)));
        }
        if (l4Only && !deny && !p.rules().isEmpty() && rules.isEmpty()) {
            own.add(new CompileWarning(CompileWarning.Severity.WARNING, p.key(), -1,
                    "every rule of this ALLOW policy uses HTTP attributes: at L4 it matches nothing, so its "
                            + "workloads accept only what another ALLOW policy matches"));
        }
        warnings.addAll(own);
        return new CompiledPolicy(id, p.key(), p.namespace(), p.action(), p.dryRun(), p.provider(), p.selector(),
                rules.toArray(CompiledPolicy.Rule[]::new), "AuthorizationPolicy", own);
    }

    /** Compiles a ztunnel compact policy (already L4). */
    public static CompiledPolicy compile(int id, CompactPolicy p) {
        List<CompiledPolicy.Rule> rules = new ArrayList<>();
        for (int i = 0; i < p.rules().size(); i++) {
            List<List<CompactMatch>> rule = p.rules().get(i);
            CompiledPolicy.Clause[] clauses = new CompiledPolicy.Clause[rule.size()];
            for (int j = 0; j < rule.size(); j++) {
                List<CompactMatch> clause = rule.get(j);
                CompiledPolicy.Match[] ms = new CompiledPolicy.Match[clause.size()];
                for (int k = 0; k < clause.size(); k++) {
                    ms[k] = new CompiledPolicy.Match(compact(clause.get(k),
                            "rules[" + i + "][" + j + "][" + k + "]").toArray(Cond[]::new));
                }
                clauses[j] = new CompiledPolicy.Clause(ms);
            }
            rules.add(new CompiledPolicy.Rule(i, clauses));
        }
        return new CompiledPolicy(id, p.key(), p.namespace(), p.action(), p.dryRun(), null, Map.of(),
                rules.toArray(CompiledPolicy.Rule[]::new), p.action() == Action.ALLOW
                        && p.name().startsWith(dev.hbone.authz.WaypointIdentity.IMPLICIT_POLICY_PREFIX)
                        ? dev.hbone.authz.Decision.IMPLICIT_WAYPOINT_POLICY
                        : "ztunnel policy (" + scopeName(p.scope()) + ")", List.of());
    }

    private static String scopeName(CompactScope s) {
        return switch (s) {
            case GLOBAL -> "Global";
            case NAMESPACE -> "Namespace";
            case WORKLOAD_SELECTOR -> "WorkloadSelector";
        };
    }

    private CompiledPolicy.Match match(List<Cond> conds, Set<String> l7Seen) {
        if (!l4Only) {
            return new CompiledPolicy.Match(conds.toArray(Cond[]::new));
        }
        List<Cond> kept = new ArrayList<>();
        boolean droppedAny = false;
        for (Cond c : conds) {
            if (c.isL7()) {
                l7Seen.add(c.description.replaceAll(" \\[.*", ""));
                droppedAny = true;
            } else {
                kept.add(c);
            }
        }
        if (droppedAny && kept.isEmpty() && failClosed) {
            kept.add(new Cond.ConstCond(true, "(HTTP attributes assumed to match: fail-closed L4 conversion)"));
        }
        return new CompiledPolicy.Match(kept.toArray(Cond[]::new));
    }

    private static List<Cond> source(Source s, String policyNs, String path) {
        if (s.isEmpty()) {
            throw new PolicyException(path, "must not be empty");
        }
        List<Cond> out = new ArrayList<>();
        addStrings(out, "principals", Cond.Attr.PRINCIPAL, s.principals(), s.notPrincipals(), path, false);
        addStrings(out, "requestPrincipals", Cond.Attr.REQUEST_PRINCIPAL, s.requestPrincipals(),
                s.notRequestPrincipals(), path, false);
        addStrings(out, "namespaces", Cond.Attr.NAMESPACE, s.namespaces(), s.notNamespaces(), path, false);
        if (!s.serviceAccounts().isEmpty() || !s.notServiceAccounts().isEmpty()) {
            String[][] pos = serviceAccounts(s.serviceAccounts(), policyNs, path + ".serviceAccounts");
            String[][] neg = serviceAccounts(s.notServiceAccounts(), policyNs, path + ".notServiceAccounts");
            out.add(new Cond.ServiceAccountCond(pos == null ? null : pos[0], pos == null ? null : pos[1],
                    neg == null ? null : neg[0], neg == null ? null : neg[1]));
        }
        addIps(out, "ipBlocks", Cond.IpAttr.SOURCE, s.ipBlocks(), s.notIpBlocks(), path);
        addIps(out, "remoteIpBlocks", Cond.IpAttr.REMOTE, s.remoteIpBlocks(), s.notRemoteIpBlocks(), path);
        return out;
    }

    private static String[][] serviceAccounts(List<String> v, String policyNs, String path) {
        if (v.isEmpty()) {
            return null;
        }
        String[][] out = new String[2][v.size()];
        for (int i = 0; i < v.size(); i++) {
            String s = v.get(i);
            int slash = s.indexOf('/');
            if (s.isEmpty() || s.indexOf('*') >= 0 || (slash >= 0 && (slash == 0 || slash == s.length() - 1
                    || s.indexOf('/', slash + 1) >= 0))) {
                throw new PolicyException(path + "[" + i + "]", quote(s) + " is not a service account (ns/sa or sa)");
            }
            out[0][i] = slash < 0 ? policyNs : s.substring(0, slash);
            out[1][i] = slash < 0 ? s : s.substring(slash + 1);
        }
        return out;
    }

    private static List<Cond> operation(Operation o, String path) {
        if (o.isEmpty()) {
            throw new PolicyException(path, "must not be empty");
        }
        List<Cond> out = new ArrayList<>();
        addStrings(out, "hosts", Cond.Attr.HOST, o.hosts(), o.notHosts(), path, true);
        if (!o.ports().isEmpty() || !o.notPorts().isEmpty()) {
            out.add(new Cond.PortCond(ports(o.ports(), path + ".ports"), ports(o.notPorts(), path + ".notPorts")));
        }
        addStrings(out, "methods", Cond.Attr.METHOD, o.methods(), o.notMethods(), path, false);
        if (!o.paths().isEmpty() || !o.notPaths().isEmpty()) {
            out.add(new Cond.PathCond(paths(o.paths(), path + ".paths"), paths(o.notPaths(), path + ".notPaths")));
        }
        return out;
    }

    private static Cond when(Condition c, String path) {
        String key = c.key();
        if (c.values().isEmpty() && c.notValues().isEmpty()) {
            throw new PolicyException(path, "values or notValues must be set");
        }
        List<String> v = c.values();
        List<String> nv = c.notValues();
        String vp = path + ".values";
        String np = path + ".notValues";
        switch (key) {
            case "source.ip":
                return new Cond.IpCond(key, Cond.IpAttr.SOURCE, cidrs(v, vp), cidrs(nv, np));
            case "remote.ip":
                return new Cond.IpCond(key, Cond.IpAttr.REMOTE, cidrs(v, vp), cidrs(nv, np));
            case "destination.ip":
                return new Cond.IpCond(key, Cond.IpAttr.DESTINATION, cidrs(v, vp), cidrs(nv, np));
            case "destination.port":
                return new Cond.PortCond(ports(v, vp), ports(nv, np));
            case "source.namespace":
                return new Cond.StringCond(key, Cond.Attr.NAMESPACE, strings(v, false), strings(nv, false));
            case "source.principal":
                return new Cond.StringCond(key, Cond.Attr.PRINCIPAL, strings(v, false), strings(nv, false));
            case "request.auth.principal":
                return new Cond.StringCond(key, Cond.Attr.REQUEST_PRINCIPAL, strings(v, false), strings(nv, false));
            case "request.auth.audiences":
                return new Cond.StringCond(key, Cond.Attr.AUDIENCES, strings(v, false), strings(nv, false));
            case "request.auth.presenter":
                return new Cond.StringCond(key, Cond.Attr.PRESENTER, strings(v, false), strings(nv, false));
            case "connection.sni":
                return new Cond.StringCond(key, Cond.Attr.SNI, strings(v, false), strings(nv, false));
            default:
                break;
        }
        if (key.startsWith("request.headers[") && key.endsWith("]") && key.length() > "request.headers[]".length()) {
            String name = key.substring("request.headers[".length(), key.length() - 1);
            if (name.indexOf('[') >= 0 || name.indexOf(']') >= 0) {
                throw new PolicyException(path + ".key", quote(key) + " has a malformed header name");
            }
            return new Cond.HeaderCond(name.toLowerCase(Locale.ROOT), strings(v, false), strings(nv, false));
        }
        if (key.startsWith("request.auth.claims[") && key.endsWith("]")) {
            String inner = key.substring("request.auth.claims[".length(), key.length() - 1);
            String[] parts = inner.split("\\]\\[", -1);
            for (String part : parts) {
                if (part.isEmpty() || part.indexOf('[') >= 0 || part.indexOf(']') >= 0) {
                    throw new PolicyException(path + ".key", quote(key) + " has a malformed claim path");
                }
            }
            return new Cond.ClaimCond(parts, strings(v, false), strings(nv, false));
        }
        throw new PolicyException(path + ".key", quote(key) + " is not a supported condition key");
    }

    /** True if the key is one of the keys {@link #when} accepts. */
    static boolean isL7WhenKey(String key) {
        return L7_WHEN_KEYS.contains(key) || key.startsWith("request.");
    }

    private static List<Cond> compact(CompactMatch m, String path) {
        List<Cond> out = new ArrayList<>();
        if (!m.namespaces().isEmpty() || !m.notNamespaces().isEmpty()) {
            out.add(new Cond.StringCond("namespaces", Cond.Attr.NAMESPACE, sm(m.namespaces()), sm(m.notNamespaces())));
        }
        if (!m.serviceAccounts().isEmpty() || !m.notServiceAccounts().isEmpty()) {
            out.add(new Cond.ServiceAccountCond(saNs(m.serviceAccounts()), saName(m.serviceAccounts()),
                    saNs(m.notServiceAccounts()), saName(m.notServiceAccounts())));
        }
        if (!m.principals().isEmpty() || !m.notPrincipals().isEmpty()) {
            out.add(new Cond.StringCond("principals", Cond.Attr.PRINCIPAL, sm(m.principals()), sm(m.notPrincipals())));
        }
        if (!m.sourceIps().isEmpty() || !m.notSourceIps().isEmpty()) {
            out.add(new Cond.IpCond("sourceIps", Cond.IpAttr.SOURCE, cidrs(m.sourceIps(), path + ".sourceIps"),
                    cidrs(m.notSourceIps(), path + ".notSourceIps")));
        }
        if (!m.destinationIps().isEmpty() || !m.notDestinationIps().isEmpty()) {
            out.add(new Cond.IpCond("destinationIps", Cond.IpAttr.DESTINATION,
                    cidrs(m.destinationIps(), path + ".destinationIps"),
                    cidrs(m.notDestinationIps(), path + ".notDestinationIps")));
        }
        if (!m.destinationPorts().isEmpty() || !m.notDestinationPorts().isEmpty()) {
            out.add(new Cond.PortCond(ints(m.destinationPorts()), ints(m.notDestinationPorts())));
        }
        return out;
    }

    private static StringMatcher[] sm(List<StringMatch> v) {
        return v.isEmpty() ? null : v.stream().map(x -> StringMatcher.of(x, false)).toArray(StringMatcher[]::new);
    }

    private static String[] saNs(List<ServiceAccountMatch> v) {
        return v.isEmpty() ? null : v.stream().map(ServiceAccountMatch::namespace).toArray(String[]::new);
    }

    private static String[] saName(List<ServiceAccountMatch> v) {
        return v.isEmpty() ? null : v.stream().map(ServiceAccountMatch::serviceAccount).toArray(String[]::new);
    }

    private static int[] ints(List<Integer> v) {
        return v.isEmpty() ? null : v.stream().mapToInt(Integer::intValue).toArray();
    }

    private static void addStrings(List<Cond> out, String name, Cond.Attr attr, List<String> pos, List<String> neg,
            String path, boolean ignoreCase) {
        if (pos.isEmpty() && neg.isEmpty()) {
            return;
        }
        checkStrings(pos, path + "." + name);
        checkStrings(neg, path + ".not" + Character.toUpperCase(name.charAt(0)) + name.substring(1));
        out.add(new Cond.StringCond(name, attr, strings(pos, ignoreCase), strings(neg, ignoreCase)));
    }

    private static void checkStrings(List<String> v, String path) {
        for (int i = 0; i < v.size(); i++) {
            if (v.get(i).isEmpty()) {
                throw new PolicyException(path + "[" + i + "]", "must not be empty");
            }
        }
    }

    private static void addIps(List<Cond> out, String name, Cond.IpAttr attr, List<String> pos, List<String> neg,
            String path) {
        if (pos.isEmpty() && neg.isEmpty()) {
            return;
        }
        String notName = "not" + Character.toUpperCase(name.charAt(0)) + name.substring(1);
        out.add(new Cond.IpCond(name, attr, cidrs(pos, path + "." + name), cidrs(neg, path + "." + notName)));
    }

    private static StringMatcher[] strings(List<String> v, boolean ignoreCase) {
        return v.isEmpty() ? null : v.stream().map(s -> StringMatcher.istio(s, ignoreCase)).toArray(StringMatcher[]::new);
    }

    private static Cidr[] cidrs(List<String> v, String path) {
        if (v.isEmpty()) {
            return null;
        }
        Cidr[] out = new Cidr[v.size()];
        for (int i = 0; i < v.size(); i++) {
            try {
                out[i] = Cidr.parse(v.get(i));
            } catch (IllegalArgumentException e) {
                throw new PolicyException(path + "[" + i + "]", quote(v.get(i)) + " is not a CIDR");
            }
        }
        return out;
    }

    private static int[] ports(List<String> v, String path) {
        if (v.isEmpty()) {
            return null;
        }
        int[] out = new int[v.size()];
        for (int i = 0; i < v.size(); i++) {
            String s = v.get(i);
            // As Istio's validation (pkg/config/security ValidatePorts): strconv.ParseUint(s, 10, 32) and <= 65535,
            // so decimal digits only (no sign, no spaces), leading zeros allowed, 0 allowed.
            int p = -1;
            if (!s.isEmpty() && s.chars().allMatch(c -> c >= '0' && c <= '9')) {
                String t = s.replaceFirst("^0+(?=.)", "");
                p = t.length() <= 5 ? Integer.parseInt(t) : -1;
            }
            if (p < 0 || p > 65535) {
                throw new PolicyException(path + "[" + i + "]", quote(s) + " is not a port (0-65535)");
            }
            out[i] = p;
        }
        return out;
    }

    private static PathMatcher[] paths(List<String> v, String path) {
        if (v.isEmpty()) {
            return null;
        }
        PathMatcher[] out = new PathMatcher[v.size()];
        for (int i = 0; i < v.size(); i++) {
            if (v.get(i).isEmpty()) {
                throw new PolicyException(path + "[" + i + "]", "must not be empty");
            }
            try {
                out[i] = PathMatcher.of(v.get(i));
            } catch (IllegalArgumentException e) {
                throw new PolicyException(path + "[" + i + "]", quote(v.get(i)) + ": " + e.getMessage());
            }
        }
        return out;
    }

    /** Quotes a value for an error message. */
    public static String quote(String s) {
        return "\"" + escape(s.replace("\\", "\\\\").replace("\"", "\\\"")) + "\"";
    }

    /**
     * Replaces control characters and line separators with Java-style escapes ({@code \n}, {@code \u0000}) so
     * a user-supplied string can never split a log line or a message.
     */
    public static String escape(String s) {
        int i = 0;
        while (i < s.length() && !unsafe(s.charAt(i))) {
            i++;
        }
        if (i == s.length()) {
            return s;
        }
        StringBuilder sb = new StringBuilder(s.length() + 8).append(s, 0, i);
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!unsafe(c)) {
                sb.append(c);
            } else if (c == '\n') {
                sb.append("\\n");
            } else if (c == '\r') {
                sb.append("\\r");
            } else if (c == '\t') {
                sb.append("\\t");
            } else {
                sb.append(String.format("\\u%04x", (int) c));
            }
        }
        return sb.toString();
    }

    private static boolean unsafe(char c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029';
    }
}
