package dev.hbone.ztunnel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hbone.authz.model.MtlsMode;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Istio AuthorizationPolicy / PeerAuthentication documents after the ztunnel document, and workload labels. */
class LocalConfigIstioDocumentsTest {
    static final String ZTUNNEL = """
            workloads:
            - uid: w
              namespace: shop
              workloadIps: ["10.0.0.1"]
              labels: {app: server, version: v1}
            policies:
            - name: compact
              namespace: shop
              scope: Namespace
              action: Deny
              rules: []
            """;
    static final String PEER_AUTHN = """
            ---
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: server, namespace: shop}
            spec:
              selector: {matchLabels: {app: server}}
              mtls: {mode: STRICT}
              portLevelMtls: {"8080": {mode: DISABLE}}
            """;
    static final String AUTHZ = """
            ---
            apiVersion: security.istio.io/v1beta1
            kind: AuthorizationPolicy
            metadata: {name: allow-web, namespace: shop}
            spec:
              action: ALLOW
              rules: [{from: [{source: {principals: ["cluster.local/ns/web/sa/web"]}}]}]
            """;

    @Test
    void readsIstioDocumentsNextToTheZtunnelDocument() throws Exception {
        LocalConfig c = LocalConfig.parse("local.yaml", ZTUNNEL + PEER_AUTHN + AUTHZ);
        assertThat(c.workloads()).singleElement().satisfies(w ->
                assertThat(w.labels()).isEqualTo(Map.of("app", "server", "version", "v1")));
        assertThat(c.policies()).hasSize(1);
        assertThat(c.peerAuthentications()).singleElement().satisfies(pa -> {
            assertThat(pa.key()).isEqualTo("shop/server");
            assertThat(pa.mode()).isEqualTo(MtlsMode.STRICT);
            assertThat(pa.portLevelMtls()).isEqualTo(Map.of(8080, MtlsMode.DISABLE));
        });
        assertThat(c.authorizationPolicies()).singleElement().satisfies(ap ->
                assertThat(ap.name()).isEqualTo("allow-web"));
        assertThat(c.policySet().size()).isEqualTo(3);
        // the document order does not matter, and Istio documents alone are a configuration without workloads
        assertThat(LocalConfig.parse("local.yaml", AUTHZ + "---\n" + ZTUNNEL + PEER_AUTHN)).isEqualTo(c);
        assertThat(LocalConfig.parse("local.yaml", PEER_AUTHN).peerAuthentications()).hasSize(1);
    }

    @Test
    void aBadIstioDocumentRefusesTheFileAndNamesTheDocumentAndField() {
        String bad = PEER_AUTHN.replace("mode: STRICT", "mode: STRICTLY");
        assertThatThrownBy(() -> LocalConfig.parse("local.yaml", ZTUNNEL + bad))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("local.yaml: document 2 spec.mtls.mode")
                .hasMessageContaining("STRICTLY");
        assertThatThrownBy(() -> LocalConfig.parse("local.yaml", ZTUNNEL + AUTHZ.replace("kind: Auth", "kind: Autz")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("local.yaml: document 2 kind")
                .hasMessageContaining("is not AuthorizationPolicy, PeerAuthentication or List");
        // and both a workload error and a policy error are listed at once
        assertThatThrownBy(() -> LocalConfig.parse("local.yaml", ZTUNNEL.replace("10.0.0.1", "10.0.0.300") + bad))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("workloads[0].workloadIps[0]")
                .hasMessageContaining("document 2 spec.mtls.mode");
    }

    @Test
    void theReadmeExampleParsesAndItsPortExceptionApplies() throws Exception {
        String readme = java.nio.file.Files.readString(java.nio.file.Path.of("README.md"));
        int start = readme.indexOf("```yaml\nworkloads:\n- uid: node-1/reviews");
        assertThat(start).as("README example").isNotNegative();
        String yaml = readme.substring(start + "```yaml\n".length(), readme.indexOf("```", start + 7));
        LocalConfig c = LocalConfig.parse("README.md", yaml);
        assertThat(c.peerAuthentications()).hasSize(2);
        dev.hbone.authz.CompiledPolicies compiled = c.policySet().compile(dev.hbone.authz.CompileOptions.ztunnel());
        dev.hbone.authz.Destination reviews = dev.hbone.authz.Destination.builder("bookinfo")
                .labels(Map.of("app", "reviews")).build();
        assertThat(compiled.effectiveMtls(reviews, 9080).mode()).isEqualTo(MtlsMode.STRICT);
        assertThat(compiled.effectiveMtls(reviews, 9091).mode()).isEqualTo(MtlsMode.PERMISSIVE);
    }

    @Test
    void labelsMustBeAMappingOfStrings() {
        assertThatThrownBy(() -> LocalConfig.parse("local.yaml", ZTUNNEL.replace("{app: server, version: v1}",
                "[app]")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("workloads[0].labels");
        assertThatThrownBy(() -> LocalConfig.parse("local.yaml", ZTUNNEL.replace("version: v1", "version: [1]")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("workloads[0].labels.version");
    }
}
