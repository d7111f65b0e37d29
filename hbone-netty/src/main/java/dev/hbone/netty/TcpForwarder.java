package dev.hbone.netty;

import dev.hbone.api.Authority;
import dev.hbone.api.IncomingTunnel;
import dev.hbone.api.ProxyProtocolV2;
import dev.hbone.api.RefusalStatus;
import dev.hbone.api.TunnelHandler;
import dev.hbone.netty.internal.Transports;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.Http2StreamChannel;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

import static java.util.Objects.requireNonNull;

/**
 * The usual server {@link TunnelHandler}: authorize, connect the upstream TCP target, answer 200 once it is
 * connected (503 if it fails or takes longer than the connect timeout), then splice the stream to it without
 * copying ({@link ChannelSplice}).
 *
 * <p>By default the target is the CONNECT authority itself, which must be an IP literal equal to the IP this
 * HBONE connection was addressed to (400 otherwise) and must not be one of the refused ports (503).
 */
public final class TcpForwarder implements TunnelHandler {
    /** Authorizes a tunnel; return false to answer 401. */
    @FunctionalInterface
    public interface Authorizer {
        /** Whether {@code tunnel} (its peer identity, authority, headers) may connect. */
        boolean allow(IncomingTunnel tunnel);
    }

    private final Authorizer authorizer;
    private final Function<IncomingTunnel, InetSocketAddress> target;
    private final boolean requireLocalDestination;
    private final Set<Integer> refusedPorts;
    private final int connectTimeoutMillis;
    private final boolean proxyProtocol;

    private TcpForwarder(Builder b) {
        this.authorizer = b.authorizer;
        this.target = b.target;
        this.requireLocalDestination = b.requireLocalDestination;
        this.refusedPorts = Set.copyOf(b.refusedPorts);
        this.connectTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, b.connectTimeout.toMillis());
        this.proxyProtocol = b.proxyProtocol;
    }

    /** A new builder. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void handle(IncomingTunnel tunnel) {
        if (!(tunnel instanceof NettyIncomingTunnel incoming)) {
            throw new IllegalArgumentException("TcpForwarder runs inside NettyHboneServer");
        }
        Authority authority = incoming.authority();
        if (requireLocalDestination) {
            if (!authority.ipLiteral()) {
                incoming.refuse(RefusalStatus.BAD_REQUEST, "authority is not an IP: " + authority);
                return;
            }
            InetAddress local = incoming.info().localAddress().getAddress();
            InetAddress requested;
            try {
                requested = InetAddress.getByName(authority.host()); // an IP literal: no lookup
            } catch (UnknownHostException e) {
                incoming.refuse(RefusalStatus.BAD_REQUEST, "bad IP in authority: " + authority);
                return;
            }
            if (!local.equals(requested)) {
                incoming.refuse(RefusalStatus.BAD_REQUEST, "target " + requested + " is not this connection's "
                                                           + "destination " + local);
                return;
            }
        }
        if (refusedPorts.contains(authority.port())) {
            incoming.refuse(RefusalStatus.SERVICE_UNAVAILABLE, "target is one of the proxy's own ports: " + authority);
            return;
        }
        if (!authorizer.allow(incoming)) {
            incoming.refuse(RefusalStatus.UNAUTHORIZED, "denied by policy");
            return;
        }
        InetSocketAddress upstream = target.apply(incoming);
        if (upstream == null) {
            incoming.refuse(RefusalStatus.SERVICE_UNAVAILABLE, "unknown target " + authority);
            return;
        }
        Http2StreamChannel stream = incoming.channel();
        ChannelFuture connect = new Bootstrap()
                .group(stream.eventLoop())
                .channel(Transports.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 0) // our timer below, which the channel does not keep
                .handler(new ChannelInboundHandlerAdapter())
                .connect(upstream);
        Transports.connectTimeout(connect, connectTimeoutMillis, upstream);
        incoming.cancelled().thenRun(() -> connect.channel().eventLoop().execute(() -> {
            if (!connect.isDone() || connect.isSuccess()) {
                connect.channel().close();
            }
        }));
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                if (!incoming.cancelled().isDone()) {
                    incoming.refuse(RefusalStatus.SERVICE_UNAVAILABLE, "upstream " + upstream + ": " + f.cause());
                }
                return;
            }
            DuplexChannel tcp = (DuplexChannel) connect.channel();
            if (incoming.cancelled().isDone()) {
                tcp.close();
                return;
            }
            if (proxyProtocol) {
                InetSocketAddress source = originalClient(incoming);
                InetSocketAddress destination = new InetSocketAddress(literal(authority.host()), authority.port());
                if (source.getAddress().getClass() == destination.getAddress().getClass()) {
                    tcp.write(Unpooled.wrappedBuffer(ProxyProtocolV2.encode(source, destination,
                                                                            incoming.info().peerIdentity())));
                }
            }
            Http2StreamChannel accepted = incoming.acceptChannel(new ChannelInboundHandlerAdapter());
            ChannelSplice.splice(tcp, accepted);
        });
    }

    /** The original client: the {@code forwarded: for=} address when present, else the HBONE peer's address. */
    static InetSocketAddress originalClient(IncomingTunnel incoming) {
        String forwarded = incoming.info().headers().get("forwarded");
        if (forwarded != null) {
            int i = forwarded.indexOf("for=\"");
            if (i >= 0) {
                int end = forwarded.indexOf('"', i + 5);
                if (end > 0) {
                    Optional<Authority> a = Authority.parse(forwarded.substring(i + 5, end));
                    if (a.isPresent() && a.get().ipLiteral()) {
                        return new InetSocketAddress(literal(a.get().host()), a.get().port());
                    }
                }
            }
        }
        return incoming.info().remoteAddress();
    }

    /** Builds a {@link TcpForwarder}. */
    public static final class Builder {
        private Authorizer authorizer = t -> true;
        private Function<IncomingTunnel, InetSocketAddress> target = t -> {
            Authority a = t.authority();
            return a.ipLiteral() ? new InetSocketAddress(literal(a.host()), a.port()) : null;
        };
        private boolean requireLocalDestination = true;
        private Set<Integer> refusedPorts = Set.of(15001, 15006, 15008, 15020, 15021, 15090);
        private Duration connectTimeout = HboneDefaults.UPSTREAM_CONNECT_TIMEOUT;
        private boolean proxyProtocol;

        private Builder() { }

        /**
         * Starts each upstream connection with a PROXY protocol v2 header (source = the original client from
         * {@code forwarded}, else the HBONE peer; destination = the authority; TLV 0xD0 = the peer's SPIFFE ID), for
         * destinations that declare an application tunnel of type PROXY. Default off.
         */
        public Builder proxyProtocol(boolean enabled) {
            this.proxyProtocol = enabled;
            return this;
        }

        /** Decides 401 vs. go; default allows everything (plug the authorization engine in here). */
        public Builder authorizer(Authorizer authorizer) {
            this.authorizer = requireNonNull(authorizer, "authorizer");
            return this;
        }

        /**
         * Maps a tunnel to the upstream to connect; {@code null} answers 503 (unknown target). Default: the
         * authority's IP and port.
         */
        public Builder target(Function<IncomingTunnel, InetSocketAddress> target) {
            this.target = requireNonNull(target, "target");
            return this;
        }

        /**
         * Whether the authority's IP must be the IP the HBONE connection was addressed to (400 otherwise); default
         * true. A waypoint, which receives traffic for other destinations, turns it off.
         */
        public Builder requireLocalDestination(boolean require) {
            this.requireLocalDestination = require;
            return this;
        }

        /** Target ports that are the proxy's own (answered 503); default Istio's 15001/15006/15008/15020/15021/15090. */
        public Builder refusedPorts(Set<Integer> ports) {
            this.refusedPorts = Set.copyOf(requireNonNull(ports, "ports"));
            return this;
        }

        /** Time allowed to connect the upstream before answering 503; default 10 s. */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = requireNonNull(timeout, "timeout");
            return this;
        }

        /** Builds. */
        public TcpForwarder build() {
            return new TcpForwarder(this);
        }
    }

    private static InetAddress literal(String ip) {
        try {
            return InetAddress.getByName(ip); // callers pass IP literals only
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP literal: " + ip, e);
        }
    }
}
