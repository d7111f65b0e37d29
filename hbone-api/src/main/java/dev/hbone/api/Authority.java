package dev.hbone.api;

import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * A parsed HBONE {@code :authority}: {@code ip:port}, {@code [v6]:port} or {@code hostname:port}. Strict: no
 * user-info, no zone IDs, port 1-65535 without sign or leading zeros, hostnames of LDH labels.
 *
 * @param host the IPv4 literal, the IPv6 literal without brackets, or the hostname (lower case)
 * @param port the port
 * @param ipLiteral whether {@code host} is an IP literal
 */
public record Authority(String host, int port, boolean ipLiteral) {
    /** Validates. */
    public Authority {
        requireNonNull(host, "host");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port out of range: " + port);
        }
    }

    /** Parses {@code value}, or returns empty when it is not a valid HBONE authority. */
    public static Optional<Authority> parse(String value) {
        requireNonNull(value, "value");
        if (value.isEmpty() || value.length() > 261) {
            return Optional.empty();
        }
        int colon = value.lastIndexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            return Optional.empty();
        }
        int port = parsePort(value, colon + 1);
        if (port < 0) {
            return Optional.empty();
        }
        String host = value.substring(0, colon);
        if (host.charAt(0) == '[') {
            if (host.charAt(host.length() - 1) != ']') {
                return Optional.empty();
            }
            String v6 = host.substring(1, host.length() - 1);
            return isIpv6(v6) ? Optional.of(new Authority(v6, port, true)) : Optional.empty();
        }
        if (isIpv4(host)) {
            return Optional.of(new Authority(host, port, true));
        }
        return isHostname(host) ? Optional.of(new Authority(host.toLowerCase(java.util.Locale.ROOT), port, false))
                                : Optional.empty();
    }

    static String requireValid(String value) {
        if (parse(value).isEmpty()) {
            throw new IllegalArgumentException("not an HBONE authority (ip:port, [v6]:port or host:port): " + value);
        }
        return value;
    }

    /** The authority in wire form ({@code [v6]:port} for IPv6). */
    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ':' + port;
    }

    private static int parsePort(String s, int from) {
        int len = s.length() - from;
        if (len < 1 || len > 5 || (s.charAt(from) == '0')) {
            return -1;
        }
        int port = 0;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            port = port * 10 + (c - '0');
        }
        return port <= 65535 ? port : -1;
    }

    private static boolean isIpv4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
                return false;
            }
            for (int i = 0; i < p.length(); i++) {
                if (p.charAt(i) < '0' || p.charAt(i) > '9') {
                    return false;
                }
            }
            if (Integer.parseInt(p) > 255) {
                return false;
            }
        }
        return true;
    }

    private static boolean isIpv6(String s) {
        // A ':' must be present: it keeps InetAddress from ever treating the text as a name to resolve.
        if (s.length() < 2 || s.length() > 45 || s.indexOf(':') < 0) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':'
                         || c == '.';
            if (!ok) {
                return false;
            }
        }
        try {
            java.net.InetAddress.getByName(s); // a literal with ':' is parsed, never resolved
            return true;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    private static boolean isHostname(String s) {
        if (s.length() > 253 || s.endsWith(".")) {
            return false;
        }
        for (String label : s.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > 63 || label.startsWith("-") || label.endsWith("-")) {
                return false;
            }
            for (int i = 0; i < label.length(); i++) {
                char c = label.charAt(i);
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
                    return false;
                }
            }
        }
        // An all-numeric dotted name is a broken IPv4 literal, not a host.
        return !s.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'));
    }
}
