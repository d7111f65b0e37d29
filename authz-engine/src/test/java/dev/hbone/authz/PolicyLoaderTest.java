package dev.hbone.authz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.authz.model.Action;
import dev.hbone.authz.model.AuthorizationPolicy;
import dev.hbone.authz.model.CompactScope;
import dev.hbone.authz.model.MtlsMode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyLoaderTest {
    private final PolicyLoader loader = new PolicyLoader();

    private static final String GOOD = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: good, namespace: ns}
            spec:
              selector: {matchLabels: {app: web}}
              action: DENY
              rules:
              - from: [{source: {principals: [a]}}]
                to: [{operation: {ports: ["80", 8080]}}]
                when: [{key: source.ip, values: ["10.0.0.0/8"]}]
            """;

    @Test
    void badDocumentIsRefusedWithFileDocumentPathAndReasonOthersLoad() {
        String yaml = GOOD + """
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: bad, namespace: ns}
                spec:
                  rules:
                  - from:
                    - source: {principals: [a]}
                    - source: {ipBlocks: ["10.0.0.300/8"]}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: strict, namespace: istio-system}
                spec: {mtls: {mode: STRICT}}
                """;
        LoadResult r = loader.loadString("policies.yaml", yaml);
        assertThat(r.errors()).hasSize(1);
        assertThat(r.errors().get(0).toString()).isEqualTo(
                "policies.yaml doc#2 spec.rules[0].from[1].source.ipBlocks[0]: \"10.0.0.300/8\" is not a CIDR");
        assertThat(r.policies().authorizationPolicies()).extracting(AuthorizationPolicy::name).containsExactly("good");
        assertThat(r.policies().peerAuthentications()).singleElement()
                .satisfies(p -> assertThat(p.mode()).isEqualTo(MtlsMode.STRICT));
        assertThat(r.documents()).isEqualTo(3);
        AuthorizationPolicy good = r.policies().authorizationPolicies().get(0);
        assertThat(good.action()).isEqualTo(Action.DENY);
        assertThat(good.selector()).isEqualTo(Map.of("app", "web"));
        assertThat(good.rules().get(0).to().get(0).ports()).containsExactly("80", "8080");
    }

    @Test
    void unknownKeysAreRejectedWithTheirPath() {
        LoadResult r = loader.loadString("x.yaml", GOOD.replace("principals: [a]", "principal: [a]"));
        assertThat(r.errors()).singleElement().hasToString(
                "x.yaml doc#1 spec.rules[0].from[0].source.principal: unknown field (expected one of: ipBlocks, namespaces, "
                        + "notIpBlocks, notNamespaces, notPrincipals, notRemoteIpBlocks, notRequestPrincipals, notServiceAccounts, "
                        + "principals, remoteIpBlocks, requestPrincipals, serviceAccounts)");
        r = loader.loadString("x.yaml", GOOD.replace("action: DENY", "action: DENY\n  bogus: 1"));
        assertThat(r.errors()).singleElement().asString().startsWith("x.yaml doc#1 spec.bogus: unknown field (expected one of: ")
                .contains("rules", "selector", "targetRefs");
    }

    @Test
    void syntaxErrorInOneDocumentDoesNotHideTheNext() {
        LoadResult r = loader.loadString("s.yaml", "a: [unclosed\n---\n" + GOOD);
        assertThat(r.errors()).singleElement().satisfies(e -> {
            assertThat(e.documentIndex()).isEqualTo(1);
            assertThat(e.message()).startsWith("invalid YAML");
        });
        assertThat(r.policies().authorizationPolicies()).hasSize(1);
    }

    @Test
    void directivesCommentsAndCrlf() {
        LoadResult r = loader.loadString("d.yaml", "%YAML 1.2\n---\n" + GOOD + "---\n# only a comment\n---\n"
                + GOOD.replace("name: good", "name: crlf").replace("\n", "\r\n"));
        assertThat(r.errors()).isEmpty();
        assertThat(r.policies().authorizationPolicies()).extracting(AuthorizationPolicy::name)
                .containsExactly("good", "crlf");
        assertThat(r.documents()).isEqualTo(2);
    }

    @Test
    void fieldValidationErrors() {
        assertError(GOOD.replace("\"80\"", "\"http\""),
                "spec.rules[0].to[0].operation.ports[0]: \"http\" is not a port (0-65535)");
        assertError(GOOD.replace("action: DENY", "action: REJECT"),
                "spec.action: \"REJECT\" is not ALLOW, DENY, AUDIT or CUSTOM");
        assertError(GOOD.replace("key: source.ip", "key: source.colour"),
                "spec.rules[0].when[0].key: \"source.colour\" is not a supported condition key");
        assertError(GOOD.replace("{source: {principals: [a]}}", "{source: {}}"),
                "spec.rules[0].from[0].source: must not be empty");
        assertError(GOOD.replace("values: [\"10.0.0.0/8\"]", "values: []"),
                "spec.rules[0].when[0]: values or notValues must be set");
        assertError(GOOD.replace("action: DENY", "action: CUSTOM"), "spec.provider.name: a CUSTOM policy needs a provider");
        assertError(GOOD.replace("kind: AuthorizationPolicy", "kind: Sidecar"),
                "kind: \"Sidecar\" is not AuthorizationPolicy, PeerAuthentication or List");
        assertError(GOOD.replace("security.istio.io/v1", "security.istio.io/v2"),
                "apiVersion: \"security.istio.io/v2\" is not security.istio.io/v1 or security.istio.io/v1beta1");
        assertError("""
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: t, namespace: ns}
                spec: {rules: 3}
                """, "spec.rules: must be a list, not a number");
        assertError("""
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: t, namespace: ns}
                spec: {rules: [{to: [{operation: {paths: ["/a/{**}/b"]}}]}]}
                """, "spec.rules[0].to[0].operation.paths[0]: \"/a/{**}/b\": {**} must be the last operator");
        assertError("""
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: p, namespace: ns}
                spec: {mtls: {mode: STRICTEST}}
                """, "spec.mtls.mode: \"STRICTEST\" is not UNSET, DISABLE, PERMISSIVE or STRICT");
        assertError("""
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: p, namespace: ns}
                spec: {portLevelMtls: {8080: {mode: STRICT}}}
                """, "spec.portLevelMtls: portLevelMtls requires a selector");
    }

    private void assertError(String yaml, String expected) {
        LoadResult r = loader.loadString("f.yaml", yaml);
        assertThat(r.errors()).singleElement().hasToString("f.yaml doc#1 " + expected);
        assertThat(r.policies().size()).isZero();
    }

    @Test
    void kubectlListRefusesOnlyTheBadItem() {
        LoadResult r = loader.loadString("list.yaml", """
                apiVersion: v1
                kind: List
                items:
                - apiVersion: security.istio.io/v1
                  kind: AuthorizationPolicy
                  metadata: {name: ok, namespace: ns}
                  spec: {}
                - apiVersion: security.istio.io/v1
                  kind: AuthorizationPolicy
                  metadata: {name: bad, namespace: ns}
                  spec: {rules: [{to: [{operation: {ports: ["99999"]}}]}]}
                """);
        assertThat(r.errors()).singleElement().hasToString(
                "list.yaml doc#1 items[1].spec.rules[0].to[0].operation.ports[0]: \"99999\" is not a port (0-65535)");
        assertThat(r.policies().authorizationPolicies()).extracting(AuthorizationPolicy::name).containsExactly("ok");
    }

    @Test
    void ztunnelLocalConfig() {
        LoadResult r = loader.loadString("local.yaml", """
                workloads:
                - uid: cluster1//v1/Pod/default/local
                  name: local
                policies:
                - name: ok
                  namespace: default
                  scope: WorkloadSelector
                  action: Allow
                  rules: [[[{principals: [{prefix: cluster.local/}], notDestinationPorts: [15000]}]]]
                - name: bad
                  namespace: default
                  scope: Namespace
                  action: Allow
                  rules: [[[{sourceIps: [not-an-ip]}]]]
                - name: worse
                  namespace: default
                  scope: Cluster
                  action: Allow
                """);
        assertThat(r.errors()).extracting(LoadError::toString).containsExactly(
                "local.yaml doc#1 policies[1].rules[0][0][0].sourceIps[0]: \"not-an-ip\" is not a CIDR",
                "local.yaml doc#1 policies[2].scope: \"Cluster\" is not Global, Namespace or WorkloadSelector");
        assertThat(r.policies().compactPolicies()).singleElement()
                .satisfies(p -> assertThat(p.scope()).isEqualTo(CompactScope.WORKLOAD_SELECTOR));
        r = loader.loadString("local.yaml", "policies: []\nextra: 1\n");
        assertThat(r.errors()).singleElement().asString()
                .startsWith("local.yaml doc#1 extra: unknown field (expected one of: ");
    }

    @Test
    void duplicatesAndDryRunAnnotation() {
        LoadResult r = loader.loadString("d.yaml", """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: a, namespace: ns, annotations: {istio.io/dry-run: "true"}}
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: a, namespace: ns}
                """);
        assertThat(r.errors()).singleElement().hasToString(
                "d.yaml doc#2 metadata.name: duplicate AuthorizationPolicy ns/a (the first one is kept)");
        assertThat(r.policies().authorizationPolicies().get(0).dryRun()).isTrue();
    }

    @Test
    void directoryIsLoadedRecursivelyInPathOrder(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("b.yaml"), GOOD.replace("name: good", "name: b"));
        Files.writeString(dir.resolve("sub/a.yml"), GOOD.replace("name: good", "name: a") + "---\nkind: 3\n");
        Files.writeString(dir.resolve("c.yaml"), GOOD.replace("name: good", "name: a"));
        Files.writeString(dir.resolve("notes.txt"), "ignored");
        LoadResult r = loader.load(dir);
        assertThat(r.policies().authorizationPolicies()).extracting(AuthorizationPolicy::name).containsExactly("b", "a");
        assertThat(r.errors()).extracting(LoadError::toString).containsExactly(
                "sub/a.yml doc#1 metadata.name: duplicate AuthorizationPolicy ns/a (the first one is kept)",
                "sub/a.yml doc#2 kind: must be a string, not a number");
    }
}
