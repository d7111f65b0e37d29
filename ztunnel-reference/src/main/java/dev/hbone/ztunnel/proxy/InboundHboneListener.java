package dev.hbone.ztunnel.proxy;

import dev.hbone.api.IncomingTunnel;
import dev.hbone.api.ProxyProtocolV2;
import dev.hbone.api.RefusalStatus;
import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelHandler;
import dev.hbone.api.TunnelInfo;
import dev.hbone.api.TunnelListener;
import dev.hbone.authz.ConnectionAttributes;
import dev.hbone.authz.Decision;
import dev.hbone.authz.Destination;
import dev.hbone.netty.ChannelSplice;
import dev.hbone.netty.NettyHboneServer;
import dev.hbone.netty.NettyIncomingTunnel;
import dev.hbone.netty.internal.FrameGuard;
import dev.hbone.ztunnel.internal.ByteCounter;
import dev.hbone.ztunnel.lifecycle.Drainable;
import dev.hbone.ztunnel.metrics.Reporter;
import dev.hbone.ztunnel.metrics.ResponseFlag;
import dev.hbone.ztunnel.metrics.SecurityPolicy;
import dev.hbone.ztunnel.route.InboundDecision;
import dev.hbone.ztunnel.route.InboundRequest;
import dev.hbone.ztunnel.state.ProxyState;
import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.spiffe.spiffeid.SpiffeId;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inbound HBONE (15008): mTLS presenting the identity of the destination workload (the local workload owning the
 * IP the connection was made to); per CONNECT the inbound routing decision (400/503), authorization with the peer's
 * identity (401 on deny), the upstream connection (10 s, 503 on failure), an optional PROXY v2 header, then 200
 * and a zero-copy splice. Metrics are reported as {@code reporter="destination"}.
 */
final class InboundHboneListener implements Drainable, TunnelHandler {
    private static final Logger log = LoggerFactory.getLogger(InboundHboneListener.class);

    private final DataPath dp;
    private final NettyHboneServer server;
    private final ConnectionTracker tracker = new ConnectionTracker();

    InboundHboneListener(DataPath dp, InetSocketAddress address) throws IOException {
        this.dp = dp;
        try {
            this.server = NettyHboneServer.builder().bind(address).tls(dp.tls()).identity(this::identityFor)
                    .handler(this).listener(new PeerFailures(dp)).eventLoopGroup(dp.group()).start();
        } catch (RuntimeException e) {
            throw new IOException("inbound HBONE " + address + ": cannot bind: " + e.getMessage(), e);
        }
    }

    /**
     * Counts and logs what peers get wrong before the handler sees a request: refused TLS handshakes
     * ({@code istio_tls_handshake_failures_total{direction="inbound"}}, reason: the SVID rule the certificate broke,
     * e.g. {@code untrusted_chain}, or {@code alpn}, {@code protocol_version}, {@code no_certificate}, else
     * {@code handshake}: {@link TlsFailures}), and HTTP/2 or HBONE violations ({@code
     * istio_hbone_protocol_errors_total{direction="inbound"}}: a connection closed with GOAWAY — a flood or another
     * abuse limit — or a malformed request reset).
     */
    private record PeerFailures(DataPath dp) implements TunnelListener {
        @Override
        public void onFailed(String authority, TunnelException failure) {
            if (failure.reason() == TunnelException.Reason.TLS_HANDSHAKE) {
                TlsFailures.refused(dp.metrics(), Reporter.DESTINATION, failure);
            } else if (failure.reason() == TunnelException.Reason.PROTOCOL_ERROR) {
                boolean connection = failure.goAwayCode().isPresent();
                String error = connection ? FrameGuard.errorName(failure.goAwayCode().getAsLong()) : "PROTOCOL_ERROR";
                dp.metrics().protocolError(Reporter.DESTINATION, connection, error);
                log.warn("inbound HBONE {} ({}): {}", connection ? "connection closed" : "request reset", error,
                        failure.getMessage());
            }
        }
    }

    InetSocketAddress localAddress() {
        return server.localAddress();
    }

    /** The certificate to present: the destination workload's, chosen by the address the client dialled. */
    private SpiffeId identityFor(InetSocketAddress local) {
        return dp.localWorkload(local.getAddress()).map(w -> w.identity().toSpiffeId())
                .orElseThrow(() -> new IllegalStateException("no local workload at " + local.getAddress()
                        .getHostAddress() + ": closing the connection before the handshake"));
    }

    @Override
    public void handle(IncomingTunnel incoming) {
        NettyIncomingTunnel tunnel = (NettyIncomingTunnel) incoming;
        TunnelInfo info = tunnel.info();
        ProxyState state = dp.state();
        String peerId = spelled(info.peerIdentity());
        InetSocketAddress peer = info.remoteAddress();
        InboundRequest request = new InboundRequest("CONNECT", info.authority(), peer, info.localAddress().getAddress(),
                Optional.of(peerId), Optional.ofNullable(info.headers().get("x-forwarded-network")));
        InboundDecision decision = dp.inboundRouter().decide(state, request);
        // The source workload, when the peer's address belongs to one proving the identity it should have.
        Workload source = state.workloadByAddress(dp.settings().network(), peer.getAddress())
                .filter(w -> w.identity().toSpiffeUri().equals(peerId)).orElse(null);
        if (decision instanceof InboundDecision.Reject reject) {
            ProxiedConnection c = new ProxiedConnection(Reporter.DESTINATION, peer, info.localAddress(), source,
                    peerId, null, null, SecurityPolicy.MUTUAL_TLS, dp.metrics(), dp.accessLog(), tracker);
            refuse(tunnel, reject.status() == 400 ? RefusalStatus.BAD_REQUEST : RefusalStatus.SERVICE_UNAVAILABLE,
                    reject.message());
            c.complete(ResponseFlag.CONNECT, reject.status() + " " + reject.reason() + ": " + reject.message());
            return;
        }
        InboundDecision.Forward forward = (InboundDecision.Forward) decision;
        Workload destination = forward.destinationWorkload();
        Service service = forward.services().isEmpty() ? null : forward.services().get(0);
        ProxiedConnection c = new ProxiedConnection(Reporter.DESTINATION, peer, forward.authorizedDestination(),
                source, peerId, service, destination, SecurityPolicy.MUTUAL_TLS, dp.metrics(), dp.accessLog(),
                tracker);
        Destination authzDestination = DataPath.destination(destination);
        ConnectionAttributes attributes = ConnectionAttributes.builder()
                .sourcePrincipal(peerId)
                .sourceIp(peer.getAddress().getHostAddress())
                .destinationIp(forward.authorizedDestination().getAddress().getHostAddress())
                .destinationPort(forward.authorizedDestination().getPort())
                .build();
        Decision authz = dp.policies().evaluate(authzDestination, attributes);
        c.authorization(authz);
        if (!authz.allowed()) {
            refuse(tunnel, RefusalStatus.UNAUTHORIZED, "authorization denied: " + authz.toLogString());
            c.complete(ResponseFlag.DENY, "authorization denied");
            return;
        }
        if (tracker.draining()) {
            refuse(tunnel, RefusalStatus.SERVICE_UNAVAILABLE, "draining");
            c.complete(ResponseFlag.CONNECT, "proxy is draining");
            return;
        }
        ByteCounter counter = new ByteCounter();
        c.countOn(counter);
        ChannelFuture connect = DataPath.connectTcp(tunnel.channel().eventLoop(), forward.upstream(),
                forward.upstreamSource(), counter);
        tracker.add(connect.channel());
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                String why = "upstream connect to " + forward.upstream() + " failed: " + f.cause().getMessage();
                refuse(tunnel, RefusalStatus.SERVICE_UNAVAILABLE, why);
                c.complete(ResponseFlag.CONNECT, why);
                return;
            }
            DuplexChannel upstream = (DuplexChannel) connect.channel();
            if (forward.proxyProtocol().isPresent()) {
                InboundDecision.ProxyProtocolHeader pp = forward.proxyProtocol().get();
                SpiffeId id = SpiffeId.parse(pp.sourceIdentity().orElse(peerId));
                upstream.writeAndFlush(Unpooled.wrappedBuffer(ProxyProtocolV2.encode(pp.source(), pp.destination(),
                        id)));
            }
            counter.start();
            Http2StreamChannel stream;
            try {
                stream = tunnel.acceptChannel(new ChannelInboundHandlerAdapter());
            } catch (IllegalStateException e) { // answered meanwhile (the client broke the protocol)
                upstream.close();
                c.complete(ResponseFlag.CONNECT, "tunnel already answered");
                return;
            }
            InetSocketAddress upstreamAddress = forward.upstream();
            LiveConnections.Entry entry = new LiveConnections.Entry(authzDestination, attributes,
                    () -> "inbound " + peerId + " " + peer + " -> " + upstreamAddress, c, upstream::close);
            dp.live().add(entry);
            CompletableFuture<Void> done = ChannelSplice.splice(upstream, stream);
            done.whenComplete((v, e) -> {
                dp.live().remove(entry);
                c.complete();
            });
        });
    }

    /**
     * One String per peer identity, not one per tunnel: open tunnels keep it (authorization re-checks, access log),
     * and the tunnels of a pooled connection all come from the same identity. Bounded by starting over.
     */
    private final java.util.concurrent.ConcurrentHashMap<SpiffeId, String> spelledIds =
            new java.util.concurrent.ConcurrentHashMap<>();

    private String spelled(SpiffeId id) {
        String s = spelledIds.get(id);
        if (s == null) {
            if (spelledIds.size() >= 4096) {
                spelledIds.clear();
            }
            s = id.toString();
            spelledIds.put(id, s);
        }
        return s;
    }

    private static void refuse(NettyIncomingTunnel tunnel, RefusalStatus status, String reason) {
        try {
            tunnel.refuse(status, reason);
        } catch (IllegalStateException e) {
            log.debug("tunnel {} already answered", tunnel.info().authority());
        }
    }

    @Override
    public String name() {
        return "inbound HBONE " + localAddress();
    }

    @Override
    public CompletableFuture<Void> drain() {
        server.drain(dp.config().connectionTerminationDeadline());
        return tracker.drain();
    }

    @Override
    public void forceClose() {
        tracker.forceClose();
        server.drain(java.time.Duration.ZERO);
    }
}
