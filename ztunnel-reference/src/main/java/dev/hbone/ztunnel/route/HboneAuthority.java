package dev.hbone.ztunnel.route;

import dev.hbone.ztunnel.internal.IpAddresses;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * The {@code :authority} of an HBONE CONNECT: an IP and port ({@code 10.0.0.1:8080}, {@code [fd00::1]:8080}),
 * or, through an east-west gateway, a service hostname and port.
 */
public sealed interface HboneAuthority permits HboneAuthority.IpPort, HboneAuthority.HostPort {

    /** Returns the port. */
    int port();

    /**
     * Parses an authority. Accepted: {@code ipv4:port}, {@code [ipv6]:port}, {@code hostname:port} with a
     * DNS-style hostname; the port is 1-65535. Anything else (no port, unbracketed IPv6, a dotted-number
     * host that is not an IPv4 address, userinfo, spaces) is malformed: empty.
     */
    static Optional<HboneAuthority> parse(String authority) {
        Objects.requireNonNull(authority, "authority");
        int colon = authority.lastIndexOf(':');
        if (colon <= 0 || colon == authority.length() - 1) {
            return Optional.empty();
        }
        String host = authority.substring(0, colon);
        String portText = authority.substring(colon + 1);
        if (!portText.matches("[0-9]{1,5}")) {
            return Optional.empty();
        }
        int port = Integer.parseInt(portText);
        if (port < 1 || port > 65535) {
            return Optional.empty();
        }
        if (host.startsWith("[")) {
            if (!host.endsWith("]") || host.indexOf(':') < 0) {
                return Optional.empty();
            }
            // An IPv4-mapped IPv6 literal ([::ffff:10.0.0.1]) comes back as the IPv4 address, as sockets report it.
            return IpAddresses.parse(host.substring(1, host.length() - 1)).map(ip -> new IpPort(ip, port));
        }
        if (host.indexOf(':') >= 0) {
            return Optional.empty();
        }
        Optional<InetAddress> ip = IpAddresses.parse(host);
        if (ip.isPresent()) {
            return Optional.of(new IpPort(ip.get(), port));
        }
        if (host.matches("[0-9.]+") || !isHostname(host)) {
            return Optional.empty();
        }
        return Optional.of(new HostPort(host, port));
    }

    private static boolean isHostname(String host) {
        if (host.length() > 253) {
            return false;
        }
        for (String label : host.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > 63 || !label.matches("[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?")) {
                return false;
            }
        }
        return true;
    }

    /** Creates the authority for a socket address. */
    static IpPort of(InetSocketAddress address) {
        Objects.requireNonNull(address, "address");
        return new IpPort(address.getAddress(), address.getPort());
    }

    /**
     * An IP and port.
     *
     * @param ip the IP
     * @param port the port
     */
    record IpPort(InetAddress ip, int port) implements HboneAuthority {
        /** Validates the components. */
        public IpPort {
            Objects.requireNonNull(ip, "ip");
        }

        /** Returns the socket address. */
        public InetSocketAddress socketAddress() {
            return new InetSocketAddress(ip, port);
        }

        /** Returns {@code ip:port}, IPv6 in brackets. */
        @Override
        public String toString() {
            return IpAddresses.authorityHost(ip) + ":" + port;
        }
    }

    /**
     * A hostname and port (double HBONE through a gateway).
     *
     * @param hostname the service hostname
     * @param port the service port
     */
    record HostPort(String hostname, int port) implements HboneAuthority {
        /** Validates the components. */
        public HostPort {
            Objects.requireNonNull(hostname, "hostname");
        }

        /** Returns {@code hostname:port}. */
        @Override
        public String toString() {
            return hostname + ":" + port;
        }
    }
}
