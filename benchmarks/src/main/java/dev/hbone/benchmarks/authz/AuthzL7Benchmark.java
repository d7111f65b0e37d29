package dev.hbone.benchmarks.authz;

import dev.hbone.authz.CompileOptions;
import dev.hbone.authz.CompiledPolicies;
import dev.hbone.authz.ConnectionAttributes;
import dev.hbone.authz.Decision;
import dev.hbone.authz.Destination;
import dev.hbone.authz.EnforcementPoint;
import dev.hbone.authz.LoadResult;
import dev.hbone.authz.PolicyLoader;
import dev.hbone.authz.RequestAttributes;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One waypoint (L7) decision for an HTTP request: 50 policies attached to the waypoint with methods, path
 * templates, hosts, headers and JWT claims; the request is allowed by the last one.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AuthzL7Benchmark {
    private CompiledPolicies compiled;
    private Destination destination;
    private RequestAttributes request;

    @Setup(Level.Trial)
    public void setup() {
        StringBuilder yaml = new StringBuilder("""
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-admin, namespace: shop}
                spec:
                  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
                  action: DENY
                  rules: [{to: [{operation: {paths: ["/admin/{**}"]}}], when: [{key: "request.headers[x-debug]", values: ["*"]}]}]
                ---
                """);
        for (int i = 0; i < 50; i++) {
            yaml.append("""
                    apiVersion: security.istio.io/v1
                    kind: AuthorizationPolicy
                    metadata: {name: allow-%02d, namespace: shop}
                    spec:
                      targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
                      rules:
                      - from: [{source: {principals: ["cluster.local/ns/shop/sa/client%d"], requestPrincipals: ["https://issuer/*"]}}]
                        to: [{operation: {methods: [GET, HEAD], paths: ["/api/v%d/users/{*}/orders", "/static/*"], hosts: ["*.shop.example"]}}]
                        when: [{key: "request.auth.claims[groups]", values: ["buyers"]}, {key: "request.headers[x-tenant]", notValues: ["blocked"]}]
                    ---
                    """.formatted(i, i, i));
        }
        LoadResult loaded = new PolicyLoader().loadString("l7.yaml", yaml.toString());
        if (!loaded.errors().isEmpty()) {
            throw new IllegalStateException(loaded.errors().toString());
        }
        compiled = loaded.policies().compile(CompileOptions.ztunnel().withEnforcementPoint(EnforcementPoint.WAYPOINT));
        destination = Destination.builder("shop").waypoint("waypoint").services(List.of("cart")).build();
        ConnectionAttributes conn = ConnectionAttributes.builder().sourcePrincipal("cluster.local/ns/shop/sa/client49")
                .sourceIp("10.1.2.3").destinationIp("10.250.0.1").destinationPort(8080).build();
        request = RequestAttributes.builder(conn).method("GET").path("/api/v49/users/42/orders?page=2")
                .host("cart.shop.example:8080").header("x-tenant", "acme").header("user-agent", "bench")
                .requestPrincipal("https://issuer/alice").claims(Map.of("groups", List.of("staff", "buyers")))
                .build();
        Decision d = compiled.evaluate(destination, request);
        if (!d.allowed() || !"shop/allow-49".equals(d.policy())) {
            throw new IllegalStateException("benchmark set-up does not decide as intended: " + d);
        }
    }

    /** One HTTP request through the waypoint's policies. */
    @Benchmark
    public Decision l7Request() {
        return compiled.evaluate(destination, request);
    }
}
