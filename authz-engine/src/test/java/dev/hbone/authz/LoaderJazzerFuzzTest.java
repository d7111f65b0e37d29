package dev.hbone.authz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hbone.authz.model.AuthorizationPolicy;
import dev.hbone.authz.model.CompactPolicy;
import dev.hbone.authz.model.TargetRef;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Coverage-guided fuzzing (Jazzer) of the whole pipeline a policy file goes through: bytes → {@link
 * PolicyLoader#loadString} → {@link PolicySet#compile} for every enforcement point and conversion → {@link
 * CompiledPolicies#evaluate} for destinations taken from what loaded → {@link Decision#explain()}. The only
 * documented outcomes are a {@link LoadResult} (refusals as {@link LoadError}s with a reason) and decisions;
 * anything thrown is a finding.
 *
 * <p>In {@code mvn verify} Jazzer runs in regression mode: each committed input under
 * {@code src/test/resources/dev/hbone/authz/LoaderJazzerFuzzTestInputs/loadCompileEvaluate/} once, no fuzzing.
 * {@code JAZZER_FUZZ=1} fuzzes (see the README); findings are written to that directory and become regression
 * inputs when committed.
 */
class LoaderJazzerFuzzTest {
    private static final PolicyLoader LOADER = new PolicyLoader();
    private static final List<CompileOptions> OPTIONS = new ArrayList<>();

    static {
        for (EnforcementPoint ep : EnforcementPoint.values()) {
            for (CompileOptions.L4Conversion c : CompileOptions.L4Conversion.values()) {
                OPTIONS.add(new CompileOptions(CompileOptions.DEFAULT_ROOT_NAMESPACE, ep, c, ep == EnforcementPoint.ZTUNNEL));
            }
        }
    }

    private static final List<ConnectionAttributes> CONNECTIONS = List.of(
            ConnectionAttributes.builder().destinationPort(8080).build(),
            ConnectionAttributes.builder().sourcePrincipal("spiffe://cluster.local/ns/ns/sa/a").sourceIp("10.0.0.7")
                    .destinationIp("10.1.0.9").destinationPort(80).build(),
            ConnectionAttributes.builder().sourcePrincipal("cluster.local/ns/ns/sa/waypoint").sourceIp("::1")
                    .destinationIp("fd00::9").destinationPort(9090).build(),
            ConnectionAttributes.builder().sourcePrincipal("odd").destinationPort(0).build());

    @FuzzTest(maxDuration = "5m")
    void loadCompileEvaluate(byte[] input) {
        LoadResult loaded = LOADER.loadString("fuzz.yaml", new String(input, StandardCharsets.UTF_8));
        for (LoadError e : loaded.errors()) {
            if (e.message().isBlank() || e.toString().isBlank()) {
                throw new AssertionError("refusal without a reason: " + e);
            }
        }
        List<Destination> destinations = destinations(loaded.policies());
        for (CompileOptions options : OPTIONS) {
            CompiledPolicies compiled = loaded.policies().compile(options);
            for (Destination d : destinations) {
                compiled.warningsFor(d);
                for (ConnectionAttributes c : CONNECTIONS) {
                    check(compiled.evaluate(d, c));
                    if (options.enforcementPoint() != EnforcementPoint.ZTUNNEL) {
                        check(compiled.evaluate(d, RequestAttributes.builder(c).method("POST").path("/api/v1/x?q=1")
                                .host("Web.Example.com:8080").header("x-user", "u").requestPrincipal("issuer/sub")
                                .claims(Map.of("groups", List.of("admin"))).remoteIp("10.0.0.1").build()));
                    }
                }
                compiled.effectiveMtls(d, 8080);
            }
        }
    }

    private static void check(Decision d) {
        if (d.reason() == null || d.explain().isBlank() || d.toLogString().contains("\n")) {
            throw new AssertionError("malformed decision " + d);
        }
        d.candidatePolicies();
        d.warnings();
    }

    /** The plain destination plus one per loaded policy: its namespace, selector, targets and compact key. */
    private static List<Destination> destinations(PolicySet set) {
        Set<Destination> out = new LinkedHashSet<>();
        WaypointIdentity wp = WaypointIdentity.of("cluster.local", "ns", "waypoint", "waypoint");
        out.add(Destination.builder("ns").labels(Map.of("app", "web")).waypointIdentities(List.of(wp)).build());
        int n = 0;
        for (AuthorizationPolicy p : set.authorizationPolicies()) {
            if (n++ == 8) {
                break;
            }
            List<String> services = new ArrayList<>();
            Destination.Builder b = Destination.builder(p.namespace()).labels(p.selector());
            for (TargetRef t : p.targetRefs()) {
                if (t.kind().equals("Gateway")) {
                    b.waypoint(t.name());
                } else {
                    services.add(t.name());
                }
            }
            out.add(b.services(services).build());
        }
        n = 0;
        for (CompactPolicy p : set.compactPolicies()) {
            if (n++ == 8) {
                break;
            }
            out.add(Destination.builder(p.namespace()).attachedPolicies(List.of(p.key())).build());
        }
        return new ArrayList<>(out);
    }
}
