package dev.hbone.ztunnel.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.authz.CompileOptions;
import dev.hbone.authz.CompiledPolicies;
import dev.hbone.authz.ConnectionAttributes;
import dev.hbone.authz.Destination;
import dev.hbone.ztunnel.state.Workload;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/** The example configuration's policies, compiled and evaluated by authz-engine as the proxy will. */
class ExamplePoliciesTest {

    private static LocalConfig example() throws Exception {
        try (InputStream in = LocalConfig.class.getResourceAsStream("/examples/localhost.yaml")) {
            return LocalConfig.parse("localhost.yaml", in.readAllBytes());
        }
    }

    private static boolean allowed(CompiledPolicies policies, Workload destination, String principal, int port) {
        Destination d = Destination.builder(destination.namespace())
                .attachedPolicies(destination.authorizationPolicies()).build();
        ConnectionAttributes c = ConnectionAttributes.builder()
                .sourcePrincipal(principal)
                .sourceIp("127.0.0.2")
                .destinationIp(destination.workloadIps().get(0).getHostAddress())
                .destinationPort(port)
                .build();
        return policies.evaluate(d, c).allowed();
    }

    @Test
    void denyWinsAndAllowAdmitsOnlyTheSameNamespace() throws Exception {
        LocalConfig config = example();
        CompiledPolicies policies = config.policySet().compile(CompileOptions.ztunnel());
        Workload local = config.workloads().get(0);
        assertThat(allowed(policies, local, "cluster.local/ns/default/sa/default", 8080)).isTrue();
        assertThat(allowed(policies, local, "cluster.local/ns/default/sa/default", 9999)).isFalse();
        assertThat(allowed(policies, local, "cluster.local/ns/other/sa/default", 8080)).isFalse();
    }
}
