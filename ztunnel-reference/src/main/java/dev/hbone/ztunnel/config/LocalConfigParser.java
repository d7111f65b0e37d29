package dev.hbone.ztunnel.config;

import dev.hbone.authz.LoadError;
import dev.hbone.authz.LoadResult;
import dev.hbone.authz.PolicyLoader;
import dev.hbone.authz.PolicySet;
import dev.hbone.authz.model.CompactPolicy;
import dev.hbone.spiffe.InvalidSpiffeIdException;
import dev.hbone.ztunnel.internal.IpAddresses;
import dev.hbone.ztunnel.state.ApplicationTunnel;
import dev.hbone.ztunnel.state.GatewayAddress;
import dev.hbone.ztunnel.state.GatewayDestination;
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
import dev.hbone.ztunnel.state.WorkloadIdentity;
import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;

/**
 * Reads one local configuration document, collecting every error (with its path) instead of stopping
 * at the first, so an operator fixes a file in one pass. Not thread-safe; one instance per parse.
 */
final class LocalConfigParser {

    private static final List<String> TOP_LEVEL_KEYS = List.of("workloads", "services", "policies");

    private static final List<String> WORKLOAD_KEYS = List.of(
            "uid", "name", "namespace", "serviceAccount", "trustDomain", "workloadIps", "protocol",
            "networkMode", "network", "node", "hostname", "waypoint", "networkGateway", "applicationTunnel",
            "services", "canonicalName", "canonicalRevision", "workloadName", "workloadType", "clusterId",
            "locality", "authorizationPolicies", "status", "nativeTunnel", "capacity", "labels");

    private static final List<String> SERVICE_KEYS = List.of(
            "name", "namespace", "hostname", "vips", "ports", "subjectAltNames", "waypoint", "loadBalancer",
            "ipFamilies");

    private static final List<String> GATEWAY_KEYS = List.of("destination", "hboneMtlsPort");
    private static final List<String> TUNNEL_KEYS = List.of("protocol", "port");
    private static final List<String> LOCALITY_KEYS = List.of("region", "zone", "subzone");
    private static final List<String> LOAD_BALANCER_KEYS = List.of("routingPreferences", "mode", "healthPolicy");

    private final String source;
    private final List<ConfigError> errors = new ArrayList<>();
    /** 1-based index of the ztunnel document among the file's documents (as authz-engine counts), 0 if none. */
    private int localDocument;

    LocalConfigParser(String source) {
        this.source = source;
    }

    LocalConfig parse(String text) throws InvalidConfigException {
        Object document = load(text);
        LocalConfig config = errors.isEmpty() ? readDocument(document, text) : null;
        if (!errors.isEmpty()) {
            throw new InvalidConfigException(errors);
        }
        return config;
    }

    // ---------------------------------------------------------------- YAML

    private Object load(String text) {
        LoadSettings settings = LoadSettings.builder()
                .setLabel(source)
                .setAllowDuplicateKeys(false)
                .setMaxAliasesForCollections(50)
                .build();
        try {
            // One ztunnel document (workloads, services, policies); any others are Istio resources
            // (AuthorizationPolicy, PeerAuthentication: apiVersion and kind), read by authz-engine's loader.
            List<Object> documents = new ArrayList<>();
            int index = 0;
            for (Object document : new Load(settings).loadAllFromString(text)) {
                if (document == null) {
                    continue;
                }
                index++;
                if (document instanceof Map<?, ?> m && (m.containsKey("kind") || m.containsKey("apiVersion"))) {
                    continue;
                }
                if (documents.isEmpty()) {
                    localDocument = index;
                }
                documents.add(document);
            }
            if (documents.size() > 1) {
                error("", "the file holds " + documents.size() + " ztunnel configuration documents (without apiVersion"
                        + " and kind); expected one, the other documents being Istio AuthorizationPolicy or"
                        + " PeerAuthentication resources");
                return null;
            }
            return documents.isEmpty() ? null : documents.get(0);
        } catch (MarkedYamlEngineException e) {
            StringBuilder sb = new StringBuilder("YAML syntax error");
            Optional<Mark> mark = e.getProblemMark();
            mark.ifPresent(m -> sb.append(" at line ").append(m.getLine() + 1)
                    .append(", column ").append(m.getColumn() + 1));
            String problem = e.getProblem() == null ? e.getMessage() : e.getProblem();
            if (e.getContext() != null) {
                problem = e.getContext() + "; " + problem;
            }
            sb.append(": ").append(problem);
            error("", sb.toString());
            return null;
        } catch (YamlEngineException e) {
            error("", "YAML error: " + e.getMessage());
            return null;
        } catch (RuntimeException e) {
            // The YAML library also refuses some input with its own unchecked exceptions, e.g. an
            // IllegalArgumentException for a tag such as "!%a" (found by LocalConfigFuzzTest).
            error("", "YAML error: " + e.getMessage());
            return null;
        } catch (StackOverflowError e) {
            error("", "YAML error: the document is nested too deeply");
            return null;
        }
    }

    // ---------------------------------------------------------------- document

    private LocalConfig readDocument(Object document, String text) {
        if (document == null) {
            // An empty file is an empty configuration: no workloads, services or policies (Istio resources aside).
            PolicySet istio = readPolicies(text);
            return errors.isEmpty() ? new LocalConfig(List.of(), List.of(), List.of(), istio.authorizationPolicies(),
                    istio.peerAuthentications()) : null;
        }
        if (document instanceof List) {
            error("", "expected a mapping with keys workloads, services, policies; got a list "
                    + "(a bare list of workloads is the format of old ztunnel examples: put it under \"workloads:\")");
            return null;
        }
        Map<String, Object> root = mapping(document, "", TOP_LEVEL_KEYS);
        if (root == null) {
            return null;
        }
        List<Workload> workloads = new ArrayList<>();
        List<Object> workloadNodes = list(root.get("workloads"), "workloads", true);
        for (int i = 0; i < workloadNodes.size(); i++) {
            Workload w = readWorkload(workloadNodes.get(i), index("workloads", i));
            workloads.add(w);
        }
        List<Service> services = new ArrayList<>();
        List<Object> serviceNodes = list(root.get("services"), "services", true);
        for (int i = 0; i < serviceNodes.size(); i++) {
            services.add(readService(serviceNodes.get(i), index("services", i)));
        }
        checkUnique(workloads, services);
        PolicySet all = readPolicies(text);
        if (!errors.isEmpty()) {
            return null;
        }
        return new LocalConfig(workloads, services, all.compactPolicies(), all.authorizationPolicies(),
                all.peerAuthentications());
    }

    private void checkUnique(List<Workload> workloads, List<Service> services) {
        Map<String, Integer> uids = new HashMap<>();
        for (int i = 0; i < workloads.size(); i++) {
            Workload w = workloads.get(i);
            if (w == null) {
                continue;
            }
            Integer previous = uids.putIfAbsent(w.uid(), i);
            if (previous != null) {
                // ztunnel would silently keep only the last one; a local file should say so.
                error(child(index("workloads", i), "uid"), "duplicate uid " + quote(w.uid()) + " (also "
                        + index("workloads", previous) + "); each workload needs its own uid");
            }
        }
        Map<NamespacedHostname, Integer> names = new HashMap<>();
        Map<NetworkAddress, Integer> vips = new HashMap<>();
        for (int i = 0; i < services.size(); i++) {
            Service s = services.get(i);
            if (s == null) {
                continue;
            }
            Integer previous = names.putIfAbsent(s.namespacedHostname(), i);
            if (previous != null) {
                error(child(index("services", i), "hostname"), "duplicate service " + quote(s.namespacedHostname().toString())
                        + " (also " + index("services", previous) + ")");
            }
            for (int v = 0; v < s.vips().size(); v++) {
                Integer owner = vips.putIfAbsent(s.vips().get(v), i);
                if (owner != null && owner != i) {
                    error(index(child(index("services", i), "vips"), v), "VIP " + quote(s.vips().get(v).toString())
                            + " is also a VIP of " + index("services", owner));
                }
            }
        }
    }

    // ---------------------------------------------------------------- workloads

    private Workload readWorkload(Object node, String path) {
        Map<String, Object> m = mapping(node, path, WORKLOAD_KEYS);
        if (m == null) {
            return null;
        }
        int errorsBefore = errors.size();
        Workload.Builder b = Workload.builder();
        b.uid(string(m, path, "uid", ""));
        b.name(string(m, path, "name", ""));
        String namespace = requiredString(m, path, "namespace");
        b.namespace(namespace == null ? "" : namespace);
        // ztunnel's xDS conversion turns an empty service account / trust domain / cluster into these defaults.
        b.serviceAccount(orDefault(string(m, path, "serviceAccount", ""), Workload.DEFAULT_SERVICE_ACCOUNT));
        b.trustDomain(orDefault(string(m, path, "trustDomain", ""), Workload.DEFAULT_TRUST_DOMAIN));
        b.clusterId(orDefault(string(m, path, "clusterId", ""), Workload.DEFAULT_CLUSTER_ID));
        if (!m.containsKey("workloadIps")) {
            error(path, "required key \"workloadIps\" is missing (use [] for a workload without addresses)");
        }
        List<Object> ips = list(m.get("workloadIps"), child(path, "workloadIps"), true);
        for (int i = 0; i < ips.size(); i++) {
            InetAddress ip = ipAddress(ips.get(i), index(child(path, "workloadIps"), i));
            if (ip != null) {
                b.addWorkloadIp(ip);
            }
        }
        b.protocol(enumValue(m, path, "protocol", InboundProtocol.class, InboundProtocol.TCP));
        b.networkMode(enumValue(m, path, "networkMode", NetworkMode.class, NetworkMode.STANDARD));
        b.network(string(m, path, "network", ""));
        b.node(string(m, path, "node", ""));
        b.hostname(string(m, path, "hostname", ""));
        b.waypoint(gateway(m.get("waypoint"), child(path, "waypoint")));
        b.networkGateway(gateway(m.get("networkGateway"), child(path, "networkGateway")));
        b.applicationTunnel(applicationTunnel(m.get("applicationTunnel"), child(path, "applicationTunnel")));
        b.services(workloadServices(m.get("services"), child(path, "services")));
        b.canonicalName(string(m, path, "canonicalName", ""));
        b.canonicalRevision(string(m, path, "canonicalRevision", ""));
        b.workloadName(string(m, path, "workloadName", ""));
        b.workloadType(string(m, path, "workloadType", ""));
        b.locality(locality(m.get("locality"), child(path, "locality")));
        List<String> policies = new ArrayList<>();
        List<Object> policyNodes = list(m.get("authorizationPolicies"), child(path, "authorizationPolicies"), true);
        for (int i = 0; i < policyNodes.size(); i++) {
            String key = stringValue(policyNodes.get(i), index(child(path, "authorizationPolicies"), i));
            if (key != null) {
                policies.add(key);
            }
        }
        b.authorizationPolicies(policies);
        b.labels(labels(m.get("labels"), child(path, "labels")));
        b.status(enumValue(m, path, "status", HealthStatus.class, HealthStatus.HEALTHY));
        b.nativeTunnel(bool(m, path, "nativeTunnel", false));
        Long capacity = integer(m.get("capacity"), child(path, "capacity"), 0, 4_294_967_295L);
        b.capacity(capacity == null ? 1 : capacity);
        if (errors.size() != errorsBefore) {
            return null;
        }
        Workload workload = b.build();
        try {
            workload.identity().toSpiffeId();
        } catch (InvalidSpiffeIdException e) {
            error(path, "identity " + quote(workload.identity().toSpiffeUri()) + " is not a valid SPIFFE ID ("
                    + e.getMessage() + "); check trustDomain, namespace and serviceAccount");
            return null;
        }
        return workload;
    }

    private Map<String, String> labels(Object node, String path) {
        Map<String, String> out = new LinkedHashMap<>();
        if (node == null) {
            return out;
        }
        if (!(node instanceof Map<?, ?> m)) {
            typeError(path, "a mapping of label names to values", node);
            return out;
        }
        for (Map.Entry<?, ?> e : m.entrySet()) {
            String key = String.valueOf(e.getKey());
            if (!(e.getKey() instanceof String) || key.isEmpty()) {
                error(path, "label name " + quote(key) + " must be a non-empty string");
                continue;
            }
            String value = stringValue(e.getValue(), child(path, key));
            if (value != null) {
                out.put(key, value);
            }
        }
        return out;
    }

    private Map<NamespacedHostname, Map<Integer, Integer>> workloadServices(Object node, String path) {
        Map<NamespacedHostname, Map<Integer, Integer>> result = new LinkedHashMap<>();
        if (node == null) {
            return result;
        }
        if (!(node instanceof Map)) {
            typeError(path, "a mapping of \"namespace/hostname\" to port mappings", node);
            return result;
        }
        for (Map.Entry<?, ?> e : ((Map<?, ?>) node).entrySet()) {
            String keyPath = mapKey(path, e.getKey());
            if (!(e.getKey() instanceof String)) {
                error(keyPath, "service key " + e.getKey() + " must be a \"namespace/hostname\" string");
                continue;
            }
            NamespacedHostname name;
            try {
                name = NamespacedHostname.parse((String) e.getKey());
            } catch (IllegalArgumentException ex) {
                error(keyPath, quote((String) e.getKey()) + " is not \"namespace/hostname\"");
                continue;
            }
            result.put(name, portMap(e.getValue(), keyPath, 1));
        }
        return result;
    }

    private Map<Integer, Integer> portMap(Object node, String path, int minTarget) {
        Map<Integer, Integer> ports = new LinkedHashMap<>();
        if (node == null) {
            return ports;
        }
        if (!(node instanceof Map)) {
            typeError(path, "a mapping of service port to target port", node);
            return ports;
        }
        for (Map.Entry<?, ?> e : ((Map<?, ?>) node).entrySet()) {
            String keyPath = mapKey(path, e.getKey());
            Object key = e.getKey();
            if (key instanceof String && ((String) key).matches("[0-9]{1,5}")) {
                key = Integer.parseInt((String) key);
            }
            Long servicePort = port(key, keyPath, 1, "service port");
            Long targetPort = port(e.getValue(), keyPath, minTarget, "target port");
            if (servicePort != null && targetPort != null) {
                ports.put(servicePort.intValue(), targetPort.intValue());
            }
        }
        return ports;
    }

    private GatewayAddress gateway(Object node, String path) {
        if (node == null) {
            return null;
        }
        Map<String, Object> m = mapping(node, path, GATEWAY_KEYS);
        if (m == null) {
            return null;
        }
        String destinationText = requiredString(m, path, "destination");
        GatewayDestination destination = null;
        if (destinationText != null) {
            try {
                destination = GatewayDestination.parse(destinationText);
            } catch (IllegalArgumentException e) {
                error(child(path, "destination"), quote(destinationText)
                        + " is neither \"network/ip\" nor \"namespace/hostname\"");
            }
        }
        Long port = null;
        if (!m.containsKey("hboneMtlsPort")) {
            error(path, "required key \"hboneMtlsPort\" is missing (15008 for ztunnel and waypoints)");
        } else {
            port = port(m.get("hboneMtlsPort"), child(path, "hboneMtlsPort"), 1, "port");
        }
        if (destination == null || port == null) {
            return null;
        }
        return new GatewayAddress(destination, port.intValue());
    }

    private ApplicationTunnel applicationTunnel(Object node, String path) {
        if (node == null) {
            return null;
        }
        Map<String, Object> m = mapping(node, path, TUNNEL_KEYS);
        if (m == null) {
            return null;
        }
        ApplicationTunnel.Protocol protocol = null;
        if (!m.containsKey("protocol")) {
            error(path, "required key \"protocol\" is missing (NONE or PROXY)");
        } else {
            protocol = enumValue(m, path, "protocol", ApplicationTunnel.Protocol.class, null);
        }
        OptionalInt port = OptionalInt.empty();
        if (m.get("port") != null) {
            Long p = port(m.get("port"), child(path, "port"), 1, "port");
            if (p != null) {
                port = OptionalInt.of(p.intValue());
            }
        }
        return protocol == null ? null : new ApplicationTunnel(protocol, port);
    }

    private Locality locality(Object node, String path) {
        if (node == null) {
            return Locality.UNKNOWN;
        }
        Map<String, Object> m = mapping(node, path, LOCALITY_KEYS);
        if (m == null) {
            return Locality.UNKNOWN;
        }
        return new Locality(string(m, path, "region", ""), string(m, path, "zone", ""),
                string(m, path, "subzone", ""));
    }

    // ---------------------------------------------------------------- services

    private Service readService(Object node, String path) {
        Map<String, Object> m = mapping(node, path, SERVICE_KEYS);
        if (m == null) {
            return null;
        }
        int errorsBefore = errors.size();
        Service.Builder b = Service.builder();
        String name = requiredString(m, path, "name");
        String namespace = requiredString(m, path, "namespace");
        String hostname = requiredString(m, path, "hostname");
        if (hostname != null && hostname.isEmpty()) {
            error(child(path, "hostname"), "must not be empty");
        }
        if (!m.containsKey("vips")) {
            error(path, "required key \"vips\" is missing (use [] for a service without VIPs)");
        }
        List<Object> vips = list(m.get("vips"), child(path, "vips"), true);
        for (int i = 0; i < vips.size(); i++) {
            String vipPath = index(child(path, "vips"), i);
            String text = stringValue(vips.get(i), vipPath);
            if (text == null) {
                continue;
            }
            if (text.indexOf('/') < 0) {
                error(vipPath, quote(text) + " is not \"network/ip\" (use \"/" + text
                        + "\" for the default network)");
                continue;
            }
            String ip = text.substring(text.indexOf('/') + 1);
            if (IpAddresses.parse(ip).isEmpty()) {
                error(vipPath, quote(ip) + " is not an IP address");
                continue;
            }
            b.addVip(NetworkAddress.parse(text));
        }
        if (!m.containsKey("ports")) {
            error(path, "required key \"ports\" is missing (a mapping of service port to target port)");
        }
        // A target port of 0 is how ztunnel says "named port: use the endpoint's mapping".
        portMap(m.get("ports"), child(path, "ports"), 0).forEach(b::port);
        List<Object> sans = list(m.get("subjectAltNames"), child(path, "subjectAltNames"), true);
        for (int i = 0; i < sans.size(); i++) {
            String sanPath = index(child(path, "subjectAltNames"), i);
            String san = stringValue(sans.get(i), sanPath);
            if (san == null) {
                continue;
            }
            if (WorkloadIdentity.parse(san).isEmpty()) {
                // ztunnel drops such a SAN with a warning when it connects; refusing it here is kinder.
                error(sanPath, quote(san) + " is not a SPIFFE identity spiffe://<trust domain>/ns/<namespace>/sa/<service account>");
                continue;
            }
            b.addSubjectAltName(san);
        }
        b.waypoint(gateway(m.get("waypoint"), child(path, "waypoint")));
        b.loadBalancer(loadBalancer(m.get("loadBalancer"), child(path, "loadBalancer")));
        if (m.get("ipFamilies") != null) {
            b.ipFamilies(enumValue(m, path, "ipFamilies", IpFamily.class, null));
        }
        if (errors.size() != errorsBefore) {
            return null;
        }
        return b.name(name).namespace(namespace).hostname(hostname).build();
    }

    private LoadBalancer loadBalancer(Object node, String path) {
        if (node == null) {
            return null;
        }
        Map<String, Object> m = mapping(node, path, LOAD_BALANCER_KEYS);
        if (m == null) {
            return null;
        }
        List<LoadBalancer.Scope> scopes = new ArrayList<>();
        List<Object> scopeNodes = list(m.get("routingPreferences"), child(path, "routingPreferences"), true);
        for (int i = 0; i < scopeNodes.size(); i++) {
            LoadBalancer.Scope scope = enumOf(scopeNodes.get(i), index(child(path, "routingPreferences"), i),
                    LoadBalancer.Scope.class);
            if (scope != null) {
                scopes.add(scope);
            }
        }
        LoadBalancer.Mode mode = enumValue(m, path, "mode", LoadBalancer.Mode.class, LoadBalancer.Mode.STANDARD);
        LoadBalancer.HealthPolicy health = enumValue(m, path, "healthPolicy", LoadBalancer.HealthPolicy.class,
                LoadBalancer.HealthPolicy.ONLY_HEALTHY);
        if (mode == null || health == null) {
            return null;
        }
        return new LoadBalancer(scopes, mode, health);
    }

    // ---------------------------------------------------------------- policies

    // The authorization engine owns the policy format: its loader reads the same document (skipping
    // workloads and services) and its errors become this file's errors.
    // Istio resources in the other documents are read by the same loader; their errors name the document.
    private PolicySet readPolicies(String text) {
        LoadResult result = new PolicyLoader().loadString(source, text);
        boolean hadErrors = !errors.isEmpty();
        for (LoadError e : result.errors()) {
            if (e.documentIndex() != localDocument) {
                error("document " + e.documentIndex() + (e.path().isEmpty() ? "" : " " + e.path()), e.message());
                continue;
            }
            // Top-level keys and YAML syntax are checked here already; never accept what the engine refuses.
            if (e.path().startsWith("policies") || !hadErrors) {
                error(e.path(), e.message());
            }
        }
        return result.policies();
    }

    // ---------------------------------------------------------------- typed readers

    private Map<String, Object> mapping(Object node, String path, List<String> allowedKeys) {
        if (!(node instanceof Map)) {
            typeError(path, "a mapping", node);
            return null;
        }
        // Unknown keys are errors, but reading on finds the file's other errors in the same pass.
        Map<String, Object> result = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) node).entrySet()) {
            if (!(e.getKey() instanceof String)) {
                error(path, "key " + e.getKey() + " must be a string");
                continue;
            }
            String key = (String) e.getKey();
            if (!allowedKeys.contains(key)) {
                error(child(path, key), unknownKey(key, allowedKeys));
                continue;
            }
            result.put(key, e.getValue());
        }
        return result;
    }

    private static String unknownKey(String key, List<String> allowed) {
        String normalized = key.replace("_", "").replace("-", "").toLowerCase(Locale.ROOT);
        for (String candidate : allowed) {
            if (candidate.toLowerCase(Locale.ROOT).equals(normalized)
                    || candidate.equals(key + "s") || (candidate + "s").equals(key)) {
                return "unknown key " + quote(key) + "; did you mean " + quote(candidate) + "?";
            }
        }
        return "unknown key " + quote(key) + " (expected one of: " + String.join(", ", allowed) + ")";
    }

    private List<Object> list(Object node, String path, boolean nullIsEmpty) {
        if (node == null && nullIsEmpty) {
            return List.of();
        }
        if (!(node instanceof List)) {
            typeError(path, "a list", node);
            return List.of();
        }
        @SuppressWarnings("unchecked")
        List<Object> list = (List<Object>) node;
        return list;
    }

    private String string(Map<String, Object> m, String path, String key, String defaultValue) {
        Object value = m.get(key);
        if (value == null) {
            return defaultValue;
        }
        String s = stringValue(value, child(path, key));
        return s == null ? defaultValue : s;
    }

    private String requiredString(Map<String, Object> m, String path, String key) {
        if (!m.containsKey(key) || m.get(key) == null) {
            error(path, "required key " + quote(key) + " is missing");
            return null;
        }
        return stringValue(m.get(key), child(path, key));
    }

    private String stringValue(Object value, String path) {
        if (value instanceof String) {
            return (String) value;
        }
        if (value instanceof Number || value instanceof Boolean) {
            error(path, "expected a string, got " + describe(value) + " (quote it: \"" + value + "\")");
            return null;
        }
        typeError(path, "a string", value);
        return null;
    }

    private boolean bool(Map<String, Object> m, String path, String key, boolean defaultValue) {
        Object value = m.get(key);
        if (value == null) {
            return defaultValue;
        }
        if (!(value instanceof Boolean)) {
            typeError(child(path, key), "true or false", value);
            return defaultValue;
        }
        return (Boolean) value;
    }

    private <E extends Enum<E>> E enumValue(Map<String, Object> m, String path, String key, Class<E> type,
            E defaultValue) {
        Object value = m.get(key);
        if (value == null) {
            return defaultValue;
        }
        E e = enumOf(value, child(path, key), type);
        return e == null ? defaultValue : e;
    }

    private <E extends Enum<E>> E enumOf(Object value, String path, Class<E> type) {
        List<String> names = new ArrayList<>();
        for (E constant : type.getEnumConstants()) {
            String name = configName(constant);
            names.add(name);
            if (name.equals(value)) {
                return constant;
            }
        }
        if (value instanceof String) {
            error(path, quote((String) value) + " is not one of " + String.join(", ", names));
        } else {
            typeError(path, "one of " + String.join(", ", names), value);
        }
        return null;
    }

    private static String configName(Enum<?> constant) {
        if (constant instanceof NetworkMode) {
            return ((NetworkMode) constant).configName();
        }
        if (constant instanceof HealthStatus) {
            return ((HealthStatus) constant).configName();
        }
        if (constant instanceof IpFamily) {
            return ((IpFamily) constant).configName();
        }
        if (constant instanceof LoadBalancer.Mode) {
            return ((LoadBalancer.Mode) constant).configName();
        }
        if (constant instanceof LoadBalancer.HealthPolicy) {
            return ((LoadBalancer.HealthPolicy) constant).configName();
        }
        if (constant instanceof LoadBalancer.Scope) {
            return ((LoadBalancer.Scope) constant).configName();
        }
        return constant.name(); // InboundProtocol (TCP, HBONE), ApplicationTunnel.Protocol (NONE, PROXY)
    }

    private Long integer(Object value, String path, long min, long max) {
        if (value == null) {
            return null;
        }
        if (!(value instanceof Integer || value instanceof Long || value instanceof BigInteger)) {
            typeError(path, "a whole number", value);
            return null;
        }
        BigInteger n = new BigInteger(value.toString());
        if (n.compareTo(BigInteger.valueOf(min)) < 0 || n.compareTo(BigInteger.valueOf(max)) > 0) {
            error(path, value + " is out of range (" + min + "-" + max + ")");
            return null;
        }
        return n.longValue();
    }

    private Long port(Object value, String path, int min, String what) {
        if (!(value instanceof Integer || value instanceof Long || value instanceof BigInteger)) {
            typeError(path, "a " + what + " (" + min + "-65535)", value);
            return null;
        }
        BigInteger n = new BigInteger(value.toString());
        if (n.compareTo(BigInteger.valueOf(min)) < 0 || n.compareTo(BigInteger.valueOf(65535)) > 0) {
            error(path, value + " is not a " + what + " (" + min + "-65535)");
            return null;
        }
        return n.longValue();
    }

    private InetAddress ipAddress(Object value, String path) {
        String text = stringValue(value, path);
        if (text == null) {
            return null;
        }
        Optional<InetAddress> ip = IpAddresses.parse(text);
        if (ip.isEmpty()) {
            error(path, quote(text) + " is not an IP address");
            return null;
        }
        return ip.get();
    }

    // ---------------------------------------------------------------- helpers

    private static String orDefault(String value, String defaultValue) {
        return value.isEmpty() ? defaultValue : value;
    }

    private void typeError(String path, String expected, Object actual) {
        error(path, "expected " + expected + ", got " + describe(actual));
    }

    private void error(String path, String message) {
        errors.add(new ConfigError(source, path, message));
    }

    private static String describe(Object value) {
        if (value == null) {
            return "nothing (null)";
        }
        if (value instanceof Map) {
            return "a mapping";
        }
        if (value instanceof List) {
            return "a list";
        }
        if (value instanceof String) {
            return "the string " + quote((String) value);
        }
        if (value instanceof Boolean) {
            return "the boolean " + value;
        }
        if (value instanceof Number) {
            return "the number " + value;
        }
        return "a " + value.getClass().getSimpleName();
    }

    static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String child(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private static String index(String path, int i) {
        return path + "[" + i + "]";
    }

    private static String mapKey(String path, Object key) {
        return key instanceof String ? path + "[" + quote((String) key) + "]" : path + "[" + key + "]";
    }
}
