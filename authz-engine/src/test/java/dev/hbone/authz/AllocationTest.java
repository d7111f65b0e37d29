package dev.hbone.authz;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The L4 hot path allocates nothing (a dry-run policy in another namespace does not change that): measured with the JVM's per-thread allocation counter. */
class AllocationTest {

    @Test
    void l4EvaluationDoesNotAllocate() {
        StringBuilder yaml = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            yaml.append("""
                    apiVersion: security.istio.io/v1
                    kind: AuthorizationPolicy
                    metadata: {name: p%d, namespace: ns}
                    spec:
                      selector: {matchLabels: {app: app%d}}
                      action: %s
                      rules:
                      - from: [{source: {principals: ["cluster.local/ns/other/sa/s%d"], ipBlocks: ["10.%d.0.0/16"]}}]
                        to: [{operation: {ports: ["8080"]}}]
                    ---
                    """.formatted(i, i % 10, i % 4 == 0 ? "DENY" : "ALLOW", i, i % 250));
        }
        yaml.append("""
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: dry-elsewhere, namespace: elsewhere, annotations: {istio.io/dry-run: "true"}}
                spec: {action: DENY, rules: [{}]}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: STRICT}}
                """);
        LoadResult loaded = new PolicyLoader().loadString("many.yaml", yaml.toString());
        assertThat(loaded.errors()).isEmpty();
        CompiledPolicies compiled = loaded.policies().compile(CompileOptions.ztunnel());
        Destination d = Destination.builder("ns").labels(Map.of("app", "app1", "version", "v1")).build();
        List<ConnectionAttributes> conns = new ArrayList<>();
        conns.add(conn("cluster.local/ns/other/sa/s1", "10.1.3.4")); // ALLOW matched
        conns.add(conn("cluster.local/ns/other/sa/s9", "10.9.3.4")); // no ALLOW matched
        conns.add(conn("cluster.local/ns/other/sa/s21", "10.21.0.1")); // matches p21 (ALLOW, app1)
        conns.add(ConnectionAttributes.builder().sourceIp("10.1.1.1").destinationPort(8080).build()); // plaintext
        Destination d4 = Destination.builder("ns").labels(Map.of("app", "app0")).build();
        conns.add(conn("cluster.local/ns/other/sa/s0", "10.0.0.1")); // DENY matched on app0
        conns.add(conn("cluster.local/ns/infra/sa/waypoint", "10.2.0.1")); // the implicit waypoint ALLOW, below
        // istiod's implicit waypoint ALLOW (PILOT_AUTO_ALLOW_WAYPOINT_POLICY) costs no allocation either
        CompiledPolicies withWaypoint = loaded.policies().compile(CompileOptions.ztunnel().withImplicitWaypointAllow(true));
        Destination dw = Destination.builder("ns").labels(Map.of("app", "app1")).waypointIdentities(List.of(
                WaypointIdentity.of("cluster.local", "infra", "waypoint", "waypoint", "waypoint-2"))).build();
        assertThat(withWaypoint.evaluate(dw, conns.get(conns.size() - 1)).policy())
                .isEqualTo("infra/istio_allow_waypoint_infra_waypoint");

        com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().getId();
        int sink = 0;
        for (int warm = 0; warm < 20_000; warm++) {
            for (ConnectionAttributes c : conns) {
                sink += compiled.evaluate(d, c).allowed() ? 1 : 0;
                sink += compiled.evaluate(d4, c).allowed() ? 1 : 0;
                sink += withWaypoint.evaluate(dw, c).allowed() ? 1 : 0;
            }
        }
        ConnectionAttributes[] arr = conns.toArray(ConnectionAttributes[]::new);
        long before = bean.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 10_000; i++) {
            for (ConnectionAttributes c : arr) {
                sink += compiled.evaluate(d, c).allowed() ? 1 : 0;
                sink += compiled.evaluate(d4, c).allowed() ? 1 : 0;
                sink += withWaypoint.evaluate(dw, c).allowed() ? 1 : 0;
            }
        }
        long allocated = bean.getThreadAllocatedBytes(tid) - before;
        assertThat(sink).isPositive();
        // 180 000 evaluations; allow a little for the measuring itself.
        assertThat(allocated).as("bytes allocated by 180k L4 evaluations").isLessThan(4096);
    }

    private static ConnectionAttributes conn(String principal, String ip) {
        return ConnectionAttributes.builder().sourcePrincipal(principal).sourceIp(ip).destinationIp("10.200.0.1")
                .destinationPort(8080).build();
    }
}
