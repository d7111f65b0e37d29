package dev.hbone.authz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.authz.model.Action;
import dev.hbone.authz.model.AuthorizationPolicy;
import dev.hbone.authz.model.Condition;
import dev.hbone.authz.model.Operation;
import dev.hbone.authz.model.Rule;
import dev.hbone.authz.model.Source;
import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Properties over random L4 policy sets: evaluation is deterministic (repeated, recompiled, permuted) and agrees
 * with a deliberately naive reference interpreter of Istio's rules written directly over the model.
 */
class DeterminismPropertyTest {
    private static final String[] NS = {"ns", "other", "istio-system", "far"};
    private static final String[] SA = {"a", "b", "c"};
    private static final String[] APPS = {"web", "db", "api"};
    private static final String[] CIDRS = {"10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/24", "10.1.2.3"};
    private static final String[] PORTS = {"80", "8080", "9090"};

    @Test
    void deterministicAndAgreesWithReference() throws Exception {
        Random random = new Random(7);
        for (int round = 0; round < 60; round++) {
            List<AuthorizationPolicy> policies = new ArrayList<>();
            int n = 1 + random.nextInt(12);
            for (int i = 0; i < n; i++) {
                policies.add(policy("p" + i, random));
            }
            PolicySet set = PolicySet.of(policies, List.of(), List.of());
            CompiledPolicies compiled = set.compile(CompileOptions.ztunnel());
            List<CompiledPolicies> permuted = new ArrayList<>();
            for (int k = 0; k < 4; k++) {
                List<AuthorizationPolicy> shuffled = new ArrayList<>(policies);
                Collections.shuffle(shuffled, random);
                permuted.add(PolicySet.of(shuffled, List.of(), List.of()).compile(CompileOptions.ztunnel()));
            }
            for (int q = 0; q < 60; q++) {
                String dstNs = NS[random.nextInt(NS.length)];
                Map<String, String> labels = Map.of("app", APPS[random.nextInt(APPS.length)]);
                Destination d = Destination.builder(dstNs).labels(labels).build();
                ConnectionAttributes.Builder cb = ConnectionAttributes.builder()
                        .sourceIp("10." + random.nextInt(3) + "." + random.nextInt(3) + ".3")
                        .destinationIp("10.9.9.9")
                        .destinationPort(Integer.parseInt(PORTS[random.nextInt(PORTS.length)]));
                if (random.nextInt(4) != 0) {
                    cb.sourcePrincipal("cluster.local/ns/" + NS[random.nextInt(NS.length)] + "/sa/"
                            + SA[random.nextInt(SA.length)]);
                }
                ConnectionAttributes c = cb.build();
                Decision first = compiled.evaluate(d, c);
                assertThat(compiled.evaluate(d, c)).isSameAs(first.reason() == Decision.Reason.NO_ALLOW_MATCHED
                        ? compiled.evaluate(d, c) : first);
                for (CompiledPolicies p : permuted) {
                    assertThat(p.evaluate(d, c).toLogString()).isEqualTo(first.toLogString());
                }
                assertThat(first.allowed()).as(policies + "\n" + c + " to " + d)
                        .isEqualTo(reference(policies, dstNs, labels, c));
            }
        }
    }

    private static AuthorizationPolicy policy(String name, Random r) {
        String ns = NS[r.nextInt(NS.length)];
        Map<String, String> selector = r.nextBoolean() ? Map.of() : Map.of("app", APPS[r.nextInt(APPS.length)]);
        Action action = r.nextInt(3) == 0 ? Action.DENY : Action.ALLOW;
        List<Rule> rules = new ArrayList<>();
        int nr = r.nextInt(3);
        for (int i = 0; i < nr; i++) {
            List<Source> from = new ArrayList<>();
            for (int j = 0; j < r.nextInt(3); j++) {
                List<String> pr = pick(r, "cluster.local/ns/ns/sa/a", "cluster.local/ns/other/*", "*/sa/b", "*");
                List<String> ns2 = pick(r, "ns", "oth*", "*");
                List<String> ip = pick(r, CIDRS);
                List<String> npr = pick(r, "*", "cluster.local/ns/ns/sa/a");
                List<String> nip = pick(r, CIDRS);
                if (pr.isEmpty() && ns2.isEmpty() && ip.isEmpty() && npr.isEmpty() && nip.isEmpty()) {
                    pr = List.of("*");
                }
                from.add(new Source(pr, npr, List.of(), List.of(), ns2, List.of(), List.of(), List.of(), ip, nip,
                        List.of(), List.of()));
            }
            List<Operation> to = new ArrayList<>();
            for (int j = 0; j < r.nextInt(2); j++) {
                List<String> ports = pick(r, PORTS);
                List<String> notPorts = pick(r, PORTS);
                if (ports.isEmpty() && notPorts.isEmpty()) {
                    ports = List.of("8080");
                }
                to.add(new Operation(List.of(), List.of(), ports, notPorts, List.of(), List.of(), List.of(), List.of()));
            }
            List<Condition> when = new ArrayList<>();
            if (r.nextInt(4) == 0) {
                when.add(new Condition("source.ip", pick(r, CIDRS), List.of("10.2.0.0/16")));
            }
            rules.add(new Rule(from, to, when));
        }
        return new AuthorizationPolicy(name, ns, selector, List.of(), action, null, rules, false);
    }

    @SafeVarargs
    private static <T> List<T> pick(Random r, T... values) {
        List<T> out = new ArrayList<>();
        for (T v : values) {
            if (r.nextInt(3) == 0) {
                out.add(v);
            }
        }
        return out;
    }

    // ---- a naive reference interpreter of the documented semantics

    private static boolean reference(List<AuthorizationPolicy> ps, String ns, Map<String, String> labels,
            ConnectionAttributes c) throws Exception {
        boolean allowApplies = false;
        boolean allowMatched = false;
        for (AuthorizationPolicy p : ps) {
            boolean inScope = (p.namespace().equals("istio-system") || p.namespace().equals(ns))
                    && p.selector().entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
            if (!inScope) {
                continue;
            }
            boolean matched = false;
            for (Rule r : p.rules()) {
                matched |= ruleMatches(r, c);
            }
            if (p.action() == Action.DENY && matched) {
                return false;
            }
            if (p.action() == Action.ALLOW) {
                allowApplies = true;
                allowMatched |= matched;
            }
        }
        return !allowApplies || allowMatched;
    }

    private static boolean ruleMatches(Rule r, ConnectionAttributes c) throws Exception {
        if (!r.from().isEmpty()) {
            boolean any = false;
            for (Source s : r.from()) {
                any |= field(s.principals(), s.notPrincipals(), c.sourcePrincipal())
                        && field(s.namespaces(), s.notNamespaces(), c.sourceNamespace())
                        && ipField(s.ipBlocks(), s.notIpBlocks(), c.sourceIp());
            }
            if (!any) {
                return false;
            }
        }
        if (!r.to().isEmpty()) {
            boolean any = false;
            for (Operation o : r.to()) {
                String port = String.valueOf(c.destinationPort());
                any |= (o.ports().isEmpty() || o.ports().contains(port)) && !o.notPorts().contains(port);
            }
            if (!any) {
                return false;
            }
        }
        for (Condition w : r.when()) {
            if (!ipField(w.values(), w.notValues(), c.sourceIp())) {
                return false;
            }
        }
        return true;
    }

    private static boolean field(List<String> pos, List<String> neg, String v) {
        boolean p = pos.isEmpty() || pos.stream().anyMatch(x -> wildcard(x, v));
        return p && neg.stream().noneMatch(x -> wildcard(x, v));
    }

    private static boolean wildcard(String pattern, String v) {
        if (v == null) {
            return false;
        }
        if (pattern.equals("*")) {
            return !v.isEmpty();
        }
        if (pattern.startsWith("*")) {
            return v.endsWith(pattern.substring(1));
        }
        if (pattern.endsWith("*")) {
            return v.startsWith(pattern.substring(0, pattern.length() - 1));
        }
        return v.equals(pattern);
    }

    private static final Map<String, BigInteger[]> CIDR_CACHE = new HashMap<>();

    private static boolean ipField(List<String> pos, List<String> neg, String ip) throws Exception {
        BigInteger a = new BigInteger(1, InetAddress.getByName(ip).getAddress());
        boolean p = pos.isEmpty();
        for (String s : pos) {
            p |= inCidr(s, a);
        }
        for (String s : neg) {
            if (inCidr(s, a)) {
                return false;
            }
        }
        return p;
    }

    private static boolean inCidr(String cidr, BigInteger a) throws Exception {
        String[] parts = cidr.split("/");
        int bits = parts.length == 1 ? 32 : Integer.parseInt(parts[1]);
        BigInteger net = new BigInteger(1, InetAddress.getByName(parts[0]).getAddress());
        return a.shiftRight(32 - bits).equals(net.shiftRight(32 - bits));
    }
}
