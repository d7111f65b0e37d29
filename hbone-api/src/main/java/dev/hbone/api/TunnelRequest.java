package dev.hbone.api;

import io.spiffe.spiffeid.SpiffeId;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static java.util.Objects.requireNonNull;

/**
 * What a client asks for: "open a tunnel to {@code authority} through the HBONE peer at {@code peerAddress},
 * acting as {@code sourceIdentity}, expecting the peer to be one of {@code expectedIdentities}".
 * Build one with {@link #builder()}.
 */
public final class TunnelRequest {
    private final String authority;
    private final InetSocketAddress peerAddress;
    private final SpiffeId sourceIdentity;
    private final Set<SpiffeId> expectedIdentities;
    private final InetAddress sourceAddress;
    private final Map<String, String> headers;
    private final Duration timeout;
    private final Gateway gateway;

    private TunnelRequest(Builder b) {
        this.authority = Authority.requireValid(requireNonNull(b.authority, "authority"));
        this.peerAddress = requireNonNull(b.peerAddress, "peerAddress");
        this.sourceIdentity = requireNonNull(b.sourceIdentity, "sourceIdentity");
        if (b.expectedIdentities == null || b.expectedIdentities.isEmpty()) {
            throw new IllegalStateException("expectedIdentities must name at least one identity");
        }
        this.expectedIdentities = Set.copyOf(b.expectedIdentities);
        this.sourceAddress = b.sourceAddress;
        this.headers = Collections.unmodifiableMap(new LinkedHashMap<>(b.headers));
        this.timeout = b.timeout;
        this.gateway = b.gateway;
    }

    /** A new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** The CONNECT {@code :authority}: {@code ip:port}, {@code [v6]:port} or (double HBONE) {@code host:port}. */
    public String authority() {
        return authority;
    }

    /** Where the HBONE server listens, usually {@code <destination IP>:15008}. */
    public InetSocketAddress peerAddress() {
        return peerAddress;
    }

    /** The identity whose certificate this client presents. */
    public SpiffeId sourceIdentity() {
        return sourceIdentity;
    }

    /** The peer must prove one of these identities, or the handshake fails. */
    public Set<SpiffeId> expectedIdentities() {
        return expectedIdentities;
    }

    /** The local IP to connect from, if pinned (part of the pool key). */
    public Optional<InetAddress> sourceAddress() {
        return Optional.ofNullable(sourceAddress);
    }

    /** Request headers to send, in order (lower-case names), e.g. {@code forwarded}, {@code baggage}. */
    public Map<String, String> headers() {
        return headers;
    }

    /** How long opening may take (connect, handshake, CONNECT and response); empty means the client's default. */
    public Optional<Duration> timeout() {
        return Optional.ofNullable(timeout);
    }

    /** For double HBONE: the gateway the outer tunnel goes through. */
    public Optional<Gateway> gateway() {
        return Optional.ofNullable(gateway);
    }

    @Override
    public String toString() {
        return "TunnelRequest{" + authority + " via " + peerAddress + ", as " + sourceIdentity + ", expecting "
               + expectedIdentities + (gateway == null ? "" : ", through " + gateway) + '}';
    }

    /**
     * The east-west gateway hop of a double-HBONE tunnel: the outer CONNECT goes to {@code address} expecting one
     * of {@code identities}; inside it, a second mTLS handshake is made with the request's
     * {@link TunnelRequest#expectedIdentities() expected identities} and the inner CONNECT carries
     * {@code x-forwarded-network: originNetwork}. The request's {@code peerAddress} is then ignored for dialing.
     *
     * @param address the gateway's HBONE address
     * @param identities the identities the gateway may prove
     * @param originNetwork the network this client is in
     */
    public record Gateway(InetSocketAddress address, Set<SpiffeId> identities, String originNetwork) {
        /** Validates. */
        public Gateway {
            requireNonNull(address, "address");
            identities = Set.copyOf(requireNonNull(identities, "identities"));
            requireNonNull(originNetwork, "originNetwork");
            if (identities.isEmpty()) {
                throw new IllegalArgumentException("gateway identities must not be empty");
            }
        }
    }

    /** Builds a {@link TunnelRequest}. {@code authority}, {@code peerAddress}, both identities are required. */
    public static final class Builder {
        private String authority;
        private InetSocketAddress peerAddress;
        private SpiffeId sourceIdentity;
        private Set<SpiffeId> expectedIdentities;
        private InetAddress sourceAddress;
        private final Map<String, String> headers = new LinkedHashMap<>();
        private Duration timeout;
        private Gateway gateway;

        private Builder() { }

        /** The CONNECT authority, e.g. {@code 10.0.0.7:8080}. */
        public Builder authority(String authority) {
            this.authority = requireNonNull(authority, "authority");
            return this;
        }

        /** The HBONE server to dial. */
        public Builder peerAddress(InetSocketAddress peerAddress) {
            this.peerAddress = requireNonNull(peerAddress, "peerAddress");
            return this;
        }

        /** The identity to present. */
        public Builder sourceIdentity(SpiffeId sourceIdentity) {
            this.sourceIdentity = requireNonNull(sourceIdentity, "sourceIdentity");
            return this;
        }

        /** The identities the server may prove (at least one). */
        public Builder expectedIdentities(Set<SpiffeId> expectedIdentities) {
            this.expectedIdentities = Set.copyOf(requireNonNull(expectedIdentities, "expectedIdentities"));
            return this;
        }

        /** The single identity the server must prove. */
        public Builder expectedIdentity(SpiffeId expectedIdentity) {
            return expectedIdentities(Set.of(requireNonNull(expectedIdentity, "expectedIdentity")));
        }

        /** The local IP to connect from (the original client's IP in a transparent proxy). */
        public Builder sourceAddress(InetAddress sourceAddress) {
            this.sourceAddress = requireNonNull(sourceAddress, "sourceAddress");
            return this;
        }

        /** {@code forwarded: for="<client>"} plus {@code ;host=<host>} when {@code host} is not null. */
        public Builder forwarded(InetSocketAddress client, String host) {
            requireNonNull(client, "client");
            String hostPart = client.getAddress().getHostAddress();
            String forValue = hostPart.indexOf(':') >= 0 ? "[" + hostPart + "]:" + client.getPort()
                                                        : hostPart + ':' + client.getPort();
            return header("forwarded", "for=\"" + forValue + '"' + (host == null ? "" : ";host=" + host));
        }

        /** A W3C {@code traceparent}, e.g. {@code 00-<32 hex>-<16 hex>-00}. */
        public Builder traceparent(String traceparent) {
            return header("traceparent", traceparent);
        }

        /** A W3C {@code baggage} value, e.g. {@code k8s.namespace.name=default,service.name=web}. */
        public Builder baggage(String baggage) {
            return header("baggage", baggage);
        }

        /**
         * Any other request header. Pseudo-headers and connection-specific headers are refused.
         */
        public Builder header(String name, String value) {
            requireNonNull(name, "name");
            requireNonNull(value, "value");
            String lower = name.toLowerCase(Locale.ROOT);
            if (lower.isEmpty() || lower.startsWith(":") || lower.equals("connection") || lower.equals("te")
                || lower.equals("transfer-encoding") || lower.equals("upgrade") || lower.equals("keep-alive")
                || lower.equals("proxy-connection") || lower.equals("host")) {
                throw new IllegalArgumentException("header not allowed on an HBONE CONNECT: " + name);
            }
            headers.put(lower, value);
            return this;
        }

        /** The time allowed to open the tunnel. */
        public Builder timeout(Duration timeout) {
            requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive: " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        /** Makes this a double-HBONE request through {@code gateway}. */
        public Builder gateway(Gateway gateway) {
            this.gateway = requireNonNull(gateway, "gateway");
            return this;
        }

        /** Builds; throws {@link IllegalStateException}/{@link IllegalArgumentException} naming what is wrong. */
        public TunnelRequest build() {
            if (peerAddress == null && gateway != null) {
                peerAddress = gateway.address();
            }
            return new TunnelRequest(this);
        }
    }
}
