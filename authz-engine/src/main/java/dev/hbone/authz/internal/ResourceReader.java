package dev.hbone.authz.internal;

import dev.hbone.authz.LoadError;
import dev.hbone.authz.LoadResult;
import dev.hbone.authz.PolicySet;
import dev.hbone.authz.model.Action;
import dev.hbone.authz.model.AuthorizationPolicy;
import dev.hbone.authz.model.CompactMatch;
import dev.hbone.authz.model.CompactPolicy;
import dev.hbone.authz.model.CompactScope;
import dev.hbone.authz.model.Condition;
import dev.hbone.authz.model.MtlsMode;
import dev.hbone.authz.model.Operation;
import dev.hbone.authz.model.PeerAuthentication;
import dev.hbone.authz.model.Rule;
import dev.hbone.authz.model.ServiceAccountMatch;
import dev.hbone.authz.model.Source;
import dev.hbone.authz.model.StringMatch;
import dev.hbone.authz.model.TargetRef;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/** YAML text → model objects, with a field path for every refusal. Stateless and thread-safe. */
public final class ResourceReader {
    private static final java.util.regex.Pattern DNS_LABEL =
            java.util.regex.Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final java.util.regex.Pattern DNS_SUBDOMAIN =
            java.util.regex.Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final Set<String> API_VERSIONS = Set.of("security.istio.io/v1", "security.istio.io/v1beta1");
    private static final Set<String> METADATA_KEYS = Set.of("name", "namespace", "labels", "annotations",
            "creationTimestamp", "uid", "resourceVersion", "generation", "managedFields", "finalizers",
            "ownerReferences", "generateName", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds");
    private static final Set<String> SOURCE_KEYS = Set.of("principals", "notPrincipals", "requestPrincipals",
            "notRequestPrincipals", "namespaces", "notNamespaces", "serviceAccounts", "notServiceAccounts", "ipBlocks",
            "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks");
    private static final Set<String> OPERATION_KEYS =
            Set.of("hosts", "notHosts", "ports", "notPorts", "methods", "notMethods", "paths", "notPaths");
    private static final Set<String> MATCH_KEYS = Set.of("namespaces", "notNamespaces", "serviceAccounts",
            "notServiceAccounts", "principals", "notPrincipals", "sourceIps", "notSourceIps", "destinationIps",
            "notDestinationIps", "destinationPorts", "notDestinationPorts");
    private static final int MAX_CODE_POINTS = 8 * 1024 * 1024;

    /** Reads every document of {@code yaml}. Never throws for bad content. */
    public LoadResult read(String file, String yaml) {
        return read(file, yaml, new HashMap<>());
    }

    /**
     * Reads every document of {@code yaml}; {@code seen} holds the resource keys already loaded (from other
     * files) so duplicates are refused across files too.
     */
    public LoadResult read(String file, String yaml, Map<String, String> seen) {
        List<AuthorizationPolicy> aps = new ArrayList<>();
        List<PeerAuthentication> pas = new ArrayList<>();
        List<CompactPolicy> cps = new ArrayList<>();
        List<LoadError> errors = new ArrayList<>();
        List<String> docs = splitDocuments(yaml);
        int index = 0;
        for (String doc : docs) {
            index++;
            Object root;
            try {
                LoadSettings settings = LoadSettings.builder().setLabel(file).setAllowDuplicateKeys(false)
                        .setMaxAliasesForCollections(50).setCodePointLimit(MAX_CODE_POINTS).build();
                root = new Load(settings).loadFromString(doc);
            } catch (RuntimeException | StackOverflowError e) {
                errors.add(new LoadError(file, index, "", "invalid YAML: " + firstLine(e.getMessage())));
                continue;
            }
            if (root == null) {
                index = blank(doc) ? index - 1 : index;
                continue;
            }
            Sink sink = new Sink(file, index, aps, pas, cps, errors, seen);
            try {
                document(root, sink);
            } catch (PolicyException e) {
                sink.error(e.path(), e.reason());
            } catch (StackOverflowError e) {
                sink.error("", "document nested too deeply");
            }
        }
        return new LoadResult(PolicySet.of(aps, pas, cps), errors, index);
    }

    private static boolean blank(String doc) {
        for (String line : doc.split("\n", -1)) {
            String t = line.strip();
            if (!t.isEmpty() && !t.startsWith("#")) {
                return false;
            }
        }
        return true;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "unreadable";
        }
        String t = s.strip().replace('\r', ' ');
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl) + " " + t.substring(nl + 1).strip().replaceAll("\\s+", " ");
    }

    /**
     * Splits at {@code ---} / {@code ...} document markers in column 0, so that a syntax error in one document
     * cannot hide the following ones. (A marker in column 0 always ends a document in YAML, even inside a
     * block scalar.)
     */
    static List<String> splitDocuments(String yaml) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean any = false;
        for (String line : yaml.split("\n", -1)) {
            boolean start = line.equals("---") || line.startsWith("--- ") || line.startsWith("---\t")
                    || line.equals("---\r");
            boolean end = line.equals("...") || line.equals("...\r");
            if (start && directivesOnly(cur)) {
                // "%YAML 1.2" / "%TAG" lines belong to the document the marker starts
                any = true;
                cur.append(line).append('\n'); // a directive needs its explicit "---"
                continue;
            }
            if (start || end) {
                if (any) {
                    out.add(cur.toString());
                }
                cur.setLength(0);
                any = start;
                if (start && line.length() > 3) {
                    cur.append(line.substring(4)).append('\n');
                }
                continue;
            }
            cur.append(line).append('\n');
            any |= !line.isBlank();
        }
        if (any) {
            out.add(cur.toString());
        }
        return out;
    }

    private static boolean directivesOnly(CharSequence text) {
        boolean directive = false;
        for (String l : text.toString().split("\n", -1)) {
            String t = l.strip();
            if (t.startsWith("%")) {
                directive = true;
            } else if (!t.isEmpty() && !t.startsWith("#")) {
                return false;
            }
        }
        return directive;
    }

    private void document(Object root, Sink sink) {
        Map<String, Object> m = map(root, "");
        if (!m.containsKey("kind") && !m.containsKey("apiVersion")) {
            localConfig(m, sink);
            return;
        }
        String kind = str(m.get("kind"), "kind", true);
        if (kind.equals("List")) {
            known(m, "", Set.of("apiVersion", "kind", "items", "metadata"));
            Object items = m.get("items");
            if (items == null) {
                return;
            }
            List<Object> l = list(items, "items");
            for (int i = 0; i < l.size(); i++) {
                try {
                    resource(map(l.get(i), "items[" + i + "]"), "items[" + i + "].", sink);
                } catch (PolicyException e) {
                    sink.error(e.path(), e.reason());
                }
            }
            return;
        }
        resource(m, "", sink);
    }

    private void resource(Map<String, Object> m, String prefix, Sink sink) {
        known(m, prefix, Set.of("apiVersion", "kind", "metadata", "spec", "status"));
        String kind = str(m.get("kind"), prefix + "kind", true);
        String api = str(m.get("apiVersion"), prefix + "apiVersion", true);
        if (!kind.equals("AuthorizationPolicy") && !kind.equals("PeerAuthentication")) {
            throw new PolicyException(prefix + "kind",
                    PolicyCompiler.quote(kind) + " is not AuthorizationPolicy, PeerAuthentication or List");
        }
        if (!API_VERSIONS.contains(api)) {
            throw new PolicyException(prefix + "apiVersion", PolicyCompiler.quote(api)
                    + " is not security.istio.io/v1 or security.istio.io/v1beta1");
        }
        Map<String, Object> meta = map(req(m, "metadata", prefix), prefix + "metadata");
        known(meta, prefix + "metadata.", METADATA_KEYS);
        String name = str(req(meta, "name", prefix + "metadata."), prefix + "metadata.name", true);
        String ns = meta.containsKey("namespace") ? str(meta.get("namespace"), prefix + "metadata.namespace", true)
                : "default";
        // The Kubernetes API server accepts only these (a name a log line or key could be forged with is refused).
        if (name.length() > 253 || !DNS_SUBDOMAIN.matcher(name).matches()) {
            throw new PolicyException(prefix + "metadata.name", PolicyCompiler.quote(name) + " is not a Kubernetes"
                    + " name (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit,"
                    + " at most 253 characters)");
        }
        if (ns.length() > 63 || !DNS_LABEL.matcher(ns).matches()) {
            throw new PolicyException(prefix + "metadata.namespace", PolicyCompiler.quote(ns) + " is not a"
                    + " Kubernetes namespace (lowercase letters, digits and '-', starting and ending with a letter or"
                    + " digit, at most 63 characters)");
        }
        Map<String, String> annotations = stringMap(meta.get("annotations"), prefix + "metadata.annotations");
        Object ts = meta.get("creationTimestamp");
        String created = ts == null ? "" : String.valueOf(ts);
        Map<String, Object> spec = m.get("spec") == null ? Map.of() : map(m.get("spec"), prefix + "spec");
        String sp = prefix + "spec.";
        if (kind.equals("AuthorizationPolicy")) {
            AuthorizationPolicy p = authorizationPolicy(name, ns, annotations, spec, sp);
            try {
                PolicyCompiler.validate(p);
            } catch (PolicyException e) {
                throw new PolicyException(prefix + e.path(), e.reason());
            }
            sink.add(p, prefix + "metadata.name");
        } else {
            sink.add(peerAuthentication(name, ns, created, spec, sp), prefix + "metadata.name");
        }
    }

    private AuthorizationPolicy authorizationPolicy(String name, String ns, Map<String, String> annotations,
            Map<String, Object> spec, String sp) {
        known(spec, sp, Set.of("selector", "targetRef", "targetRefs", "action", "provider", "rules"));
        Map<String, String> selector = selector(spec.get("selector"), sp + "selector");
        List<TargetRef> refs = new ArrayList<>();
        if (spec.get("targetRef") != null) {
            refs.add(targetRef(spec.get("targetRef"), sp + "targetRef"));
        }
        List<Object> tr = optList(spec.get("targetRefs"), sp + "targetRefs");
        for (int i = 0; i < tr.size(); i++) {
            refs.add(targetRef(tr.get(i), sp + "targetRefs[" + i + "]"));
        }
        Action action = Action.ALLOW;
        if (spec.get("action") != null) {
            String a = str(spec.get("action"), sp + "action", true);
            try {
                action = Action.valueOf(a);
            } catch (IllegalArgumentException e) {
                throw new PolicyException(sp + "action", PolicyCompiler.quote(a) + " is not ALLOW, DENY, AUDIT or CUSTOM");
            }
        }
        String provider = null;
        if (spec.get("provider") != null) {
            Map<String, Object> pm = map(spec.get("provider"), sp + "provider");
            known(pm, sp + "provider.", Set.of("name"));
            provider = str(req(pm, "name", sp + "provider."), sp + "provider.name", true);
        }
        List<Rule> rules = new ArrayList<>();
        List<Object> rl = optList(spec.get("rules"), sp + "rules");
        for (int i = 0; i < rl.size(); i++) {
            rules.add(rule(rl.get(i), sp + "rules[" + i + "]"));
        }
        String dry = annotations.get("istio.io/dry-run");
        if (dry != null && !dry.equals("true") && !dry.equals("false")) {
            throw new PolicyException(sp.replace("spec.", "") + "metadata.annotations[istio.io/dry-run]",
                    PolicyCompiler.quote(dry) + " is not \"true\" or \"false\"");
        }
        return new AuthorizationPolicy(name, ns, selector, refs, action, provider, rules, "true".equals(dry));
    }

    private Rule rule(Object o, String path) {
        Map<String, Object> m = map(o, path);
        known(m, path + ".", Set.of("from", "to", "when"));
        List<Source> from = new ArrayList<>();
        List<Object> fl = optList(m.get("from"), path + ".from");
        for (int i = 0; i < fl.size(); i++) {
            String p = path + ".from[" + i + "]";
            Map<String, Object> e = map(fl.get(i), p);
            known(e, p + ".", Set.of("source"));
            String sp = p + ".source";
            Map<String, Object> s = map(req(e, "source", p + "."), sp);
            known(s, sp + ".", SOURCE_KEYS);
            from.add(new Source(strs(s, "principals", sp), strs(s, "notPrincipals", sp),
                    strs(s, "requestPrincipals", sp), strs(s, "notRequestPrincipals", sp), strs(s, "namespaces", sp),
                    strs(s, "notNamespaces", sp), strs(s, "serviceAccounts", sp), strs(s, "notServiceAccounts", sp),
                    strs(s, "ipBlocks", sp), strs(s, "notIpBlocks", sp), strs(s, "remoteIpBlocks", sp),
                    strs(s, "notRemoteIpBlocks", sp)));
        }
        List<Operation> to = new ArrayList<>();
        List<Object> tl = optList(m.get("to"), path + ".to");
        for (int i = 0; i < tl.size(); i++) {
            String p = path + ".to[" + i + "]";
            Map<String, Object> e = map(tl.get(i), p);
            known(e, p + ".", Set.of("operation"));
            String op = p + ".operation";
            Map<String, Object> s = map(req(e, "operation", p + "."), op);
            known(s, op + ".", OPERATION_KEYS);
            to.add(new Operation(strs(s, "hosts", op), strs(s, "notHosts", op), ports(s, "ports", op),
                    ports(s, "notPorts", op), strs(s, "methods", op), strs(s, "notMethods", op),
                    strs(s, "paths", op), strs(s, "notPaths", op)));
        }
        List<Condition> when = new ArrayList<>();
        List<Object> wl = optList(m.get("when"), path + ".when");
        for (int i = 0; i < wl.size(); i++) {
            String p = path + ".when[" + i + "]";
            Map<String, Object> e = map(wl.get(i), p);
            known(e, p + ".", Set.of("key", "values", "notValues"));
            String key = str(req(e, "key", p + "."), p + ".key", true);
            when.add(new Condition(key, key.equals("destination.port") ? ports(e, "values", p) : strs(e, "values", p),
                    key.equals("destination.port") ? ports(e, "notValues", p) : strs(e, "notValues", p)));
        }
        return new Rule(from, to, when);
    }

    private TargetRef targetRef(Object o, String path) {
        Map<String, Object> m = map(o, path);
        known(m, path + ".", Set.of("group", "kind", "name", "namespace"));
        String group = m.get("group") == null ? "" : str(m.get("group"), path + ".group", false);
        String kind = str(req(m, "kind", path + "."), path + ".kind", true);
        String name = str(req(m, "name", path + "."), path + ".name", true);
        String ns = m.get("namespace") == null ? null : str(m.get("namespace"), path + ".namespace", true);
        return new TargetRef(group, kind, name, ns);
    }

    private PeerAuthentication peerAuthentication(String name, String ns, String created, Map<String, Object> spec,
            String sp) {
        known(spec, sp, Set.of("selector", "mtls", "portLevelMtls"));
        Map<String, String> selector = selector(spec.get("selector"), sp + "selector");
        MtlsMode mode = spec.get("mtls") == null ? MtlsMode.UNSET : mtls(spec.get("mtls"), sp + "mtls");
        Map<Integer, MtlsMode> ports = new LinkedHashMap<>();
        if (spec.get("portLevelMtls") != null) {
            Map<Object, Object> pl = rawMap(spec.get("portLevelMtls"), sp + "portLevelMtls");
            for (Map.Entry<Object, Object> e : pl.entrySet()) {
                String p = sp + "portLevelMtls[" + e.getKey() + "]";
                int port = port(e.getKey(), p);
                if (port == 0) {
                    throw new PolicyException(p, "port must be 1-65535");
                }
                ports.put(port, mtls(e.getValue(), p));
            }
            if (selector.isEmpty() && !ports.isEmpty()) {
                throw new PolicyException(sp + "portLevelMtls", "portLevelMtls requires a selector");
            }
        }
        return new PeerAuthentication(name, ns, selector, mode, ports, created);
    }

    private MtlsMode mtls(Object o, String path) {
        Map<String, Object> m = map(o, path);
        known(m, path + ".", Set.of("mode"));
        if (m.get("mode") == null) {
            return MtlsMode.UNSET;
        }
        String s = str(m.get("mode"), path + ".mode", true);
        try {
            return MtlsMode.valueOf(s);
        } catch (IllegalArgumentException e) {
            throw new PolicyException(path + ".mode",
                    PolicyCompiler.quote(s) + " is not UNSET, DISABLE, PERMISSIVE or STRICT");
        }
    }

    private Map<String, String> selector(Object o, String path) {
        if (o == null) {
            return Map.of();
        }
        Map<String, Object> m = map(o, path);
        known(m, path + ".", Set.of("matchLabels"));
        return stringMap(m.get("matchLabels"), path + ".matchLabels");
    }

    // ---- ztunnel local configuration

    private void localConfig(Map<String, Object> m, Sink sink) {
        known(m, "", Set.of("workloads", "services", "policies"));
        List<Object> l = optList(m.get("policies"), "policies");
        for (int i = 0; i < l.size(); i++) {
            String p = "policies[" + i + "]";
            try {
                CompactPolicy cp = compactPolicy(map(l.get(i), p), p);
                try {
                    PolicyCompiler.compile(0, cp);
                } catch (PolicyException e) {
                    throw new PolicyException(p + "." + e.path(), e.reason());
                }
                sink.add(cp, p);
            } catch (PolicyException e) {
                sink.error(e.path(), e.reason());
            }
        }
    }

    private CompactPolicy compactPolicy(Map<String, Object> m, String p) {
        known(m, p + ".", Set.of("name", "namespace", "scope", "action", "dryRun", "rules"));
        String name = str(req(m, "name", p + "."), p + ".name", true);
        String ns = str(req(m, "namespace", p + "."), p + ".namespace", true);
        String scopeText = str(req(m, "scope", p + "."), p + ".scope", true);
        CompactScope scope = switch (scopeText) {
            case "Global" -> CompactScope.GLOBAL;
            case "Namespace" -> CompactScope.NAMESPACE;
            case "WorkloadSelector" -> CompactScope.WORKLOAD_SELECTOR;
            default -> throw new PolicyException(p + ".scope",
                    PolicyCompiler.quote(scopeText) + " is not Global, Namespace or WorkloadSelector");
        };
        String actionText = str(req(m, "action", p + "."), p + ".action", true);
        Action action = switch (actionText) {
            case "Allow" -> Action.ALLOW;
            case "Deny" -> Action.DENY;
            default -> throw new PolicyException(p + ".action", PolicyCompiler.quote(actionText) + " is not Allow or Deny");
        };
        boolean dry = false;
        if (m.get("dryRun") != null) {
            if (!(m.get("dryRun") instanceof Boolean b)) {
                throw new PolicyException(p + ".dryRun", "must be true or false");
            }
            dry = b;
        }
        List<List<List<CompactMatch>>> rules = new ArrayList<>();
        List<Object> rl = optList(m.get("rules"), p + ".rules");
        for (int i = 0; i < rl.size(); i++) {
            List<List<CompactMatch>> rule = new ArrayList<>();
            List<Object> cl = list(rl.get(i), p + ".rules[" + i + "]");
            for (int j = 0; j < cl.size(); j++) {
                List<CompactMatch> clause = new ArrayList<>();
                List<Object> ml = list(cl.get(j), p + ".rules[" + i + "][" + j + "]");
                for (int k = 0; k < ml.size(); k++) {
                    clause.add(compactMatch(ml.get(k), p + ".rules[" + i + "][" + j + "][" + k + "]"));
                }
                rule.add(clause);
            }
            rules.add(rule);
        }
        return new CompactPolicy(name, ns, scope, action, dry, rules);
    }

    private CompactMatch compactMatch(Object o, String p) {
        Map<String, Object> m = map(o, p);
        known(m, p + ".", MATCH_KEYS);
        return new CompactMatch(stringMatches(m, "namespaces", p), stringMatches(m, "notNamespaces", p),
                serviceAccounts(m, "serviceAccounts", p), serviceAccounts(m, "notServiceAccounts", p),
                stringMatches(m, "principals", p), stringMatches(m, "notPrincipals", p),
                strs(m, "sourceIps", p), strs(m, "notSourceIps", p), strs(m, "destinationIps", p),
                strs(m, "notDestinationIps", p), intPorts(m, "destinationPorts", p),
                intPorts(m, "notDestinationPorts", p));
    }

    private List<StringMatch> stringMatches(Map<String, Object> m, String key, String p) {
        List<Object> l = optList(m.get(key), p + "." + key);
        List<StringMatch> out = new ArrayList<>();
        for (int i = 0; i < l.size(); i++) {
            String ep = p + "." + key + "[" + i + "]";
            Map<String, Object> sm = map(l.get(i), ep);
            known(sm, ep + ".", Set.of("exact", "prefix", "suffix", "presence"));
            if (sm.size() != 1) {
                throw new PolicyException(ep, "needs exactly one of exact, prefix, suffix, presence");
            }
            Map.Entry<String, Object> e = sm.entrySet().iterator().next();
            if (e.getKey().equals("presence")) {
                if (e.getValue() != null && !(e.getValue() instanceof Map<?, ?> pm && pm.isEmpty())) {
                    throw new PolicyException(ep + ".presence", "must be {}");
                }
                out.add(new StringMatch(StringMatch.Kind.PRESENCE, ""));
            } else {
                String v = str(e.getValue(), ep + "." + e.getKey(), false);
                out.add(new StringMatch(StringMatch.Kind.valueOf(e.getKey().toUpperCase(java.util.Locale.ROOT)), v));
            }
        }
        return out;
    }

    private List<ServiceAccountMatch> serviceAccounts(Map<String, Object> m, String key, String p) {
        List<Object> l = optList(m.get(key), p + "." + key);
        List<ServiceAccountMatch> out = new ArrayList<>();
        for (int i = 0; i < l.size(); i++) {
            String ep = p + "." + key + "[" + i + "]";
            Map<String, Object> sm = map(l.get(i), ep);
            known(sm, ep + ".", Set.of("namespace", "serviceAccount"));
            out.add(new ServiceAccountMatch(str(req(sm, "namespace", ep + "."), ep + ".namespace", true),
                    str(req(sm, "serviceAccount", ep + "."), ep + ".serviceAccount", true)));
        }
        return out;
    }

    private List<Integer> intPorts(Map<String, Object> m, String key, String p) {
        List<Object> l = optList(m.get(key), p + "." + key);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < l.size(); i++) {
            out.add(compactPort(l.get(i), p + "." + key + "[" + i + "]"));
        }
        return out;
    }

    /**
     * A port of ztunnel's compact form: ztunnel deserializes {@code destinationPorts} into {@code Vec<u16>}
     * (src/rbac.rs {@code RbacMatch}), so a YAML integer 0-65535 is accepted (0 included: it is a valid u16 and
     * simply matches no connection) and a quoted {@code "80"} is refused, as serde refuses a string for u16.
     */
    private static int compactPort(Object o, String path) {
        if (o instanceof String s) {
            boolean digits = !s.isEmpty() && s.chars().allMatch(c -> c >= '0' && c <= '9');
            throw new PolicyException(path, PolicyCompiler.quote(s) + " is a string; ztunnel's destination ports"
                    + " are integers 0-65535" + (digits ? " (write " + s + " without quotes)" : ""));
        }
        if (o instanceof Integer || o instanceof Long || o instanceof java.math.BigInteger) {
            java.math.BigInteger v = new java.math.BigInteger(o.toString());
            if (v.signum() >= 0 && v.compareTo(java.math.BigInteger.valueOf(65535)) <= 0) {
                return v.intValue();
            }
            throw new PolicyException(path, o + " is not a port (0-65535)");
        }
        throw new PolicyException(path, describe(o) + " is not a port (0-65535)");
    }

    // ---- typed access with paths

    private static Object req(Map<String, Object> m, String key, String prefix) {
        Object v = m.get(key);
        if (v == null) {
            throw new PolicyException(prefix + key, "is required");
        }
        return v;
    }

    private static void known(Map<String, Object> m, String prefix, Set<String> allowed) {
        for (String k : m.keySet()) {
            if (!allowed.contains(k)) {
                throw new PolicyException(prefix + k,
                        "unknown field (expected one of: " + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o, String path) {
        if (!(o instanceof Map<?, ?> m)) {
            throw new PolicyException(path.isEmpty() ? "(document)" : path, "must be a mapping, not " + describe(o));
        }
        for (Object k : m.keySet()) {
            if (!(k instanceof String)) {
                throw new PolicyException(path.isEmpty() ? "(document)" : path,
                        "keys must be strings, not " + describe(k));
            }
        }
        return (Map<String, Object>) m;
    }

    @SuppressWarnings("unchecked")
    private static Map<Object, Object> rawMap(Object o, String path) {
        if (!(o instanceof Map<?, ?> m)) {
            throw new PolicyException(path, "must be a mapping, not " + describe(o));
        }
        return (Map<Object, Object>) m;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o, String path) {
        if (!(o instanceof List<?> l)) {
            throw new PolicyException(path, "must be a list, not " + describe(o));
        }
        return (List<Object>) l;
    }

    private static List<Object> optList(Object o, String path) {
        return o == null ? List.of() : list(o, path);
    }

    private static String str(Object o, String path, boolean nonEmpty) {
        if (!(o instanceof String s)) {
            throw new PolicyException(path, "must be a string, not " + describe(o));
        }
        if (nonEmpty && s.isEmpty()) {
            throw new PolicyException(path, "must not be empty");
        }
        return s;
    }

    private static List<String> strs(Map<String, Object> m, String key, String prefix) {
        List<Object> l = optList(m.get(key), prefix + "." + key);
        List<String> out = new ArrayList<>(l.size());
        for (int i = 0; i < l.size(); i++) {
            out.add(str(l.get(i), prefix + "." + key + "[" + i + "]", false));
        }
        return out;
    }

    private static List<String> ports(Map<String, Object> m, String key, String prefix) {
        List<Object> l = optList(m.get(key), prefix + "." + key);
        List<String> out = new ArrayList<>(l.size());
        for (int i = 0; i < l.size(); i++) {
            Object v = l.get(i);
            String path = prefix + "." + key + "[" + i + "]";
            // Istio's CRD declares ports (and destination.port values) as strings: the Kubernetes API server
            // refuses a YAML number there, so the loader does too, saying how to write it.
            if (v instanceof Number n) {
                throw new PolicyException(path, n + " is a number; Istio declares ports as strings (write \""
                        + n + "\")");
            }
            out.add(str(v, path, false));
        }
        return out;
    }

    private static int port(Object o, String path) {
        String s = o instanceof Integer n ? n.toString() : (o instanceof String x ? x : null);
        if (s == null || s.isEmpty() || s.length() > 5 || !s.chars().allMatch(c -> c >= '0' && c <= '9')
                || Integer.parseInt(s) > 65535) {
            throw new PolicyException(path, (o instanceof String || o instanceof Integer
                    ? PolicyCompiler.quote(String.valueOf(o)) : describe(o)) + " is not a port (0-65535)");
        }
        return Integer.parseInt(s);
    }

    private static Map<String, String> stringMap(Object o, String path) {
        if (o == null) {
            return Map.of();
        }
        Map<String, Object> m = map(o, path);
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : m.entrySet()) {
            Object v = e.getValue();
            // kubectl would reject non-strings; numbers and booleans are kept as their text.
            if (v instanceof String || v instanceof Number || v instanceof Boolean) {
                out.put(e.getKey(), String.valueOf(v));
            } else {
                throw new PolicyException(path + "[" + e.getKey() + "]", "must be a string, not " + describe(v));
            }
        }
        return out;
    }

    private static String describe(Object o) {
        if (o == null) {
            return "null";
        }
        if (o instanceof Map) {
            return "a mapping";
        }
        if (o instanceof List) {
            return "a list";
        }
        if (o instanceof String) {
            return "a string";
        }
        if (o instanceof Boolean) {
            return "a boolean";
        }
        if (o instanceof Number) {
            return "a number";
        }
        return "a " + o.getClass().getSimpleName();
    }

    /** Collects the results of one document. */
    private static final class Sink {
        final String file;
        final int index;
        final List<AuthorizationPolicy> aps;
        final List<PeerAuthentication> pas;
        final List<CompactPolicy> cps;
        final List<LoadError> errors;
        final Map<String, String> seen;

        Sink(String file, int index, List<AuthorizationPolicy> aps, List<PeerAuthentication> pas,
                List<CompactPolicy> cps, List<LoadError> errors, Map<String, String> seen) {
            this.file = file;
            this.index = index;
            this.aps = aps;
            this.pas = pas;
            this.cps = cps;
            this.errors = errors;
            this.seen = seen;
        }

        void error(String path, String message) {
            errors.add(new LoadError(file, index, path, message));
        }

        boolean fresh(String key, String path) {
            // Where the key was first defined: "file\u0000doc\u0000path". The message names it and says only what
            // is certain: this definition is refused (the loader keeps the earlier one; a caller that refuses
            // the whole file on any error keeps neither). ztunnel itself would silently keep the last one.
            String here = file + '\u0000' + index + '\u0000' + path;
            String first = seen.putIfAbsent(key, here);
            if (first != null) {
                String[] f = first.split("\u0000", 3);
                String where = !f[0].equals(file) ? f[0] + " doc#" + f[1] + " " + f[2]
                        : !f[1].equals(String.valueOf(index)) ? "doc#" + f[1] + " " + f[2] : f[2];
                error(path, "duplicate " + key + ": already defined at " + where + "; this definition is refused");
                return false;
            }
            return true;
        }

        void add(AuthorizationPolicy p, String path) {
            if (fresh("AuthorizationPolicy " + p.key(), path)) {
                aps.add(p);
            }
        }

        void add(PeerAuthentication p, String path) {
            if (fresh("PeerAuthentication " + p.key(), path)) {
                pas.add(p);
            }
        }

        void add(CompactPolicy p, String path) {
            if (fresh("ztunnel policy " + p.key(), path)) {
                cps.add(p);
            }
        }
    }
}
