package dev.hbone.ztunnel.state;

import dev.hbone.ztunnel.internal.IpAddresses;
import java.net.InetAddress;
import java.util.Objects;

/**
 * An IP address inside a network. The network is a name ({@code ""} is the default network); the
 * same IP in two networks is two different addresses.
 *
 * @param network the network name, {@code ""} for the default network
 * @param address the IP address
 */
public record NetworkAddress(String network, InetAddress address) implements GatewayDestination {

    /** Validates the components. */
    public NetworkAddress {
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(address, "address");
    }

    /** Shorthand for {@code new NetworkAddress(network, address)}. */
    public static NetworkAddress of(String network, InetAddress address) {
        return new NetworkAddress(network, address);
    }

    /**
     * Parses {@code "network/ip"}; {@code "/ip"} is the default network.
     *
     * @throws IllegalArgumentException when there is no {@code /} or the part after it is not an IP literal
     */
    public static NetworkAddress parse(String text) {
        Objects.requireNonNull(text, "text");
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("\"" + text + "\" is not \"network/ip\"");
        }
        String ip = text.substring(slash + 1);
        InetAddress address = IpAddresses.parse(ip).orElseThrow(
                () -> new IllegalArgumentException("\"" + ip + "\" is not an IP address"));
        return new NetworkAddress(text.substring(0, slash), address);
    }

    /** Returns {@code network/ip}, the form used in the configuration file. */
    @Override
    public String toString() {
        return network + "/" + address.getHostAddress();
    }
}
