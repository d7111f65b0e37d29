package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

import dev.hbone.authz.internal.ConnectionFacts;
import dev.hbone.authz.internal.Ip;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * What an L4 enforcement point knows about a connection: the peer identity (from mTLS, absent for plaintext),
 * source and destination IPs, destination port. Parsed once on creation so evaluation does not allocate.
 */
public final class ConnectionAttributes {
    private final String sourcePrincipal;
    private final String sourceIp;
    private final String destinationIp;
    private final int destinationPort;
    final ConnectionFacts facts;

    private ConnectionAttributes(Builder b) {
        Principal parsed = b.principal == null ? null : remembered(PRINCIPALS, b.principal, Principal::parse);
        String p = parsed == null ? null : parsed.principal;
        this.sourcePrincipal = p;
        this.sourceIp = b.sourceIp == null ? null : remembered(ADDRESSES, b.sourceIp, ip -> ip);
        this.destinationIp = b.destinationIp == null ? null : remembered(ADDRESSES, b.destinationIp, ip -> ip);
        this.destinationPort = b.port;
        String ns = b.namespace != null ? b.namespace : parsed == null ? null : parsed.namespace;
        String sa = parsed == null ? null : parsed.serviceAccount;
        this.facts = new ConnectionFacts(p, ns, sa, b.sourceIp == null ? null : Ip.parse(b.sourceIp),
                b.destinationIp == null ? null : Ip.parse(b.destinationIp), b.port);
    }

    // A node sees the same few peer identities and addresses on many connections: each is parsed once and its
    // Strings are shared by the live connections that keep them, instead of being cut out again for each one. A
    // bounded memory per kind, started over when full.
    private static final int REMEMBERED = 4096;
    private static final ConcurrentHashMap<String, Principal> PRINCIPALS = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<String, String> ADDRESSES = new ConcurrentHashMap<>();

    private static <V> V remembered(ConcurrentHashMap<String, V> memory, String key, Function<String, V> make) {
        V known = memory.get(key);
        if (known != null) {
            return known;
        }
        if (memory.size() >= REMEMBERED) {
            memory.clear();
        }
        V made = make.apply(key);
        memory.put(key, made);
        return made;
    }

    /** A peer identity split: {@code trust-domain/ns/<ns>/sa/<sa>}. */
    private record Principal(String principal, String namespace, String serviceAccount) {
        static Principal parse(String given) {
            String p = given.startsWith("spiffe://") ? given.substring("spiffe://".length()) : given;
            String[] parts = p.split("/", -1);
            if (parts.length == 5 && parts[1].equals("ns") && parts[3].equals("sa")) {
                return new Principal(p, parts[2], parts[4]);
            }
            return new Principal(p, null, null);
        }
    }

    /** Starts a builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** Peer identity without {@code spiffe://}, or null for a plaintext connection. */
    public String sourcePrincipal() {
        return sourcePrincipal;
    }

    /** Peer namespace (from the identity unless set explicitly), or null. */
    public String sourceNamespace() {
        return facts.namespace;
    }

    /** Source IP or null. */
    public String sourceIp() {
        return sourceIp;
    }

    /** Destination IP or null. */
    public String destinationIp() {
        return destinationIp;
    }

    /** Destination port. */
    public int destinationPort() {
        return destinationPort;
    }

    @Override
    public String toString() {
        return (sourcePrincipal == null ? "plaintext" : sourcePrincipal) + "@" + (sourceIp == null ? "?" : sourceIp)
                + " -> " + (destinationIp == null ? "?" : destinationIp) + ":" + destinationPort;
    }

    /** Builds {@link ConnectionAttributes}. */
    public static final class Builder {
        private String principal;
        private String namespace;
        private String sourceIp;
        private String destinationIp;
        private int port;

        private Builder() {
        }

        /** Peer identity ({@code cluster.local/ns/a/sa/b}, with or without {@code spiffe://}). */
        public Builder sourcePrincipal(String principal) {
            this.principal = requireNonNull(principal, "principal");
            return this;
        }

        /** Overrides the namespace derived from the identity. */
        public Builder sourceNamespace(String namespace) {
            this.namespace = requireNonNull(namespace, "namespace");
            return this;
        }

        /** Source IP literal. */
        public Builder sourceIp(String ip) {
            this.sourceIp = requireNonNull(ip, "ip");
            return this;
        }

        /** Destination IP literal. */
        public Builder destinationIp(String ip) {
            this.destinationIp = requireNonNull(ip, "ip");
            return this;
        }

        /** Destination port (1-65535). */
        public Builder destinationPort(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            this.port = port;
            return this;
        }

        /** Builds; throws IllegalArgumentException if an IP is not a literal address. */
        public ConnectionAttributes build() {
            return new ConnectionAttributes(this);
        }
    }
}
