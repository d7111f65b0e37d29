package dev.hbone.benchmarks.authz;

import dev.hbone.authz.CompileOptions;
import dev.hbone.authz.CompiledPolicies;
import dev.hbone.authz.ConnectionAttributes;
import dev.hbone.authz.Decision;
import dev.hbone.authz.Destination;
import dev.hbone.authz.LoadResult;
import dev.hbone.authz.PolicyLoader;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One ztunnel (L4) authorization decision for a connection.
 *
 * <ul>
 * <li>{@code layout=inScope}: all {@code policies} apply to the destination (half namespace-wide, half
 *     selecting its labels; 1 in 10 is a DENY), each allowing one service account on two ports — the usual
 *     shape; the principal index finds the candidates directly.</li>
 * <li>{@code layout=inScopeScan}: the same, but each rule also accepts a namespace, so no policy can be keyed
 *     by principal: the connection is allowed by the last ALLOW in evaluation order and every policy's rules
 *     are evaluated — the worst case, linear in the number of policies (as in ztunnel).</li>
 * <li>{@code layout=indexed}: the policies spread over {@code policies/10} workloads by
 *     {@code selector.matchLabels}; the destination is one of them, so about 10 are visited.</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AuthzL4Benchmark {
    @Param({"10", "1000", "10000"})
    int policies;

    @Param({"inScope", "inScopeScan", "indexed"})
    String layout;

    private CompiledPolicies compiled;
    private Destination destination;
    private ConnectionAttributes allowed;
    private ConnectionAttributes denied;

    @Setup(Level.Trial)
    public void setup() {
        StringBuilder yaml = new StringBuilder();
        boolean indexed = layout.equals("indexed");
        for (int i = 0; i < policies; i++) {
            boolean deny = i % 10 == 5;
            String selector = indexed ? "selector: {matchLabels: {app: app" + (i % Math.max(1, policies / 10)) + "}}"
                    : (i % 2 == 0 ? "selector: {matchLabels: {app: app0}}" : "");
            yaml.append("""
                    apiVersion: security.istio.io/v1
                    kind: AuthorizationPolicy
                    metadata: {name: p%05d, namespace: shop}
                    spec:
                      %s
                      action: %s
                      rules:
                      - from:
                        - source: {principals: ["cluster.local/ns/shop/sa/client%d"], ipBlocks: ["10.%d.0.0/16"]}
                        %s
                        to: [{operation: {ports: ["8080", "9090"]}}]
                    ---
                    """.formatted(i, selector, deny ? "DENY" : "ALLOW", i, i % 200,
                    layout.equals("inScopeScan") ? "- source: {namespaces: [\"ns" + i + "\"]}" : ""));
        }
        LoadResult loaded = new PolicyLoader().loadString("bench.yaml", yaml.toString());
        if (!loaded.errors().isEmpty()) {
            throw new IllegalStateException(loaded.errors().toString());
        }
        compiled = loaded.policies().compile(CompileOptions.ztunnel());
        destination = Destination.builder("shop").labels(Map.of("app", "app0", "version", "v1")).build();
        // The ALLOW that matches is the last one evaluation visits: namespace-wide policies come first, then
        // the selector ones (even indexes in inScope; index % (policies/10) == 0 in indexed), in name order.
        int last = policies - 1;
        while (last % 10 == 5 || (indexed ? last % Math.max(1, policies / 10) != 0 : last % 2 != 0)) {
            last--;
        }
        allowed = ConnectionAttributes.builder().sourcePrincipal("cluster.local/ns/shop/sa/client" + last)
                .sourceIp("10." + (last % 200) + ".1.2").destinationIp("10.250.0.1").destinationPort(8080).build();
        denied = ConnectionAttributes.builder().sourcePrincipal("cluster.local/ns/elsewhere/sa/nobody")
                .sourceIp("172.16.0.1").destinationIp("10.250.0.1").destinationPort(8080).build();
        if (!compiled.evaluate(destination, allowed).allowed() || compiled.evaluate(destination, denied).allowed()) {
            throw new IllegalStateException("benchmark set-up does not decide as intended: "
                    + compiled.evaluate(destination, allowed) + " / " + compiled.evaluate(destination, denied));
        }
    }

    /** A connection allowed by the last ALLOW policy visited. */
    @Benchmark
    public Decision l4Allowed() {
        return compiled.evaluate(destination, allowed);
    }

    /** A connection no ALLOW matches (every policy visited, then denied). */
    @Benchmark
    public Decision l4NoAllowMatched() {
        return compiled.evaluate(destination, denied);
    }
}
