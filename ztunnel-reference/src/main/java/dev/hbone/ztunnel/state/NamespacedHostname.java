package dev.hbone.ztunnel.state;

import java.util.Objects;

/**
 * A hostname scoped to a namespace: the key of a service ({@code "default/example.com"}). The same
 * hostname may exist in several namespaces (Istio ServiceEntry).
 *
 * @param namespace the namespace
 * @param hostname the hostname
 */
public record NamespacedHostname(String namespace, String hostname) implements GatewayDestination {

    /** Validates the components. */
    public NamespacedHostname {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(hostname, "hostname");
    }

    /** Shorthand for {@code new NamespacedHostname(namespace, hostname)}. */
    public static NamespacedHostname of(String namespace, String hostname) {
        return new NamespacedHostname(namespace, hostname);
    }

    /**
     * Parses {@code "namespace/hostname"}, splitting at the first {@code /}.
     *
     * @throws IllegalArgumentException when there is no {@code /}, or a part is empty, or the hostname has a {@code /}
     */
    public static NamespacedHostname parse(String text) {
        Objects.requireNonNull(text, "text");
        int slash = text.indexOf('/');
        if (slash <= 0 || slash == text.length() - 1 || text.indexOf('/', slash + 1) >= 0) {
            throw new IllegalArgumentException("\"" + text + "\" is not \"namespace/hostname\"");
        }
        return new NamespacedHostname(text.substring(0, slash), text.substring(slash + 1));
    }

    /** Returns {@code namespace/hostname}. */
    @Override
    public String toString() {
        return namespace + "/" + hostname;
    }
}
