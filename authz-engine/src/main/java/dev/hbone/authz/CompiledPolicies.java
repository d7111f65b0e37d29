package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

import dev.hbone.authz.internal.CompiledPolicy;
import dev.hbone.authz.internal.ConnectionFacts;
import dev.hbone.authz.internal.PolicyCompiler;
import dev.hbone.authz.internal.PolicyException;
import dev.hbone.authz.internal.PolicyIndex;
import dev.hbone.authz.internal.RequestFacts;
import dev.hbone.authz.model.Action;
import dev.hbone.authz.model.AuthorizationPolicy;
import dev.hbone.authz.model.CompactPolicy;
import dev.hbone.authz.model.MtlsMode;
import dev.hbone.authz.model.PeerAuthentication;
import dev.hbone.authz.model.TargetRef;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * An immutable, evaluation-ready snapshot of a {@link PolicySet} for one enforcement point. Thread-safe.
 *
 * <p>Evaluation order: PeerAuthentication (plaintext under STRICT is denied), any matching DENY → deny, no ALLOW
 * policy applies → allow, a matching ALLOW → allow, else deny. Dry-run policies are evaluated and reported in the
 * {@link Decision}, never enforced. At L4 ({@link EnforcementPoint#ZTUNNEL}) evaluating a connection allocates
 * nothing when no dry-run policy applies.
 */
public final class CompiledPolicies {
    private static final int DENY = 0;
    private static final int ALLOW = 1;
    private static final int CUSTOM = 2;
    private static final int AUDIT = 3;
    private static final int DRY_RUN = 4;
    private static final int NO_ALLOW_CACHE_LIMIT = 10_000;

    private final PolicySet source;
    private final CompileOptions options;
    private final List<CompileWarning> warnings;
    private final CompiledPolicy[] byId;
    private final Decision[][] decisions;
    private final Decision noPolicy;
    private final Bucket global;
    private final Map<String, Bucket> namespaces = new HashMap<>();
    private final Map<String, CompiledPolicy> attachable = new HashMap<>();
    private final Bucket gatewayClass;
    private final Map<String, Map<String, Bucket>> gateways = new HashMap<>();
    private final Map<String, Map<String, Bucket>> services = new HashMap<>();
    private final boolean hasExtras;
    private final boolean checkPeerAuth;
    private final boolean implicitWaypoint;
    private final PeerAuthEntry meshPeerAuth;
    private final Map<String, PeerAuthEntry> namespacePeerAuth = new HashMap<>();
    private final Map<String, PeerAuthEntry[]> workloadPeerAuth = new HashMap<>();
    private final Map<Destination, Decision> noAllowDecisions = new ConcurrentHashMap<>();

    CompiledPolicies(PolicySet set, CompileOptions options) {
        this.source = set;
        this.options = options;
        EnforcementPoint ep = options.enforcementPoint();
        String root = options.rootNamespace();
        PolicyCompiler compiler = new PolicyCompiler(ep == EnforcementPoint.ZTUNNEL,
                options.l4Conversion() == CompileOptions.L4Conversion.FAIL_CLOSED);
        List<CompileWarning> warn = new ArrayList<>();
        List<CompiledPolicy> all = new ArrayList<>();
        Map<String, List<List<CompiledPolicy>>> nsLists = new HashMap<>();
        List<List<CompiledPolicy>> globalLists = lists();
        List<List<CompiledPolicy>> classLists = lists();
        Map<String, Map<String, List<List<CompiledPolicy>>>> gwLists = new HashMap<>();
        Map<String, Map<String, List<List<CompiledPolicy>>>> svcLists = new HashMap<>();

        List<AuthorizationPolicy> aps = new ArrayList<>(set.authorizationPolicies());
        aps.sort(Comparator.comparing(AuthorizationPolicy::key));
        for (AuthorizationPolicy p : aps) {
            boolean attached = !p.targetRefs().isEmpty();
            if (attached != (ep == EnforcementPoint.WAYPOINT)) {
                continue; // targetRefs → waypoint only; selector/namespace → workloads only
            }
            if (!ep.supports(p.action())) {
                warn.add(new CompileWarning(CompileWarning.Severity.WARNING, p.key(), -1, "ztunnel does not support"
                        + " the " + p.action() + " action: the policy is not enforced at L4"
                        + (p.action() == Action.CUSTOM ? " (attach it to a waypoint with an ext-authz provider)"
                                : " (AUDIT only logs, at a waypoint)")));
                continue;
            }
            CompiledPolicy cp;
            try {
                cp = compiler.compile(all.size(), p, warn);
            } catch (PolicyException e) {
                throw new IllegalArgumentException(p.key() + " " + e.getMessage(), e);
            }
            all.add(cp);
            int cat = category(cp);
            if (!attached) {
                (p.namespace().equals(root) ? globalLists : nsLists.computeIfAbsent(p.namespace(), k -> lists()))
                        .get(cat).add(cp);
                continue;
            }
            for (TargetRef t : p.targetRefs()) {
                String ns = t.namespace() == null ? p.namespace() : t.namespace();
                switch (t.kind()) {
                    case "GatewayClass" -> {
                        if (p.namespace().equals(root) && t.name().equals("istio-waypoint")) {
                            classLists.get(cat).add(cp);
                        } else {
                            warn.add(new CompileWarning(CompileWarning.Severity.WARNING, p.key(), -1,
                                    "targetRef GatewayClass is only honoured for istio-waypoint in the root namespace"));
                        }
                    }
                    case "Gateway" -> gwLists.computeIfAbsent(ns, k -> new HashMap<>())
                            .computeIfAbsent(t.name(), k -> lists()).get(cat).add(cp);
                    case "Service", "ServiceEntry" -> svcLists.computeIfAbsent(ns, k -> new HashMap<>())
                            .computeIfAbsent(t.name(), k -> lists()).get(cat).add(cp);
                    default -> warn.add(new CompileWarning(CompileWarning.Severity.WARNING, p.key(), -1,
                            "targetRef kind " + t.kind() + " is not supported; ignored"));
                }
            }
        }
        if (ep == EnforcementPoint.ZTUNNEL) {
            List<CompactPolicy> cps = new ArrayList<>(set.compactPolicies());
            cps.sort(Comparator.comparing(CompactPolicy::key));
            for (CompactPolicy p : cps) {
                CompiledPolicy cp;
                try {
                    cp = PolicyCompiler.compile(all.size(), p);
                } catch (PolicyException e) {
                    throw new IllegalArgumentException(p.key() + " " + e.getMessage(), e);
                }
                all.add(cp);
                switch (p.scope()) {
                    case GLOBAL -> globalLists.get(category(cp)).add(cp);
                    case NAMESPACE -> nsLists.computeIfAbsent(p.namespace(), k -> lists()).get(category(cp)).add(cp);
                    case WORKLOAD_SELECTOR -> attachable.put(cp.key, cp);
                    default -> throw new AssertionError(p.scope());
                }
            }
        }
        this.byId = all.toArray(CompiledPolicy[]::new);
        this.decisions = new Decision[byId.length][];
        for (CompiledPolicy cp : byId) {
            int n = 0;
            for (CompiledPolicy.Rule r : cp.rules) {
                n = Math.max(n, r.sourceIndex + 1);
            }
            decisions[cp.id] = new Decision[n];
            for (CompiledPolicy.Rule r : cp.rules) {
                boolean allow = cp.action != Action.DENY;
                decisions[cp.id][r.sourceIndex] = Decision.simple(allow,
                        allow ? Decision.Reason.ALLOW_MATCHED : Decision.Reason.DENY_MATCHED, cp.key, cp.origin,
                        r.sourceIndex, cp.warnings);
            }
        }
        this.global = new Bucket(globalLists);
        nsLists.forEach((k, v) -> namespaces.put(k, new Bucket(v)));
        this.gatewayClass = new Bucket(classLists);
        gwLists.forEach((ns, m) -> {
            Map<String, Bucket> out = new HashMap<>();
            m.forEach((n, l) -> out.put(n, new Bucket(l)));
            gateways.put(ns, out);
        });
        svcLists.forEach((ns, m) -> {
            Map<String, Bucket> out = new HashMap<>();
            m.forEach((n, l) -> out.put(n, new Bucket(l)));
            services.put(ns, out);
        });
        boolean extras = false;
        for (CompiledPolicy cp : byId) {
            extras |= category(cp) >= CUSTOM;
        }
        this.hasExtras = extras;
        this.noPolicy = Decision.simple(true, Decision.Reason.NO_ALLOW_POLICY, null, null, -1, List.of());

        // PeerAuthentication: mesh (root ns, no selector), namespace, workload (selector); oldest wins a tie.
        this.checkPeerAuth = ep != EnforcementPoint.WAYPOINT;
        this.implicitWaypoint = options.implicitWaypointAllow() && ep == EnforcementPoint.ZTUNNEL;
        List<PeerAuthentication> pas = new ArrayList<>(set.peerAuthentications());
        pas.sort(Comparator.comparing(PeerAuthentication::creationTimestamp).thenComparing(PeerAuthentication::key));
        PeerAuthEntry mesh = null;
        Map<String, List<PeerAuthEntry>> wl = new HashMap<>();
        for (PeerAuthentication pa : pas) {
            PeerAuthEntry e = new PeerAuthEntry(pa);
            if (pa.selector().isEmpty()) {
                if (!pa.portLevelMtls().isEmpty()) {
                    warn.add(new CompileWarning(CompileWarning.Severity.WARNING, pa.key(), -1,
                            "portLevelMtls needs a selector (as in Istio); the port exceptions are ignored"));
                }
                if (pa.namespace().equals(root)) {
                    if (mesh == null) {
                        mesh = e;
                    }
                } else {
                    namespacePeerAuth.putIfAbsent(pa.namespace(), e);
                }
            } else {
                wl.computeIfAbsent(pa.namespace(), k -> new ArrayList<>()).add(e);
            }
        }
        this.meshPeerAuth = mesh;
        wl.forEach((k, v) -> workloadPeerAuth.put(k, v.toArray(PeerAuthEntry[]::new)));
        this.warnings = List.copyOf(warn);
    }

    private static List<List<CompiledPolicy>> lists() {
        List<List<CompiledPolicy>> l = new ArrayList<>();
        for (int i = 0; i <= DRY_RUN; i++) {
            l.add(new ArrayList<>());
        }
        return l;
    }

    private static int category(CompiledPolicy p) {
        if (p.dryRun) {
            return DRY_RUN;
        }
        return switch (p.action) {
            case DENY -> DENY;
            case ALLOW -> ALLOW;
            case CUSTOM -> CUSTOM;
            case AUDIT -> AUDIT;
        };
    }

    /** The options this snapshot was compiled with. */
    public CompileOptions options() {
        return options;
    }

    /** The policies this snapshot was compiled from. */
    public PolicySet policies() {
        return source;
    }

    /** Everything the compiler changed or ignored, e.g. L7 rules converted for ztunnel or unsupported actions. */
    public List<CompileWarning> warnings() {
        return warnings;
    }

    /**
     * The compile warnings about policies in scope for {@code destination} (by namespace and selector), e.g.
     * a DENY in its namespace that cannot act at L4. Meant for explanations; allocates.
     */
    public List<CompileWarning> warningsFor(Destination destination) {
        requireNonNull(destination, "destination");
        List<CompileWarning> out = new ArrayList<>();
        String root = options.rootNamespace();
        for (CompileWarning w : warnings) {
            String ns = w.policy().substring(0, Math.max(0, w.policy().indexOf('/')));
            if (!ns.equals(root) && !ns.equals(destination.namespace())) {
                continue;
            }
            CompiledPolicy cp = null;
            for (CompiledPolicy p : byId) {
                if (p.key.equals(w.policy())) {
                    cp = p;
                    break;
                }
            }
            if (cp == null || options.enforcementPoint() == EnforcementPoint.WAYPOINT || cp.selects(destination.labels())) {
                out.add(w);
            }
        }
        return out;
    }

    /** Number of compiled authorization policies (both forms) enforced or reported here. */
    public int size() {
        return byId.length;
    }

    /** Evaluates a connection (L4 attributes only). */
    public Decision evaluate(Destination destination, ConnectionAttributes connection) {
        requireNonNull(destination, "destination");
        requireNonNull(connection, "connection");
        return evaluate(destination, connection.facts, null);
    }

    /** Evaluates an HTTP request (at ztunnel only its connection's L4 attributes count). */
    public Decision evaluate(Destination destination, RequestAttributes request) {
        requireNonNull(destination, "destination");
        requireNonNull(request, "request");
        return evaluate(destination, request.connection().facts, request.facts);
    }

    private Decision evaluate(Destination d, ConnectionFacts c, RequestFacts r) {
        Decision base = enforce(d, c, r);
        return hasExtras ? extras(base, d, c, r) : base;
    }

    private Decision enforce(Destination d, ConnectionFacts c, RequestFacts r) {
        if (checkPeerAuth && c.principal == null) {
            Decision pa = peerAuthentication(d, c.port);
            if (pa != null) {
                return pa;
            }
        }
        long deny = scan(DENY, d, c, r);
        if (deny >= 0) {
            return decisions[(int) (deny >>> 32)][(int) deny];
        }
        long allow = scan(ALLOW, d, c, r);
        if (allow >= 0) {
            return decisions[(int) (allow >>> 32)][(int) allow];
        }
        if (implicitWaypoint && d.hasImplicitWaypointPolicy()) {
            // istiod's istio_allow_waypoint_<ns>_<name>: an ordinary ALLOW attached to the workload
            Decision w = d.implicitWaypointAllow(c.principal);
            if (w != null) {
                return w;
            }
            allow = PolicyIndex.APPLIES;
        }
        if (allow == PolicyIndex.NONE) {
            return noPolicy;
        }
        Decision cached = noAllowDecisions.get(d);
        if (cached != null) {
            return cached;
        }
        Decision dec = new Decision(false, Decision.Reason.NO_ALLOW_MATCHED, null, null, -1, List.of(),
                () -> candidateKeys(d),
                () -> applicable(ALLOW, d).stream().flatMap(p -> p.warnings.stream()).toList(),
                List.of(), false, null, List.of());
        if (noAllowDecisions.size() < NO_ALLOW_CACHE_LIMIT) {
            noAllowDecisions.put(d, dec);
        }
        return dec;
    }

    private List<String> candidateKeys(Destination d) {
        List<String> keys = new ArrayList<>();
        applicable(ALLOW, d).forEach(p -> keys.add(p.key));
        if (implicitWaypoint) {
            keys.addAll(d.implicitPolicyKeys());
        }
        return keys.stream().distinct().sorted().toList();
    }

    private Decision extras(Decision base, Destination d, ConnectionFacts c, RequestFacts r) {
        // Cheap, allocation-free pre-check: most destinations have no dry-run, CUSTOM or AUDIT policy in scope.
        if (scan(DRY_RUN, d, c, r) == PolicyIndex.NONE && scan(CUSTOM, d, c, r) == PolicyIndex.NONE
                && scan(AUDIT, d, c, r) == PolicyIndex.NONE) {
            return base;
        }
        List<DryRunResult> dry = new ArrayList<>();
        boolean dryDeny = false;
        boolean dryAllowApplies = false;
        boolean dryAllowMatched = false;
        for (CompiledPolicy p : applicable(DRY_RUN, d)) {
            int rule = p.firstMatchingRule(c, r);
            dry.add(new DryRunResult(p.key, p.action, rule >= 0, rule));
            if (p.action == Action.DENY) {
                dryDeny |= rule >= 0;
            } else if (p.action == Action.ALLOW) {
                dryAllowApplies = true;
                dryAllowMatched |= rule >= 0;
            }
        }
        String provider = null;
        List<String> audits = new ArrayList<>();
        if (base.allowed()) {
            for (CompiledPolicy p : applicable(CUSTOM, d)) {
                if (provider == null && p.firstMatchingRule(c, r) >= 0) {
                    provider = p.provider;
                }
            }
        }
        for (CompiledPolicy p : applicable(AUDIT, d)) {
            if (p.firstMatchingRule(c, r) >= 0) {
                audits.add(p.key);
            }
        }
        if (dry.isEmpty() && provider == null && audits.isEmpty()) {
            return base;
        }
        boolean would;
        Decision.Reason reason = base.reason();
        if (dryDeny || reason == Decision.Reason.DENY_MATCHED || reason == Decision.Reason.PLAINTEXT_REJECTED) {
            would = false;
        } else {
            boolean applies = reason != Decision.Reason.NO_ALLOW_POLICY || dryAllowApplies;
            would = !applies || reason == Decision.Reason.ALLOW_MATCHED || dryAllowMatched;
        }
        return base.withExtras(dry, would, provider, audits);
    }

    private Decision peerAuthentication(Destination d, int port) {
        PeerAuthEntry[] wl = workloadPeerAuth.get(d.namespace());
        if (wl != null) {
            for (PeerAuthEntry e : wl) {
                if (e.selects(d.labels())) {
                    MtlsMode m = e.portMode(port);
                    if (m == MtlsMode.UNSET) {
                        m = e.pa.mode();
                    }
                    if (m != MtlsMode.UNSET) {
                        return m == MtlsMode.STRICT ? e.deny : null;
                    }
                    break; // the most specific policy inherits its mode
                }
            }
        }
        PeerAuthEntry ns = namespacePeerAuth.get(d.namespace());
        if (ns != null && ns.pa.mode() != MtlsMode.UNSET) {
            return ns.pa.mode() == MtlsMode.STRICT ? ns.deny : null;
        }
        if (meshPeerAuth != null && meshPeerAuth.pa.mode() == MtlsMode.STRICT) {
            return meshPeerAuth.deny;
        }
        return null;
    }

    /**
     * The mTLS mode in force for one port of a destination.
     *
     * @param mode   the effective mode (PERMISSIVE when nothing sets one)
     * @param policy {@code namespace/name} of the PeerAuthentication that set it, or {@code ""} for the default
     */
    public record EffectiveMtls(MtlsMode mode, String policy) {
        /** Validates. */
        public EffectiveMtls {
            requireNonNull(mode, "mode");
            requireNonNull(policy, "policy");
        }
    }

    /** Returns the effective mTLS mode for a destination port and the PeerAuthentication that set it. */
    public EffectiveMtls effectiveMtls(Destination destination, int port) {
        requireNonNull(destination, "destination");
        PeerAuthEntry[] wl = workloadPeerAuth.get(destination.namespace());
        if (wl != null) {
            for (PeerAuthEntry e : wl) {
                if (e.selects(destination.labels())) {
                    MtlsMode m = e.portMode(port);
                    if (m == MtlsMode.UNSET) {
                        m = e.pa.mode();
                    }
                    if (m != MtlsMode.UNSET) {
                        return new EffectiveMtls(m, e.pa.key());
                    }
                    break;
                }
            }
        }
        PeerAuthEntry ns = namespacePeerAuth.get(destination.namespace());
        if (ns != null && ns.pa.mode() != MtlsMode.UNSET) {
            return new EffectiveMtls(ns.pa.mode(), ns.pa.key());
        }
        if (meshPeerAuth != null && meshPeerAuth.pa.mode() != MtlsMode.UNSET) {
            return new EffectiveMtls(meshPeerAuth.pa.mode(), meshPeerAuth.pa.key());
        }
        return new EffectiveMtls(MtlsMode.PERMISSIVE, "");
    }

    private static long merge(long acc, long res) {
        return res == PolicyIndex.NONE ? acc : res;
    }

    private long scan(int kind, Destination d, ConnectionFacts c, RequestFacts r) {
        long acc = PolicyIndex.NONE;
        Map<String, String> labels = d.labels();
        if (options.enforcementPoint() == EnforcementPoint.WAYPOINT) {
            acc = merge(acc, gatewayClass.idx[kind].first(labels, c, r));
            if (acc >= 0) {
                return acc;
            }
            if (d.waypoint() != null) {
                Map<String, Bucket> gws = gateways.get(d.namespace());
                Bucket b = gws == null ? null : gws.get(d.waypoint());
                if (b != null) {
                    acc = merge(acc, b.idx[kind].first(labels, c, r));
                    if (acc >= 0) {
                        return acc;
                    }
                }
            }
            Map<String, Bucket> svcs = services.get(d.namespace());
            if (svcs != null) {
                List<String> names = d.services();
                for (int i = 0; i < names.size(); i++) {
                    Bucket b = svcs.get(names.get(i));
                    if (b != null) {
                        acc = merge(acc, b.idx[kind].first(labels, c, r));
                        if (acc >= 0) {
                            return acc;
                        }
                    }
                }
            }
            return acc;
        }
        acc = merge(acc, global.idx[kind].first(labels, c, r));
        if (acc >= 0) {
            return acc;
        }
        Bucket nb = namespaces.get(d.namespace());
        if (nb != null) {
            acc = merge(acc, nb.idx[kind].first(labels, c, r));
            if (acc >= 0) {
                return acc;
            }
        }
        String[] attached = d.attachedPolicyArray();
        for (String key : attached) {
            CompiledPolicy p = attachable.get(key);
            if (p != null && category(p) == kind) {
                int rule = p.firstMatchingRule(c, r);
                if (rule >= 0) {
                    return ((long) p.id << 32) | rule;
                }
                acc = PolicyIndex.APPLIES;
            }
        }
        return acc;
    }

    private List<CompiledPolicy> applicable(int kind, Destination d) {
        List<CompiledPolicy> out = new ArrayList<>();
        Consumer<CompiledPolicy> add = out::add;
        Map<String, String> labels = d.labels();
        if (options.enforcementPoint() == EnforcementPoint.WAYPOINT) {
            gatewayClass.idx[kind].forEachApplicable(labels, add);
            Map<String, Bucket> gws = gateways.get(d.namespace());
            if (d.waypoint() != null && gws != null && gws.get(d.waypoint()) != null) {
                gws.get(d.waypoint()).idx[kind].forEachApplicable(labels, add);
            }
            Map<String, Bucket> svcs = services.get(d.namespace());
            for (String s : d.services()) {
                if (svcs != null && svcs.get(s) != null) {
                    svcs.get(s).idx[kind].forEachApplicable(labels, add);
                }
            }
        } else {
            global.idx[kind].forEachApplicable(labels, add);
            Bucket nb = namespaces.get(d.namespace());
            if (nb != null) {
                nb.idx[kind].forEachApplicable(labels, add);
            }
            for (String key : d.attachedPolicyArray()) {
                CompiledPolicy p = attachable.get(key);
                if (p != null && category(p) == kind) {
                    out.add(p);
                }
            }
        }
        return out.stream().distinct().sorted(Comparator.comparing(p -> p.key)).toList();
    }

    /** Policies of one scope, per category. */
    private static final class Bucket {
        final PolicyIndex[] idx = new PolicyIndex[DRY_RUN + 1];

        Bucket(List<List<CompiledPolicy>> lists) {
            for (int i = 0; i <= DRY_RUN; i++) {
                idx[i] = PolicyIndex.of(lists.get(i));
            }
        }
    }

    /** A PeerAuthentication with its precomputed port table and denial. */
    private static final class PeerAuthEntry {
        final PeerAuthentication pa;
        final int[] ports;
        final MtlsMode[] modes;
        final Decision deny;
        final String[] selectorKeys;
        final String[] selectorValues;

        PeerAuthEntry(PeerAuthentication pa) {
            this.pa = pa;
            this.selectorKeys = pa.selector().keySet().stream().sorted().toArray(String[]::new);
            this.selectorValues = new String[selectorKeys.length];
            for (int i = 0; i < selectorKeys.length; i++) {
                selectorValues[i] = pa.selector().get(selectorKeys[i]);
            }
            List<Map.Entry<Integer, MtlsMode>> e = new ArrayList<>(pa.portLevelMtls().entrySet());
            e.sort(Map.Entry.comparingByKey());
            this.ports = e.stream().mapToInt(Map.Entry::getKey).toArray();
            this.modes = e.stream().map(Map.Entry::getValue).toArray(MtlsMode[]::new);
            this.deny = Decision.simple(false, Decision.Reason.PLAINTEXT_REJECTED, pa.key(), "PeerAuthentication", -1,
                    List.of());
        }

        boolean selects(Map<String, String> labels) {
            for (int i = 0; i < selectorKeys.length; i++) {
                if (!selectorValues[i].equals(labels.get(selectorKeys[i]))) {
                    return false;
                }
            }
            return true;
        }

        MtlsMode portMode(int port) {
            if (selectorKeys.length == 0) {
                return MtlsMode.UNSET;
            }
            for (int i = 0; i < ports.length; i++) {
                if (ports[i] == port) {
                    return modes[i];
                }
            }
            return MtlsMode.UNSET;
        }
    }
}
