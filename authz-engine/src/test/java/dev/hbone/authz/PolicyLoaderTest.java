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
                to: [{operation: {ports: ["80", "8080"]}}]
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
        // Istio's CRD declares ports as strings (the API server refuses a number) and validates them with
        // strconv.ParseUint(port, 10, 32) <= 65535: digits only, leading zeros and 0 allowed.
        assertError(GOOD.replace("\"8080\"", "8080"),
                "spec.rules[0].to[0].operation.ports[1]: 8080 is a number; Istio declares ports as strings (write \"8080\")");
        assertError(GOOD.replace("values: [\"10.0.0.0/8\"]", "values: [\"10.0.0.0/8\"]}, {key: destination.port, values: [9090]"),
                "spec.rules[0].when[1].values[0]: 9090 is a number; Istio declares ports as strings (write \"9090\")");
        for (String bad : new String[] {"+80", "-1", " 80", "", "65536", "0x50", "8_0", "4294967376"}) {
            assertError(GOOD.replace("\"80\"", "\"" + bad + "\""),
                    "spec.rules[0].to[0].operation.ports[0]: \"" + bad + "\" is not a port (0-65535)");
        }
        for (String ok : new String[] {"0", "65535", "000080", "0000000000065535"}) {
            assertThat(loader.loadString("f.yaml", GOOD.replace("\"80\"", "\"" + ok + "\"")).errors()).as(ok).isEmpty();
        }
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

    @Test
    void kubernetesNamesOnlyAndNoNameCanSplitALogLine() {
        // Found by LoaderJazzerFuzzTest: a quoted name with line breaks made Decision.toLogString() multi-line.
        assertError(GOOD.replace("name: good", "name: \"ev\\nil\""), "metadata.name: \"ev\\nil\" is not a Kubernetes name"
                + " (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253"
                + " characters)");
        assertError(GOOD.replace("name: good", "name: Good"), "metadata.name: \"Good\" is not a Kubernetes name"
                + " (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253"
                + " characters)");
        assertError(GOOD.replace("namespace: ns", "namespace: a.b"), "metadata.namespace: \"a.b\" is not a Kubernetes"
                + " namespace (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63"
                + " characters)");
        assertThat(loader.loadString("f.yaml", GOOD.replace("name: good", "name: a.b-1")).errors()).isEmpty();
        // ztunnel policy names are free-form (istiod uses '_'), so the decision escapes them instead
        LoadResult r = loader.loadString("l.yaml",
                "policies:\n- {name: \"x\\ny\", namespace: ns, scope: Namespace, action: Allow}\n");
        assertThat(r.errors()).isEmpty();
        Decision d = r.policies().compile(CompileOptions.ztunnel()).evaluate(Destination.builder("ns").build(),
                ConnectionAttributes.builder().destinationPort(80).build());
        assertThat(d.toLogString()).isEqualTo("deny reason=no-allow-matched candidates=ns/x\\ny");
        assertThat(d.explain()).contains("candidates: ns/x\\ny").hasLineCount(1);
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
    void ztunnelDestinationPortsAreU16Integers() {
        // ztunnel deserializes destinationPorts / notDestinationPorts into Vec<u16> (src/rbac.rs RbacMatch):
        // integers 0-65535 (0 included) are accepted, a quoted port is a string and refused, as serde does.
        String head = "policies:\n- {name: p, namespace: ns, scope: Namespace, action: Deny, rules: [[[{";
        java.util.function.Function<String, java.util.List<String>> errs = m -> loader
                .loadString("l.yaml", head + m + "}]]]}\n").errors().stream().map(LoadError::toString).toList();
        assertThat(errs.apply("destinationPorts: [0, 80, 65535]")).isEmpty();
        assertThat(errs.apply("destinationPorts: [\"80\"]")).containsExactly("l.yaml doc#1 policies[0].rules[0][0][0]"
                + ".destinationPorts[0]: \"80\" is a string; ztunnel's destination ports are integers 0-65535"
                + " (write 80 without quotes)");
        assertThat(errs.apply("notDestinationPorts: [http]")).containsExactly("l.yaml doc#1 policies[0].rules[0][0][0]"
                + ".notDestinationPorts[0]: \"http\" is a string; ztunnel's destination ports are integers 0-65535");
        assertThat(errs.apply("destinationPorts: [65536]")).containsExactly(
                "l.yaml doc#1 policies[0].rules[0][0][0].destinationPorts[0]: 65536 is not a port (0-65535)");
        assertThat(errs.apply("destinationPorts: [-1]")).containsExactly(
                "l.yaml doc#1 policies[0].rules[0][0][0].destinationPorts[0]: -1 is not a port (0-65535)");
        assertThat(errs.apply("destinationPorts: [99999999999999999999]")).containsExactly(
                "l.yaml doc#1 policies[0].rules[0][0][0].destinationPorts[0]: 99999999999999999999 is not a port (0-65535)");
        assertThat(errs.apply("destinationPorts: [8.5]")).containsExactly(
                "l.yaml doc#1 policies[0].rules[0][0][0].destinationPorts[0]: a number is not a port (0-65535)");
        // port 0 is kept and matches no connection
        PolicySet zero = loader.loadString("l.yaml", head + "destinationPorts: [0]}]]]}\n").policies();
        assertThat(zero.compile(CompileOptions.ztunnel()).evaluate(Destination.builder("ns").build(),
                ConnectionAttributes.builder().destinationPort(80).build()).allowed()).isTrue();
    }

    @Test
    void duplicateZtunnelPolicyNamesTheFirstDefinition() {
        LoadResult r = loader.loadString("local.yaml", """
                policies:
                - {name: p, namespace: ns, scope: Namespace, action: Allow}
                - {name: p, namespace: ns, scope: Namespace, action: Deny}
                """);
        assertThat(r.errors()).singleElement().hasToString("local.yaml doc#1 policies[1]: duplicate ztunnel policy"
                + " ns/p: already defined at policies[0]; this definition is refused");
        assertThat(r.policies().compactPolicies()).singleElement()
                .satisfies(p -> assertThat(p.action()).isEqualTo(Action.ALLOW));
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
                "d.yaml doc#2 metadata.name: duplicate AuthorizationPolicy ns/a: already defined at doc#1 metadata.name;"
                        + " this definition is refused");
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
                "sub/a.yml doc#1 metadata.name: duplicate AuthorizationPolicy ns/a: already defined at c.yaml doc#1"
                        + " metadata.name; this definition is refused",
                "sub/a.yml doc#2 kind: must be a string, not a number");
    }
}
