package dev.hbone.ztunnel.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.hbone.ztunnel.state.ApplicationTunnel;
import dev.hbone.ztunnel.state.GatewayAddress;
import dev.hbone.ztunnel.state.HealthStatus;
import dev.hbone.ztunnel.state.InboundProtocol;
import dev.hbone.ztunnel.state.IpFamily;
import dev.hbone.ztunnel.state.LoadBalancer;
import dev.hbone.ztunnel.state.Locality;
import dev.hbone.ztunnel.state.NamespacedHostname;
import dev.hbone.ztunnel.state.NetworkAddress;
import dev.hbone.ztunnel.state.NetworkMode;
import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import dev.hbone.authz.model.Action;
import dev.hbone.authz.model.CompactPolicy;
import dev.hbone.authz.model.CompactScope;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class LocalConfigTest {

    private static final String SOURCE = "local.yaml";

    private static LocalConfig parse(String yaml) throws InvalidConfigException {
        return LocalConfig.parse(SOURCE, yaml);
    }

    private static List<String> errorsOf(String yaml) {
        InvalidConfigException e = catchThrowableOfType(InvalidConfigException.class, () -> parse(yaml));
        assertThat(e).as("expected the configuration to be refused:\n%s", yaml).isNotNull();
        return e.errors().stream().map(ConfigError::toString).toList();
    }

    private static InetAddress ip(String text) throws Exception {
        return InetAddress.getByName(text);
    }

    // ------------------------------------------------------------------ every field

    @Test
    void readsEveryWorkloadField() throws Exception {
        LocalConfig config = parse("""
                workloads:
                - uid: cluster1//v1/Pod/ns1/pod-a
                  name: pod-a
                  namespace: ns1
                  serviceAccount: sa-a
                  trustDomain: example.org
                  workloadIps: ["10.0.0.1", "fd00::1"]
                  protocol: HBONE
                  networkMode: HostNetwork
                  network: net1
                  node: node-1
                  hostname: pod-a.example
                  waypoint: {destination: "ns1/waypoint.ns1.svc.cluster.local", hboneMtlsPort: 15008}
                  networkGateway: {destination: "net1/192.168.1.1", hboneMtlsPort: 15009}
                  applicationTunnel: {protocol: PROXY, port: 15088}
                  services:
                    "ns1/svc-a.ns1.svc.cluster.local":
                      80: 8080
                      443: 8443
                  canonicalName: app-a
                  canonicalRevision: v1
                  workloadName: deploy-a
                  workloadType: deployment
                  clusterId: cluster1
                  locality: {region: eu, zone: eu-1, subzone: rack-3}
                  authorizationPolicies: ["ns1/allow-a"]
                  status: Unhealthy
                  nativeTunnel: true
                  capacity: 7
                """);
        assertThat(config.workloads()).hasSize(1);
        Workload w = config.workloads().get(0);
        assertThat(w.uid()).isEqualTo("cluster1//v1/Pod/ns1/pod-a");
        assertThat(w.name()).isEqualTo("pod-a");
        assertThat(w.namespace()).isEqualTo("ns1");
        assertThat(w.serviceAccount()).isEqualTo("sa-a");
        assertThat(w.trustDomain()).isEqualTo("example.org");
        assertThat(w.workloadIps()).containsExactly(ip("10.0.0.1"), ip("fd00::1"));
        assertThat(w.protocol()).isEqualTo(InboundProtocol.HBONE);
        assertThat(w.networkMode()).isEqualTo(NetworkMode.HOST_NETWORK);
        assertThat(w.network()).isEqualTo("net1");
        assertThat(w.node()).isEqualTo("node-1");
        assertThat(w.hostname()).isEqualTo("pod-a.example");
        assertThat(w.waypoint()).contains(new GatewayAddress(
                NamespacedHostname.of("ns1", "waypoint.ns1.svc.cluster.local"), 15008));
        assertThat(w.networkGateway()).contains(new GatewayAddress(
                NetworkAddress.of("net1", ip("192.168.1.1")), 15009));
        assertThat(w.applicationTunnel()).contains(new ApplicationTunnel(ApplicationTunnel.Protocol.PROXY,
                OptionalInt.of(15088)));
        assertThat(w.services()).containsExactly(Map.entry(
                NamespacedHostname.of("ns1", "svc-a.ns1.svc.cluster.local"), Map.of(80, 8080, 443, 8443)));
        assertThat(w.canonicalName()).isEqualTo("app-a");
        assertThat(w.canonicalRevision()).isEqualTo("v1");
        assertThat(w.workloadName()).isEqualTo("deploy-a");
        assertThat(w.workloadType()).isEqualTo("deployment");
        assertThat(w.clusterId()).isEqualTo("cluster1");
        assertThat(w.locality()).isEqualTo(new Locality("eu", "eu-1", "rack-3"));
        assertThat(w.authorizationPolicies()).containsExactly("ns1/allow-a");
        assertThat(w.status()).isEqualTo(HealthStatus.UNHEALTHY);
        assertThat(w.nativeTunnel()).isTrue();
        assertThat(w.capacity()).isEqualTo(7);
        assertThat(w.identity().toSpiffeUri()).isEqualTo("spiffe://example.org/ns/ns1/sa/sa-a");
    }

    @Test
    void appliesZtunnelDefaults() throws Exception {
        Workload w = parse("""
                workloads:
                - namespace: ns1
                  workloadIps: []
                """).workloads().get(0);
        assertThat(w.uid()).isEmpty();
        assertThat(w.name()).isEmpty();
        assertThat(w.serviceAccount()).isEqualTo("default");
        assertThat(w.trustDomain()).isEqualTo("cluster.local");
        assertThat(w.clusterId()).isEqualTo("Kubernetes");
        assertThat(w.workloadIps()).isEmpty();
        assertThat(w.protocol()).isEqualTo(InboundProtocol.TCP);
        assertThat(w.networkMode()).isEqualTo(NetworkMode.STANDARD);
        assertThat(w.network()).isEmpty();
        assertThat(w.node()).isEmpty();
        assertThat(w.hostname()).isEmpty();
        assertThat(w.waypoint()).isEmpty();
        assertThat(w.networkGateway()).isEmpty();
        assertThat(w.applicationTunnel()).isEmpty();
        assertThat(w.services()).isEmpty();
        assertThat(w.locality()).isEqualTo(Locality.UNKNOWN);
        assertThat(w.authorizationPolicies()).isEmpty();
        assertThat(w.status()).isEqualTo(HealthStatus.HEALTHY);
        assertThat(w.nativeTunnel()).isFalse();
        assertThat(w.capacity()).isEqualTo(1);
        assertThat(w.identity().toSpiffeUri()).isEqualTo("spiffe://cluster.local/ns/ns1/sa/default");
    }

    @Test
    void emptyIdentityPartsTakeTheXdsDefaults() throws Exception {
        Workload w = parse("""
                workloads:
                - namespace: ns1
                  workloadIps: []
                  serviceAccount: ""
                  trustDomain: ""
                  clusterId: ""
                """).workloads().get(0);
        assertThat(w.identity().toSpiffeUri()).isEqualTo("spiffe://cluster.local/ns/ns1/sa/default");
        assertThat(w.clusterId()).isEqualTo("Kubernetes");
    }

    @Test
    void applicationTunnelWithoutPortAndNoneProtocol() throws Exception {
        Workload w = parse("""
                workloads:
                - namespace: ns1
                  workloadIps: []
                  applicationTunnel: {protocol: NONE}
                """).workloads().get(0);
        assertThat(w.applicationTunnel()).contains(new ApplicationTunnel(ApplicationTunnel.Protocol.NONE,
                OptionalInt.empty()));
    }

    @Test
    void readsEveryServiceField() throws Exception {
        Service s = parse("""
                services:
                - name: svc
                  namespace: ns1
                  hostname: svc.ns1.svc.cluster.local
                  vips: ["/10.96.0.1", "net2/fd00::10"]
                  ports: {80: 8080, 443: 0}
                  subjectAltNames: ["spiffe://cluster.local/ns/ns1/sa/svc"]
                  waypoint: {destination: "/10.0.0.99", hboneMtlsPort: 15008}
                  loadBalancer:
                    routingPreferences: [Network, Region, Zone, Subzone, Node, Cluster]
                    mode: Failover
                    healthPolicy: AllowAll
                  ipFamilies: IPv6
                """).services().get(0);
        assertThat(s.name()).isEqualTo("svc");
        assertThat(s.namespace()).isEqualTo("ns1");
        assertThat(s.hostname()).isEqualTo("svc.ns1.svc.cluster.local");
        assertThat(s.vips()).containsExactly(NetworkAddress.of("", ip("10.96.0.1")),
                NetworkAddress.of("net2", ip("fd00::10")));
        assertThat(s.ports()).containsExactly(Map.entry(80, 8080), Map.entry(443, 0));
        assertThat(s.subjectAltNames()).containsExactly("spiffe://cluster.local/ns/ns1/sa/svc");
        assertThat(s.waypoint()).contains(new GatewayAddress(NetworkAddress.of("", ip("10.0.0.99")), 15008));
        assertThat(s.loadBalancer()).contains(new LoadBalancer(List.of(LoadBalancer.Scope.NETWORK,
                LoadBalancer.Scope.REGION, LoadBalancer.Scope.ZONE, LoadBalancer.Scope.SUBZONE,
                LoadBalancer.Scope.NODE, LoadBalancer.Scope.CLUSTER), LoadBalancer.Mode.FAILOVER,
                LoadBalancer.HealthPolicy.ALLOW_ALL));
        assertThat(s.ipFamilies()).contains(IpFamily.IPV6);
    }

    @Test
    void serviceDefaults() throws Exception {
        Service s = parse("""
                services:
                - {name: svc, namespace: ns1, hostname: svc.example, vips: [], ports: {}}
                """).services().get(0);
        assertThat(s.subjectAltNames()).isEmpty();
        assertThat(s.waypoint()).isEmpty();
        assertThat(s.loadBalancer()).isEmpty();
        assertThat(s.ipFamilies()).isEmpty();
        LoadBalancer lb = parse("""
                services:
                - {name: svc, namespace: ns1, hostname: svc.example, vips: [], ports: {}, loadBalancer: {}}
                """).services().get(0).loadBalancer().orElseThrow();
        assertThat(lb).isEqualTo(new LoadBalancer(List.of(), LoadBalancer.Mode.STANDARD,
                LoadBalancer.HealthPolicy.ONLY_HEALTHY));
    }

    @Test
    void readsPoliciesThroughTheAuthorizationEnginesLoader() throws Exception {
        LocalConfig config = parse("""
                policies:
                - name: allow-a
                  namespace: ns1
                  scope: WorkloadSelector
                  action: Allow
                  dryRun: true
                  rules:
                  - - - namespaces: [{exact: ns1}, {prefix: ns}]
                        notNamespaces: [{suffix: "-test"}]
                        principals: [{presence: {}}]
                        notPrincipals: [{exact: "cluster.local/ns/x/sa/y"}]
                        serviceAccounts: [{namespace: ns1, serviceAccount: sa}]
                        notServiceAccounts: [{namespace: ns2, serviceAccount: sa}]
                        sourceIps: ["10.0.0.0/8", "10.1.2.3/32"]
                        notSourceIps: ["fd00::/8"]
                        destinationIps: ["192.168.0.1/32"]
                        notDestinationIps: ["0.0.0.0/0"]
                        destinationPorts: [8080]
                        notDestinationPorts: [9090]
                    - []
                  - []
                - {name: deny-all, namespace: istio-system, scope: Global, action: Deny}
                """);
        assertThat(config.policies()).hasSize(2);
        CompactPolicy p = config.policies().get(0);
        assertThat(p.key()).isEqualTo("ns1/allow-a");
        assertThat(p.scope()).isEqualTo(CompactScope.WORKLOAD_SELECTOR);
        assertThat(p.action()).isEqualTo(Action.ALLOW);
        assertThat(p.dryRun()).isTrue();
        assertThat(p.rules()).hasSize(2);
        assertThat(p.rules().get(0)).hasSize(2);
        assertThat(p.rules().get(0).get(0).get(0).destinationPorts()).containsExactly(8080);
        CompactPolicy deny = config.policies().get(1);
        assertThat(deny.dryRun()).isFalse();
        assertThat(deny.rules()).isEmpty();
        assertThat(config.policySet().compactPolicies()).isEqualTo(config.policies());
    }

    // ------------------------------------------------------------------ whole documents

    @Test
    void emptyDocumentIsAnEmptyConfiguration() throws Exception {
        assertThat(parse("")).isEqualTo(LocalConfig.EMPTY);
        assertThat(parse("# nothing yet\n")).isEqualTo(LocalConfig.EMPTY);
        assertThat(parse("{}")).isEqualTo(LocalConfig.EMPTY);
        assertThat(parse("workloads: []\nservices:\npolicies: []")).isEqualTo(LocalConfig.EMPTY);
    }

    @Test
    void acceptsZtunnelsOwnLocalhostExample() throws Exception {
        // The shape of istio/ztunnel examples/localhost.yaml (workloads with services maps, a service with an
        // empty-network VIP and one in another network, a Namespace-scoped allow policy).
        LocalConfig config = parse("""
                workloads:
                - uid: cluster1//v1/Pod/default/local
                  name: local
                  namespace: default
                  serviceAccount: default
                  workloadIps: ["127.0.0.1"]
                  protocol: HBONE
                  node: local
                  network: ""
                  services:
                    "default/example.com":
                      80: 8080
                    "default/example2.com":
                      80: 8080
                - uid: cluster1//v1/Pod/default/local-tcp
                  name: local-tcp
                  namespace: default
                  serviceAccount: default
                  workloadIps: ["127.0.0.2"]
                  protocol: TCP
                  node: local
                  network: ""
                  services:
                    "default/example.com":
                      80: 8080
                    "default/example2.com":
                      80: 8080
                policies:
                  - action: Allow
                    rules:
                    - - - notDestinationPorts:
                          - 9999
                    name: deny-9999
                    namespace: default
                    scope: Namespace
                services:
                - name: local
                  namespace: default
                  hostname: example.com
                  vips:
                    - /127.10.0.1
                  ports:
                    80: 8080
                  subjectAltNames:
                   - spiffe://cluster.local/ns/default/sa/local
                - name: remote
                  namespace: default
                  hostname: example2.com
                  vips:
                    - remote/127.10.0.2
                  ports:
                    80: 8080
                """);
        assertThat(config.workloads()).extracting(Workload::name).containsExactly("local", "local-tcp");
        assertThat(config.services()).extracting(Service::hostname).containsExactly("example.com", "example2.com");
        assertThat(config.services().get(1).vips()).containsExactly(NetworkAddress.parse("remote/127.10.0.2"));
        assertThat(config.policies()).extracting(CompactPolicy::key).containsExactly("default/deny-9999");
    }

    @Test
    void acceptsTheModulesExampleFile() throws Exception {
        byte[] bytes;
        try (InputStream in = LocalConfig.class.getResourceAsStream("/examples/localhost.yaml")) {
            assertThat(in).isNotNull();
            bytes = in.readAllBytes();
        }
        LocalConfig config = LocalConfig.parse("localhost.yaml", bytes);
        assertThat(config.workloads()).extracting(w -> w.workloadIps().get(0).getHostAddress(), Workload::protocol)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("127.0.0.1", InboundProtocol.HBONE),
                        org.assertj.core.groups.Tuple.tuple("127.0.0.2", InboundProtocol.TCP));
        assertThat(config.services()).hasSize(1);
        assertThat(config.policies()).extracting(CompactPolicy::action).containsExactly(Action.DENY, Action.ALLOW);
        assertThat(config.toProxyState().endpoints(NamespacedHostname.of("default", "example.com"))).hasSize(2);
    }

    @Test
    void loadsFromAFileAndNamesTheFileInErrors(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("mesh.yaml");
        Files.writeString(file, "workloads:\n- namespace: a\n  workloadIps: [\"1.2.3.4\"]\n");
        assertThat(LocalConfig.load(file).workloads()).hasSize(1);
        Files.writeString(file, "workloads:\n- namespace: a\n  workloadIps: [\"1.2.3\"]\n");
        assertThatThrownBy(() -> LocalConfig.load(file)).isInstanceOf(InvalidConfigException.class)
                .hasMessage("mesh.yaml: workloads[0].workloadIps[0]: \"1.2.3\" is not an IP address");
        assertThatThrownBy(() -> LocalConfig.load(dir.resolve("missing.yaml")))
                .isInstanceOf(InvalidConfigException.class).hasMessageStartingWith("missing.yaml: cannot read");
    }

    @Test
    void refusesNonUtf8() {
        byte[] latin1 = "workloads: []\n# caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1);
        assertThatThrownBy(() -> LocalConfig.parse("x.yaml", latin1)).isInstanceOf(InvalidConfigException.class)
                .hasMessage("x.yaml: the file is not UTF-8 text");
    }

    @Test
    void listsEveryErrorOfAFileAtOnce() {
        List<String> errors = errorsOf("""
                workloads:
                - uid: a
                  namespace: ns
                  workloadIps: ["10.0.0.256", "10.0.0.1"]
                  protocol: UDP
                - uid: b
                  workloadIps: ["10.0.0.2"]
                  colour: blue
                services:
                - {name: s, namespace: ns, hostname: h, vips: ["10.0.0.9"], ports: {80: 70000}}
                """);
        assertThat(errors).containsExactly(
                "local.yaml: workloads[0].workloadIps[0]: \"10.0.0.256\" is not an IP address",
                "local.yaml: workloads[0].protocol: \"UDP\" is not one of TCP, HBONE",
                "local.yaml: workloads[1].colour: unknown key \"colour\" (expected one of: uid, name, namespace, "
                        + "serviceAccount, trustDomain, workloadIps, protocol, networkMode, network, node, hostname, "
                        + "waypoint, networkGateway, applicationTunnel, services, canonicalName, canonicalRevision, "
                        + "workloadName, workloadType, clusterId, locality, authorizationPolicies, status, "
                        + "nativeTunnel, capacity, labels)",
                "local.yaml: workloads[1]: required key \"namespace\" is missing",
                "local.yaml: services[0].vips[0]: \"10.0.0.9\" is not \"network/ip\" (use \"/10.0.0.9\" for the "
                        + "default network)",
                "local.yaml: services[0].ports[80]: 70000 is not a target port (0-65535)");
    }

    @Test
    void exceptionMessageListsAllErrors() {
        InvalidConfigException e = catchThrowableOfType(InvalidConfigException.class, () -> parse("""
                workloads:
                - {namespace: a, workloadIps: ["x"]}
                - {namespace: b, workloadIps: ["y"]}
                """));
        assertThat(e.getMessage()).isEqualTo("""
                2 errors in local.yaml:
                  local.yaml: workloads[0].workloadIps[0]: "x" is not an IP address
                  local.yaml: workloads[1].workloadIps[0]: "y" is not an IP address""");
    }

    // ------------------------------------------------------------------ each bad value

    static Stream<Arguments> badWorkloads() {
        return Stream.of(
                Arguments.of("workloadIps: [\"10.0.0.256\"]", "workloads[0].workloadIps[0]: \"10.0.0.256\" is not an IP address"),
                Arguments.of("workloadIps: [\"010.0.0.1\"]", "workloads[0].workloadIps[0]: \"010.0.0.1\" is not an IP address"),
                Arguments.of("workloadIps: [\"example.com\"]", "workloads[0].workloadIps[0]: \"example.com\" is not an IP address"),
                Arguments.of("workloadIps: [\"fe80::1%eth0\"]", "workloads[0].workloadIps[0]: \"fe80::1%eth0\" is not an IP address"),
                Arguments.of("workloadIps: [\"1:2:3\"]", "workloads[0].workloadIps[0]: \"1:2:3\" is not an IP address"),
                Arguments.of("workloadIps: \"10.0.0.1\"", "workloads[0].workloadIps: expected a list, got the string \"10.0.0.1\""),
                Arguments.of("workloadIps: [10]", "workloads[0].workloadIps[0]: expected a string, got the number 10 (quote it: \"10\")"),
                Arguments.of("protocol: UDP", "workloads[0].protocol: \"UDP\" is not one of TCP, HBONE"),
                Arguments.of("protocol: hbone", "workloads[0].protocol: \"hbone\" is not one of TCP, HBONE"),
                Arguments.of("networkMode: Bridge", "workloads[0].networkMode: \"Bridge\" is not one of Standard, HostNetwork"),
                Arguments.of("status: Sick", "workloads[0].status: \"Sick\" is not one of Healthy, Unhealthy"),
                Arguments.of("name: 123", "workloads[0].name: expected a string, got the number 123 (quote it: \"123\")"),
                Arguments.of("node: [a]", "workloads[0].node: expected a string, got a list"),
                Arguments.of("nativeTunnel: \"yes\"", "workloads[0].nativeTunnel: expected true or false, got the string \"yes\""),
                Arguments.of("capacity: -1", "workloads[0].capacity: -1 is out of range (0-4294967295)"),
                Arguments.of("capacity: 4294967296", "workloads[0].capacity: 4294967296 is out of range (0-4294967295)"),
                Arguments.of("capacity: 1.5", "workloads[0].capacity: expected a whole number, got the number 1.5"),
                Arguments.of("waypoint: {destination: nope, hboneMtlsPort: 15008}",
                        "workloads[0].waypoint.destination: \"nope\" is neither \"network/ip\" nor \"namespace/hostname\""),
                Arguments.of("waypoint: {destination: \"/10.0.0.9\"}",
                        "workloads[0].waypoint: required key \"hboneMtlsPort\" is missing (15008 for ztunnel and waypoints)"),
                Arguments.of("waypoint: {hboneMtlsPort: 15008}", "workloads[0].waypoint: required key \"destination\" is missing"),
                Arguments.of("waypoint: {destination: \"/10.0.0.9\", hboneMtlsPort: 70000}",
                        "workloads[0].waypoint.hboneMtlsPort: 70000 is not a port (1-65535)"),
                Arguments.of("waypoint: {destination: \"/10.0.0.9\", hboneMtlsPort: 15008, port: 1}",
                        "workloads[0].waypoint.port: unknown key \"port\" (expected one of: destination, hboneMtlsPort)"),
                Arguments.of("networkGateway: \"/10.0.0.9\"", "workloads[0].networkGateway: expected a mapping, got the string \"/10.0.0.9\""),
                Arguments.of("networkGateway: {destination: \"ns/\", hboneMtlsPort: 15008}",
                        "workloads[0].networkGateway.destination: \"ns/\" is neither \"network/ip\" nor \"namespace/hostname\""),
                Arguments.of("applicationTunnel: {protocol: HTTP}",
                        "workloads[0].applicationTunnel.protocol: \"HTTP\" is not one of NONE, PROXY"),
                Arguments.of("applicationTunnel: {port: 15088}",
                        "workloads[0].applicationTunnel: required key \"protocol\" is missing (NONE or PROXY)"),
                Arguments.of("applicationTunnel: {protocol: PROXY, port: 0}",
                        "workloads[0].applicationTunnel.port: 0 is not a port (1-65535)"),
                Arguments.of("services: {noslash: {80: 8080}}",
                        "workloads[0].services[\"noslash\"]: \"noslash\" is not \"namespace/hostname\""),
                Arguments.of("services: {\"a/b/c\": {80: 8080}}",
                        "workloads[0].services[\"a/b/c\"]: \"a/b/c\" is not \"namespace/hostname\""),
                Arguments.of("services: {\"ns/h\": {80: 0}}", "workloads[0].services[\"ns/h\"][80]: 0 is not a target port (1-65535)"),
                Arguments.of("services: {\"ns/h\": {0: 80}}", "workloads[0].services[\"ns/h\"][0]: 0 is not a service port (1-65535)"),
                Arguments.of("services: {\"ns/h\": {http: 80}}",
                        "workloads[0].services[\"ns/h\"][\"http\"]: expected a service port (1-65535), got the string \"http\""),
                Arguments.of("services: [\"ns/h\"]",
                        "workloads[0].services: expected a mapping of \"namespace/hostname\" to port mappings, got a list"),
                Arguments.of("locality: {region: r, planet: p}",
                        "workloads[0].locality.planet: unknown key \"planet\" (expected one of: region, zone, subzone)"),
                Arguments.of("authorizationPolicies: [1]",
                        "workloads[0].authorizationPolicies[0]: expected a string, got the number 1 (quote it: \"1\")"),
                Arguments.of("workloadIp: \"10.0.0.1\"", "workloads[0].workloadIp: unknown key \"workloadIp\"; did you mean \"workloadIps\"?"),
                Arguments.of("service_account: sa", "workloads[0].service_account: unknown key \"service_account\"; did you mean \"serviceAccount\"?"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badWorkloads")
    void refusesEachBadWorkloadValue(String field, String expected) {
        String yaml = "workloads:\n- uid: u\n  namespace: ns\n"
                + (field.startsWith("workloadIps:") ? "" : "  workloadIps: [\"10.0.0.1\"]\n")
                + "  " + field + "\n";
        assertThat(errorsOf(yaml)).containsExactly("local.yaml: " + expected);
    }

    @Test
    void refusesWorkloadsWithoutRequiredKeys() {
        assertThat(errorsOf("workloads:\n- uid: u\n")).containsExactly(
                "local.yaml: workloads[0]: required key \"namespace\" is missing",
                "local.yaml: workloads[0]: required key \"workloadIps\" is missing (use [] for a workload without addresses)");
        assertThat(errorsOf("workloads:\n- just-a-string\n")).containsExactly(
                "local.yaml: workloads[0]: expected a mapping, got the string \"just-a-string\"");
    }

    @Test
    void refusesIdentitiesThatAreNotSpiffeIds() {
        assertThat(errorsOf("workloads:\n- {namespace: ns, workloadIps: [], trustDomain: Example.ORG}\n"))
                .singleElement().asString()
                .startsWith("local.yaml: workloads[0]: identity \"spiffe://Example.ORG/ns/ns/sa/default\" is not a valid SPIFFE ID (")
                .endsWith("); check trustDomain, namespace and serviceAccount");
        assertThat(errorsOf("workloads:\n- {namespace: ns, workloadIps: [], serviceAccount: \"a/b\"}\n"))
                .singleElement().asString().startsWith("local.yaml: workloads[0]: identity ");
    }

    @Test
    void refusesDuplicateUids() {
        assertThat(errorsOf("""
                workloads:
                - {uid: a, namespace: ns, workloadIps: []}
                - {uid: b, namespace: ns, workloadIps: []}
                - {uid: a, namespace: ns, workloadIps: []}
                """)).containsExactly("local.yaml: workloads[2].uid: duplicate uid \"a\" (also workloads[0]); "
                        + "each workload needs its own uid");
    }

    static Stream<Arguments> badServices() {
        return Stream.of(
                Arguments.of("vips: [\"10.0.0.9\"]", "services[0].vips[0]: \"10.0.0.9\" is not \"network/ip\" (use \"/10.0.0.9\" for the default network)"),
                Arguments.of("vips: [\"/10.0.0.300\"]", "services[0].vips[0]: \"10.0.0.300\" is not an IP address"),
                Arguments.of("ports: {80: 70000}", "services[0].ports[80]: 70000 is not a target port (0-65535)"),
                Arguments.of("ports: {-1: 80}", "services[0].ports[-1]: -1 is not a service port (1-65535)"),
                Arguments.of("ports: [80]", "services[0].ports: expected a mapping of service port to target port, got a list"),
                Arguments.of("subjectAltNames: [\"spiffe://td/foo\"]",
                        "services[0].subjectAltNames[0]: \"spiffe://td/foo\" is not a SPIFFE identity spiffe://<trust domain>/ns/<namespace>/sa/<service account>"),
                Arguments.of("loadBalancer: {mode: Random}",
                        "services[0].loadBalancer.mode: \"Random\" is not one of Standard, Strict, Failover, Passthrough"),
                Arguments.of("loadBalancer: {healthPolicy: Some}",
                        "services[0].loadBalancer.healthPolicy: \"Some\" is not one of OnlyHealthy, AllowAll"),
                Arguments.of("loadBalancer: {routingPreferences: [Planet]}",
                        "services[0].loadBalancer.routingPreferences[0]: \"Planet\" is not one of Region, Zone, Subzone, Node, Cluster, Network"),
                Arguments.of("ipFamilies: IPv5", "services[0].ipFamilies: \"IPv5\" is not one of Dual, IPv4, IPv6"),
                Arguments.of("hostname: \"\"", "services[0].hostname: must not be empty"),
                Arguments.of("endpoints: {}",
                        "services[0].endpoints: unknown key \"endpoints\" (expected one of: name, namespace, hostname, vips, ports, "
                                + "subjectAltNames, waypoint, loadBalancer, ipFamilies)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badServices")
    void refusesEachBadServiceValue(String field, String expected) {
        String key = field.substring(0, field.indexOf(':'));
        StringBuilder yaml = new StringBuilder("services:\n- name: s\n  namespace: ns\n");
        for (String[] base : new String[][] {{"hostname", "h.example"}, {"vips", "[\"/10.0.0.1\"]"}, {"ports", "{80: 8080}"}}) {
            if (!base[0].equals(key)) {
                yaml.append("  ").append(base[0]).append(": ").append(base[1]).append('\n');
            }
        }
        yaml.append("  ").append(field).append('\n');
        assertThat(errorsOf(yaml.toString())).containsExactly("local.yaml: " + expected);
    }

    @Test
    void refusesServicesWithoutRequiredKeys() {
        assertThat(errorsOf("services:\n- {name: s}\n")).containsExactly(
                "local.yaml: services[0]: required key \"namespace\" is missing",
                "local.yaml: services[0]: required key \"hostname\" is missing",
                "local.yaml: services[0]: required key \"vips\" is missing (use [] for a service without VIPs)",
                "local.yaml: services[0]: required key \"ports\" is missing (a mapping of service port to target port)");
    }

    @Test
    void refusesDuplicateServicesAndVips() {
        assertThat(errorsOf("""
                services:
                - {name: a, namespace: ns, hostname: a.example, vips: ["/10.96.0.1"], ports: {}}
                - {name: a2, namespace: ns, hostname: a.example, vips: [], ports: {}}
                - {name: b, namespace: ns, hostname: b.example, vips: ["/10.96.0.1"], ports: {}}
                """)).containsExactly(
                "local.yaml: services[1].hostname: duplicate service \"ns/a.example\" (also services[0])",
                "local.yaml: services[2].vips[0]: VIP \"/10.96.0.1\" is also a VIP of services[0]");
    }

    @Test
    void sameVipInTwoNetworksIsFine() throws Exception {
        assertThat(parse("""
                services:
                - {name: a, namespace: ns, hostname: a.example, vips: ["n1/10.96.0.1"], ports: {}}
                - {name: b, namespace: ns, hostname: b.example, vips: ["n2/10.96.0.1"], ports: {}}
                """).services()).hasSize(2);
    }

    // Policies are read by authz-engine's PolicyLoader; these are its messages, at this file's paths.
    static Stream<Arguments> badPolicies() {
        return Stream.of(
                Arguments.of("scope: Cluster", "policies[0].scope: \"Cluster\" is not Global, Namespace or WorkloadSelector"),
                Arguments.of("action: Audit", "policies[0].action: \"Audit\" is not Allow or Deny"),
                Arguments.of("dryRun: maybe", "policies[0].dryRun: must be true or false"),
                Arguments.of("rules: [{namespaces: []}]", "policies[0].rules[0]: must be a list, not a mapping"),
                Arguments.of("rules: [[{namespaces: []}]]", "policies[0].rules[0][0]: must be a list, not a mapping"),
                Arguments.of("rules: [[[{hosts: [a]}]]]", "policies[0].rules[0][0][0].hosts: unknown field (expected one of: destinationIps, destinationPorts, "
                        + "namespaces, notDestinationIps, notDestinationPorts, notNamespaces, notPrincipals, "
                        + "notServiceAccounts, notSourceIps, principals, serviceAccounts, sourceIps)"),
                Arguments.of("rules: [[[{namespaces: [{regex: a}]}]]]",
                        "policies[0].rules[0][0][0].namespaces[0].regex: unknown field (expected one of: exact, prefix, "
                        + "presence, suffix)"),
                Arguments.of("rules: [[[{namespaces: [ns1]}]]]",
                        "policies[0].rules[0][0][0].namespaces[0]: must be a mapping, not a string"),
                Arguments.of("rules: [[[{principals: [{presence: yes}]}]]]",
                        "policies[0].rules[0][0][0].principals[0].presence: must be {}"),
                Arguments.of("rules: [[[{serviceAccounts: [{namespace: ns}]}]]]",
                        "policies[0].rules[0][0][0].serviceAccounts[0].serviceAccount: is required"),
                Arguments.of("rules: [[[{sourceIps: [\"10.0.0.0/33\"]}]]]",
                        "policies[0].rules[0][0][0].sourceIps[0]: \"10.0.0.0/33\" is not a CIDR"),
                Arguments.of("rules: [[[{destinationIps: [\"10.0.0.0/\"]}]]]",
                        "policies[0].rules[0][0][0].destinationIps[0]: \"10.0.0.0/\" is not a CIDR"),
                Arguments.of("selector: {}", "policies[0].selector: unknown field (expected one of: action, dryRun, name, namespace, rules, "
                        + "scope)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badPolicies")
    void refusesEachBadPolicyValue(String field, String expected) {
        String key = field.substring(0, field.indexOf(':'));
        StringBuilder yaml = new StringBuilder("policies:\n- name: p\n  namespace: ns\n");
        if (!key.equals("scope")) {
            yaml.append("  scope: Namespace\n");
        }
        if (!key.equals("action")) {
            yaml.append("  action: Allow\n");
        }
        yaml.append("  ").append(field).append('\n');
        assertThat(errorsOf(yaml.toString())).containsExactly("local.yaml: " + expected);
    }

    @Test
    void refusesDuplicatePolicies() {
        assertThat(errorsOf("""
                policies:
                - {name: p, namespace: ns, scope: Namespace, action: Allow}
                - {name: p, namespace: ns, scope: Namespace, action: Deny}
                """)).containsExactly("local.yaml: policies[1]: duplicate ztunnel policy ns/p: already defined at policies[0];"
                        + " this definition is refused");
    }

    static Stream<Arguments> badDocuments() {
        return Stream.of(
                Arguments.of("unknown top-level key", "workloads: []\nwaypoints: []\n",
                        "local.yaml: waypoints: unknown key \"waypoints\" (expected one of: workloads, services, policies)"),
                Arguments.of("old list format", "- name: local\n  namespace: default\n",
                        "local.yaml: expected a mapping with keys workloads, services, policies; got a list (a bare list "
                                + "of workloads is the format of old ztunnel examples: put it under \"workloads:\")"),
                Arguments.of("scalar document", "hello\n", "local.yaml: expected a mapping, got the string \"hello\""),
                Arguments.of("workloads not a list", "workloads: {}\n", "local.yaml: workloads: expected a list, got a mapping"),
                Arguments.of("syntax error", "workloads: [\n",
                        "local.yaml: YAML syntax error at line 2, column 1: while parsing a flow node; "
                                + "expected the node content, but found '<stream end>'"),
                Arguments.of("duplicate key", "workloads: []\nworkloads: []\n",
                        "local.yaml: YAML syntax error at line 2, column 1: while constructing a mapping; found duplicate key workloads"),
                Arguments.of("two documents", "workloads: []\n---\nservices: []\n",
                        "local.yaml: the file holds 2 ztunnel configuration documents (without apiVersion and kind); "
                                + "expected one, the other documents being Istio AuthorizationPolicy or "
                                + "PeerAuthentication resources"),
                Arguments.of("non-string key", "1: []\n", "local.yaml: key 1 must be a string"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badDocuments")
    void refusesBadDocuments(String name, String yaml, String expected) {
        assertThat(errorsOf(yaml)).containsExactly(expected);
    }

    /** A tag snakeyaml-engine refuses with an IllegalArgumentException (found by LocalConfigFuzzTest). */
    @Test
    void yamlTheLibraryRefusesUncheckedIsAConfigurationError() {
        assertThat(errorsOf("!%a")).singleElement().asString().contains("YAML error");
    }

    @Test
    void deeplyNestedYamlIsAConfigurationError() {
        assertThat(errorsOf("[".repeat(200_000))).singleElement().asString().contains("YAML");
    }

    @Test
    void toProxyStateIndexesTheConfiguration() throws Exception {
        LocalConfig config = parse("""
                workloads:
                - {uid: a, namespace: ns, workloadIps: ["10.0.0.1"], services: {"ns/s.example": {80: 8080}}}
                services:
                - {name: s, namespace: ns, hostname: s.example, vips: ["/10.96.0.1"], ports: {80: 8080}}
                """);
        var state = config.toProxyState();
        assertThat(state.workloadByAddress("", ip("10.0.0.1"))).map(Workload::uid).contains("a");
        assertThat(state.serviceByVip(NetworkAddress.parse("/10.96.0.1"))).map(Service::name).contains("s");
        assertThat(state.endpoints(NamespacedHostname.of("ns", "s.example"))).hasSize(1);
    }
}
