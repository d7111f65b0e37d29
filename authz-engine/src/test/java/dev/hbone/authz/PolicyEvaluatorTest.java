package dev.hbone.authz;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class PolicyEvaluatorTest {
    private static final String DENY_B = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: deny-b, namespace: ns}
            spec:
              action: DENY
              rules: [{from: [{source: {principals: [cluster.local/ns/ns/sa/b]}}]}]
            """;

    record Conn(String principal) {
    }

    @Test
    void swapsAtomicallyAndTellsListenersWhichLiveConnectionsAreNowDenied() {
        PolicyEvaluator evaluator = new PolicyEvaluator(CompileOptions.ztunnel());
        Destination d = Destination.builder("ns").labels(Map.of("app", "web")).build();
        List<Conn> live = List.of(new Conn("cluster.local/ns/ns/sa/a"), new Conn("cluster.local/ns/ns/sa/b"));
        AtomicReference<List<PolicyEvaluator.Denied<Conn>>> closed = new AtomicReference<>();
        SnapshotListener listener = (previous, current) -> {
            assertThat(previous).isNotSameAs(current);
            closed.set(PolicyEvaluator.deniedConnections(current, live, c -> d,
                    c -> ConnectionAttributes.builder().sourcePrincipal(c.principal()).destinationPort(80).build()));
        };
        evaluator.addListener(listener);
        assertThat(evaluator.evaluate(d, attrs("cluster.local/ns/ns/sa/b")).allowed()).isTrue();

        CompiledPolicies next = evaluator.update(new PolicyLoader().loadString("p.yaml", DENY_B).policies());
        assertThat(evaluator.snapshot()).isSameAs(next);
        assertThat(closed.get()).singleElement().satisfies(x -> {
            assertThat(x.connection().principal()).isEqualTo("cluster.local/ns/ns/sa/b");
            assertThat(x.decision().toLogString()).isEqualTo("deny reason=deny-matched policy=ns/deny-b rule=0");
        });
        evaluator.removeListener(listener);
        closed.set(null);
        evaluator.update(PolicySet.empty());
        assertThat(closed.get()).isNull();
        assertThat(evaluator.evaluate(d, attrs("cluster.local/ns/ns/sa/b")).allowed()).isTrue();
    }

    @Test
    void evaluationDuringSwapsSeesOneWholeSnapshot() throws InterruptedException {
        PolicyEvaluator evaluator = new PolicyEvaluator(CompileOptions.ztunnel());
        PolicySet denyB = new PolicyLoader().loadString("p.yaml", DENY_B).policies();
        Destination d = Destination.builder("ns").build();
        ConnectionAttributes b = attrs("cluster.local/ns/ns/sa/b");
        AtomicBoolean stop = new AtomicBoolean();
        List<Throwable> failures = new ArrayList<>();
        Thread reader = new Thread(() -> {
            try {
                while (!stop.get()) {
                    Decision dec = evaluator.evaluate(d, b);
                    // each decision comes from one snapshot: either no policy, or the DENY
                    assertThat(dec.allowed() ? dec.reason() : dec.policy())
                            .isIn(Decision.Reason.NO_ALLOW_POLICY, "ns/deny-b");
                }
            } catch (Throwable t) {
                synchronized (failures) {
                    failures.add(t);
                }
            }
        });
        reader.start();
        for (int i = 0; i < 300; i++) {
            evaluator.update(i % 2 == 0 ? denyB : PolicySet.empty());
        }
        stop.set(true);
        reader.join();
        assertThat(failures).isEmpty();
    }

    private static ConnectionAttributes attrs(String principal) {
        return ConnectionAttributes.builder().sourcePrincipal(principal).destinationPort(80).build();
    }
}
