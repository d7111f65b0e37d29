package dev.hbone.ztunnel.config;

import dev.hbone.authz.PolicySet;
import dev.hbone.authz.model.AuthorizationPolicy;
import dev.hbone.authz.model.CompactPolicy;
import dev.hbone.authz.model.PeerAuthentication;
import dev.hbone.ztunnel.state.ProxyState;
import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * ztunnel's local configuration ({@code LOCAL_XDS_PATH}): the workloads, services and authorization
 * policies the proxy would otherwise receive from istiod.
 *
 * <pre>{@code
 * LocalConfig config = LocalConfig.load(Path.of("local.yaml"));   // throws InvalidConfigException
 * ProxyState state = config.toProxyState();
 * }</pre>
 *
 * <p>The format is ztunnel's: top-level {@code workloads}, {@code services} and {@code policies}, camelCase
 * keys, unknown keys refused. Defaults are ztunnel's (protocol {@code TCP}, network {@code ""}, status
 * {@code Healthy}, capacity 1), and an absent or empty trust domain, service account or cluster id takes
 * the value ztunnel gives it for xDS resources: {@code cluster.local}, {@code default}, {@code Kubernetes}.
 *
 * @param workloads the workloads, in file order
 * @param services the services, in file order
 * <p>Istio resources may follow in further YAML documents of the same file ({@code ---}): {@code AuthorizationPolicy}
 * and {@code PeerAuthentication} ({@code security.istio.io/v1} or {@code v1beta1}), read by {@code authz-engine}'s
 * loader as istiod would hand them to ztunnel (selectors match workload {@code labels}; PeerAuthentication
 * {@code STRICT} refuses plaintext on the inbound plaintext listener, mesh-wide from the root namespace
 * {@code istio-system}, per namespace, per workload selector and per port).
 *
 * @param workloads the workloads, in file order
 * @param services the services, in file order
 * @param policies the authorization policies, in file order, as read by the authorization engine's loader
 *     ({@code authz-engine}'s compact form: rules → clauses → matches)
 * @param authorizationPolicies the Istio {@code AuthorizationPolicy} documents of the file, in file order
 * @param peerAuthentications the Istio {@code PeerAuthentication} documents of the file, in file order
 */
public record LocalConfig(List<Workload> workloads, List<Service> services, List<CompactPolicy> policies,
        List<AuthorizationPolicy> authorizationPolicies, List<PeerAuthentication> peerAuthentications) {

    /** An empty configuration. */
    public static final LocalConfig EMPTY = new LocalConfig(List.of(), List.of(), List.of());

    /** Validates and copies the components. */
    public LocalConfig {
        workloads = List.copyOf(Objects.requireNonNull(workloads, "workloads"));
        services = List.copyOf(Objects.requireNonNull(services, "services"));
        policies = List.copyOf(Objects.requireNonNull(policies, "policies"));
        authorizationPolicies = List.copyOf(Objects.requireNonNull(authorizationPolicies, "authorizationPolicies"));
        peerAuthentications = List.copyOf(Objects.requireNonNull(peerAuthentications, "peerAuthentications"));
    }

    /** A configuration without Istio resources. */
    public LocalConfig(List<Workload> workloads, List<Service> services, List<CompactPolicy> policies) {
        this(workloads, services, policies, List.of(), List.of());
    }

    /**
     * Reads and checks a configuration file. Errors name the file by its file name.
     *
     * @throws InvalidConfigException when the file is unreadable, not UTF-8 or not a valid configuration;
     *     it lists every problem found
     */
    public static LocalConfig load(Path file) throws InvalidConfigException {
        Objects.requireNonNull(file, "file");
        String source = file.getFileName() == null ? file.toString() : file.getFileName().toString();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new InvalidConfigException(List.of(new ConfigError(source, "", "cannot read " + file + ": " + e)));
        }
        return parse(source, bytes);
    }

    /**
     * Checks a configuration given as bytes (UTF-8).
     *
     * @param source the name used in error messages, normally the file name
     * @throws InvalidConfigException when the bytes are not UTF-8 or not a valid configuration
     */
    public static LocalConfig parse(String source, byte[] utf8) throws InvalidConfigException {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(utf8, "utf8");
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(utf8))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new InvalidConfigException(List.of(new ConfigError(source, "", "the file is not UTF-8 text")));
        }
        return parse(source, text);
    }

    /**
     * Checks a configuration given as text.
     *
     * @param source the name used in error messages, normally the file name
     * @throws InvalidConfigException when the text is not a valid configuration; it lists every problem found
     */
    public static LocalConfig parse(String source, String yaml) throws InvalidConfigException {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(yaml, "yaml");
        return new LocalConfigParser(source).parse(yaml);
    }

    /**
     * Returns every policy of the file — the ztunnel-format {@code policies} and the Istio resources — as a set the
     * authorization engine compiles ({@link PolicySet#compile}).
     */
    public PolicySet policySet() {
        return PolicySet.of(authorizationPolicies, peerAuthentications, policies);
    }

    /** Builds the indexed snapshot of this configuration's workloads and services. */
    public ProxyState toProxyState() {
        return ProxyState.of(workloads, services);
    }
}
