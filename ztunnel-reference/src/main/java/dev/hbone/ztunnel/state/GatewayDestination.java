package dev.hbone.ztunnel.state;

/**
 * Where a waypoint or a network gateway is found: either an address in a network
 * ({@code "network/ip"}) or a service or workload hostname in a namespace ({@code "ns/hostname"}).
 */
public sealed interface GatewayDestination permits NetworkAddress, NamespacedHostname {

    /**
     * Parses the configuration form: {@code "network/ip"} when the part after the first {@code /} is an
     * IP address literal, otherwise {@code "namespace/hostname"} (ztunnel tries the address form first).
     *
     * @throws IllegalArgumentException when the text has no {@code /} or an empty part
     */
    static GatewayDestination parse(String text) {
        java.util.Objects.requireNonNull(text, "text");
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException(
                    "\"" + text + "\" is neither \"network/ip\" nor \"namespace/hostname\"");
        }
        String rest = text.substring(slash + 1);
        if (dev.hbone.ztunnel.internal.IpAddresses.parse(rest).isPresent()) {
            return NetworkAddress.parse(text);
        }
        return NamespacedHostname.parse(text);
    }
}
