package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

import dev.hbone.authz.internal.Ip;
import dev.hbone.authz.internal.RequestFacts;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What an HTTP-aware enforcement point (waypoint) knows about a request, on top of its connection. */
public final class RequestAttributes {
    private final ConnectionAttributes connection;
    final RequestFacts facts;

    private RequestAttributes(Builder b) {
        this.connection = b.connection;
        this.facts = new RequestFacts(b.method, b.path, b.host, Map.copyOf(b.headers), b.requestPrincipal,
                Map.copyOf(b.claims), List.copyOf(b.audiences), b.presenter, b.sni,
                b.remoteIp == null ? null : Ip.parse(b.remoteIp));
    }

    /** Starts a request on a connection. */
    public static Builder builder(ConnectionAttributes connection) {
        return new Builder(requireNonNull(connection, "connection"));
    }

    /** The connection that carries the request. */
    public ConnectionAttributes connection() {
        return connection;
    }

    @Override
    public String toString() {
        return facts.method + " " + facts.host + facts.path + " over " + connection;
    }

    /** Builds {@link RequestAttributes}. */
    public static final class Builder {
        private final ConnectionAttributes connection;
        private String method;
        private String path;
        private String host;
        private final Map<String, String> headers = new HashMap<>();
        private String requestPrincipal;
        private Map<String, Object> claims = Map.of();
        private List<String> audiences = List.of();
        private String presenter;
        private String sni;
        private String remoteIp;

        private Builder(ConnectionAttributes connection) {
            this.connection = connection;
        }

        /** HTTP method. */
        public Builder method(String method) {
            this.method = requireNonNull(method, "method");
            return this;
        }

        /** {@code :path} (a query is ignored for matching). */
        public Builder path(String path) {
            this.path = requireNonNull(path, "path");
            return this;
        }

        /** {@code :authority}. */
        public Builder host(String host) {
            this.host = requireNonNull(host, "host");
            return this;
        }

        /** A request header (name is case-insensitive). */
        public Builder header(String name, String value) {
            headers.put(requireNonNull(name, "name").toLowerCase(Locale.ROOT), requireNonNull(value, "value"));
            return this;
        }

        /** The validated JWT's {@code iss/sub}. */
        public Builder requestPrincipal(String principal) {
            this.requestPrincipal = requireNonNull(principal, "principal");
            return this;
        }

        /** The validated JWT's claims (string, list or nested-map values). */
        public Builder claims(Map<String, Object> claims) {
            this.claims = requireNonNull(claims, "claims");
            return this;
        }

        /** The validated JWT's audiences. */
        public Builder audiences(List<String> audiences) {
            this.audiences = requireNonNull(audiences, "audiences");
            return this;
        }

        /** The validated JWT's authorized presenter. */
        public Builder presenter(String presenter) {
            this.presenter = requireNonNull(presenter, "presenter");
            return this;
        }

        /** TLS SNI. */
        public Builder sni(String sni) {
            this.sni = requireNonNull(sni, "sni");
            return this;
        }

        /** Original client IP (X-Forwarded-For); defaults to the connection's source IP. */
        public Builder remoteIp(String ip) {
            this.remoteIp = requireNonNull(ip, "ip");
            return this;
        }

        /** Builds. */
        public RequestAttributes build() {
            return new RequestAttributes(this);
        }
    }
}
