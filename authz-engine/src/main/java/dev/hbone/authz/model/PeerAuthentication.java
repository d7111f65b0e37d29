package dev.hbone.authz.model;

import static java.util.Objects.requireNonNull;

import java.util.Map;

/**
 * A {@code security.istio.io} PeerAuthentication.
 *
 * @param name              {@code metadata.name}
 * @param namespace         {@code metadata.namespace}
 * @param selector          {@code spec.selector.matchLabels}; empty = namespace-wide (mesh-wide in the root namespace)
 * @param mode              {@code spec.mtls.mode} (UNSET when absent)
 * @param portLevelMtls     {@code spec.portLevelMtls}: port → mode (only honoured with a selector, as in Istio)
 * @param creationTimestamp {@code metadata.creationTimestamp} or {@code ""}; the oldest policy wins a tie
 */
public record PeerAuthentication(
        String name, String namespace, Map<String, String> selector, MtlsMode mode,
        Map<Integer, MtlsMode> portLevelMtls, String creationTimestamp) {
    /** Copies the maps. */
    public PeerAuthentication {
        requireNonNull(name, "name");
        requireNonNull(namespace, "namespace");
        selector = Map.copyOf(requireNonNull(selector, "selector"));
        requireNonNull(mode, "mode");
        portLevelMtls = Map.copyOf(requireNonNull(portLevelMtls, "portLevelMtls"));
        requireNonNull(creationTimestamp, "creationTimestamp");
    }

    /** Returns {@code namespace/name}. */
    public String key() {
        return namespace + "/" + name;
    }
}
