package dev.hbone.ztunnel.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.authz.CompileOptions;
import dev.hbone.authz.CompiledPolicies;
import dev.hbone.authz.ConnectionAttributes;
import dev.hbone.authz.Destination;
import dev.hbone.ztunnel.state.Workload;
import dev.hbone.ztunnel.route.InboundDecision;
import dev.hbone.ztunnel.route.InboundRequest;
import dev.hbone.ztunnel.route.InboundRouter;
import dev.hbone.ztunnel.route.OutboundRoute;
import dev.hbone.ztunnel.route.OutboundRouter;
import dev.hbone.ztunnel.route.ProxySettings;
import dev.hbone.ztunnel.state.ProxyState;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The module's example configuration, routed and authorized the way the proxy will. */
class ExampleConfigTest {

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
    void serviceTrafficIsLoadBalancedOverTheLoopbackMesh() throws Exception {
        LocalConfig config = example();
        ProxyState state = config.toProxyState();
        ProxySettings settings = ProxySettings.defaults().withNode("local");
        List<OutboundRoute> routes = new ArrayList<>();
        for (int pick = 0; pick < 2; pick++) {
            int chosen = pick;
            OutboundRouter router = new OutboundRouter(settings, weights -> chosen);
            Workload source = router.findSource(state, InetAddress.getByName("127.0.0.1")).orElseThrow();
            routes.add(router.route(state, source, InetAddress.getByName("127.0.0.1"),
                    new InetSocketAddress(InetAddress.getByName("127.10.0.1"), 80)));
        }
        OutboundRoute.DirectHbone hbone = (OutboundRoute.DirectHbone) routes.get(0);
        assertThat(hbone.nextHop()).isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 15008));
        assertThat(hbone.authority()).hasToString("127.0.0.1:8080");
        assertThat(hbone.sourceIdentity().toSpiffeUri()).isEqualTo("spiffe://cluster.local/ns/default/sa/default");
        OutboundRoute.DirectTcp tcp = (OutboundRoute.DirectTcp) routes.get(1);
        assertThat(tcp.nextHop()).isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 8080));

        InboundDecision inbound = new InboundRouter(settings).decide(state, InboundRequest.connect("127.0.0.1:8080",
                new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 50000), InetAddress.getByName("127.0.0.1"),
                "spiffe://cluster.local/ns/default/sa/default"));
        assertThat(((InboundDecision.Forward) inbound).upstream())
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 8080));
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
