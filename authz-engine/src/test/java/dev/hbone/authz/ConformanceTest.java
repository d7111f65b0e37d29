package dev.hbone.authz;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * Runs the conformance table {@code conformance/cases.yaml}: each case loads its policies, compiles them for
 * its enforcement point, evaluates one request and checks the decision, the deciding policy and rule. Every
 * case is also checked for determinism (recompiled from reversed input order).
 */
class ConformanceTest {

    static Stream<Arguments> cases() throws IOException {
        try (InputStream in = ConformanceTest.class.getResourceAsStream("/conformance/cases.yaml")) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> all = (List<Map<String, Object>>) new Load(LoadSettings.builder().build())
                    .loadFromString(text);
            return all.stream().map(c -> Arguments.of(Named.of((String) c.get("name"), c)));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    @SuppressWarnings("unchecked")
    void conforms(Map<String, Object> c) {
        LoadResult loaded = new PolicyLoader().loadString("case.yaml", (String) c.get("policies"));
        assertThat(loaded.errors()).as("load errors").isEmpty();

        CompileOptions options = new CompileOptions(
                (String) c.getOrDefault("rootNamespace", "istio-system"),
                EnforcementPoint.valueOf((String) c.getOrDefault("point", "ZTUNNEL")),
                CompileOptions.L4Conversion.valueOf((String) c.getOrDefault("conversion", "ISTIO_COMPATIBLE")),
                Boolean.TRUE.equals(c.get("implicitWaypointAllow")));
        CompiledPolicies compiled = loaded.policies().compile(options);

        Map<String, Object> dst = (Map<String, Object>) c.getOrDefault("destination", Map.of());
        Destination.Builder db = Destination.builder((String) dst.getOrDefault("namespace", "ns"))
                .labels((Map<String, String>) dst.getOrDefault("labels", Map.of("app", "web")))
                .services((List<String>) dst.getOrDefault("services", List.of()))
                .attachedPolicies((List<String>) dst.getOrDefault("attached", List.of()));
        if (dst.get("waypoint") != null) {
            db.waypoint((String) dst.get("waypoint"));
        }
        List<WaypointIdentity> wps = new ArrayList<>();
        for (Map<String, Object> w : (List<Map<String, Object>>) dst.getOrDefault("waypointIdentities", List.of())) {
            wps.add(new WaypointIdentity((String) w.get("namespace"), (String) w.get("name"),
                    (List<String>) w.get("principals")));
        }
        db.waypointIdentities(wps);
        Destination destination = db.build();

        Map<String, Object> req = (Map<String, Object>) c.get("request");
        ConnectionAttributes.Builder cb = ConnectionAttributes.builder()
                .destinationPort((Integer) req.getOrDefault("port", 8080));
        if (req.get("principal") != null) {
            cb.sourcePrincipal((String) req.get("principal"));
        }
        if (req.get("ip") != null) {
            cb.sourceIp((String) req.get("ip"));
        }
        cb.destinationIp((String) req.getOrDefault("destIp", "10.9.9.9"));
        ConnectionAttributes conn = cb.build();

        Decision d;
        if (req.containsKey("method") || req.containsKey("path")) {
            RequestAttributes.Builder rb = RequestAttributes.builder(conn)
                    .method((String) req.getOrDefault("method", "GET"))
                    .path((String) req.getOrDefault("path", "/"))
                    .host((String) req.getOrDefault("host", "web.ns.svc.cluster.local"));
            ((Map<String, String>) req.getOrDefault("headers", Map.of())).forEach(rb::header);
            if (req.get("requestPrincipal") != null) {
                rb.requestPrincipal((String) req.get("requestPrincipal"));
            }
            if (req.get("claims") != null) {
                rb.claims((Map<String, Object>) req.get("claims"));
            }
            if (req.get("remoteIp") != null) {
                rb.remoteIp((String) req.get("remoteIp"));
            }
            RequestAttributes r = rb.build();
            d = compiled.evaluate(destination, r);
            assertThat(reversed(loaded.policies()).compile(options).evaluate(destination, r).toLogString())
                    .as("deterministic across input order").isEqualTo(d.toLogString());
        } else {
            d = compiled.evaluate(destination, conn);
            assertThat(reversed(loaded.policies()).compile(options).evaluate(destination, conn).toLogString())
                    .as("deterministic across input order").isEqualTo(d.toLogString());
        }

        if (d.reason() == Decision.Reason.PLAINTEXT_REJECTED) {
            assertThat(compiled.effectiveMtls(destination, conn.destinationPort()))
                    .isEqualTo(new CompiledPolicies.EffectiveMtls(dev.hbone.authz.model.MtlsMode.STRICT, d.policy()));
        }
        Map<String, Object> e = (Map<String, Object>) c.get("expect");
        String why = d.explain();
        assertThat(d.allowed()).as("allowed; " + why).isEqualTo(e.get("allowed"));
        if (e.containsKey("reason")) {
            assertThat(d.reason().name()).as("reason; " + why).isEqualTo(e.get("reason"));
        }
        if (e.containsKey("policy")) {
            assertThat(d.policy()).as("deciding policy; " + why).isEqualTo(e.get("policy"));
        }
        if (e.containsKey("rule")) {
            assertThat(d.ruleIndex()).as("rule; " + why).isEqualTo(e.get("rule"));
        }
        if (e.containsKey("candidates")) {
            assertThat(d.candidatePolicies()).isEqualTo(e.get("candidates"));
        }
        if (e.containsKey("dryRunAllowed")) {
            assertThat(d.dryRunAllowed()).as("dry-run verdict; " + why).isEqualTo(e.get("dryRunAllowed"));
        }
        if (e.containsKey("dryRun")) {
            assertThat(d.dryRunResults()).map(DryRunResult::toString).isEqualTo(e.get("dryRun"));
        }
        if (e.containsKey("extAuthz")) {
            assertThat(d.externalAuthorizer()).isEqualTo(e.get("extAuthz"));
        }
        if (e.containsKey("audit")) {
            assertThat(d.auditPolicies()).isEqualTo(e.get("audit"));
        }
        if (e.containsKey("explain")) {
            assertThat(why).contains((String) e.get("explain"));
        }
        if (e.containsKey("warning")) {
            assertThat(d.warnings()).map(CompileWarning::message).anyMatch(m -> m.contains((String) e.get("warning")));
            assertThat(why).contains((String) e.get("warning"));
        }
        if (e.containsKey("warnings")) {
            assertThat(compiled.warnings()).hasSize((Integer) e.get("warnings"));
        }
        if (e.containsKey("compileWarning")) {
            assertThat(compiled.warnings()).anyMatch(w -> w.severity() == CompileWarning.Severity.WARNING
                    && w.message().contains((String) e.get("compileWarning")));
        }
        assertThat(d.toLogString()).startsWith(d.allowed() ? "allow reason=" : "deny reason=").doesNotContain("\n");
    }

    static PolicySet reversed(PolicySet s) {
        List<dev.hbone.authz.model.AuthorizationPolicy> a = new ArrayList<>(s.authorizationPolicies());
        List<dev.hbone.authz.model.PeerAuthentication> p = new ArrayList<>(s.peerAuthentications());
        List<dev.hbone.authz.model.CompactPolicy> c = new ArrayList<>(s.compactPolicies());
        Collections.reverse(a);
        Collections.reverse(p);
        Collections.reverse(c);
        return PolicySet.of(a, p, c);
    }
}
