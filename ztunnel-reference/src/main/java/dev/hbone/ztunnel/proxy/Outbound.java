package dev.hbone.ztunnel.proxy;

import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelRequest;
import dev.hbone.netty.ChannelSplice;
import dev.hbone.ztunnel.internal.ByteCounter;
import dev.hbone.ztunnel.internal.ReadHold;
import dev.hbone.ztunnel.internal.TcpRelay;
import dev.hbone.ztunnel.metrics.Reporter;
import dev.hbone.ztunnel.metrics.ResponseFlag;
import dev.hbone.ztunnel.metrics.SecurityPolicy;
import dev.hbone.ztunnel.route.OutboundRoute;
import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import dev.hbone.ztunnel.state.WorkloadIdentity;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.spiffe.spiffeid.SpiffeId;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbound half shared by the SOCKS5 and capture listeners: route the connection with {@link
 * dev.hbone.ztunnel.route.OutboundRouter}, open the upstream (HBONE through the pooled client presenting the
 * <em>source</em> workload's identity, double HBONE through a network gateway, or plain TCP), then relay. Metrics
 * are reported as {@code reporter="source"}.
 */
final class Outbound {
    private static final Logger log = LoggerFactory.getLogger(Outbound.class);

    private final DataPath dp;

    Outbound(DataPath dp) {
        this.dp = dp;
    }

    /**
     * Routes and opens the upstream of a client connection (autoRead off, {@code counter} in its pipeline).
     *
     * @return completes with the relay starter (call it with leftover client bytes, or null, after answering the
     *     client), or fails when there is no upstream (already logged and counted)
     */
    CompletableFuture<Consumer<ByteBuf>> open(DuplexChannel client, ByteCounter counter, ReadHold hold,
            Workload source,
            InetSocketAddress originalDestination, ConnectionTracker tracker) {
        InetSocketAddress clientAddress = (InetSocketAddress) client.remoteAddress();
        InetAddress sourceIp = clientAddress.getAddress();
        OutboundRoute route = dp.outboundRouter().route(dp.state(), source, sourceIp, originalDestination);
        if (route instanceof OutboundRoute.Refused r) {
            ProxiedConnection c = new ProxiedConnection(Reporter.SOURCE, clientAddress, originalDestination, source,
                    null, null, null, SecurityPolicy.UNKNOWN, dp.metrics(), dp.accessLog(), tracker);
            c.complete(ResponseFlag.CONNECT, "no route (" + r.reason() + "): " + r.message());
            return CompletableFuture.failedFuture(new IllegalStateException(r.message()));
        }
        if (route instanceof OutboundRoute.DirectTcp t) {
            return tcp(client, counter, hold, source, originalDestination, t.nextHop(), t.destinationWorkload(),
                    t.destinationService().orElse(null), tracker);
        }
        if (route instanceof OutboundRoute.Passthrough p) {
            return tcp(client, counter, hold, source, originalDestination, p.originalDestination(), null, null, tracker);
        }
        TunnelRequest.Builder request = TunnelRequest.builder();
        Workload destination;
        Service service;
        if (route instanceof OutboundRoute.DirectHbone h) {
            destination = h.destinationWorkload();
            service = h.destinationService().orElse(null);
            request.authority(h.authority().toString()).peerAddress(h.nextHop())
                    .sourceIdentity(h.sourceIdentity().toSpiffeId())
                    .expectedIdentities(spiffeIds(h.expectedIdentities()));
        } else if (route instanceof OutboundRoute.ViaWaypoint w) {
            destination = w.waypoint();
            service = w.destinationService().orElse(null);
            request.authority(w.authority().toString()).peerAddress(w.nextHop())
                    .sourceIdentity(w.sourceIdentity().toSpiffeId())
                    .expectedIdentities(spiffeIds(w.expectedIdentities()));
        } else {
            OutboundRoute.ViaNetworkGateway g = (OutboundRoute.ViaNetworkGateway) route;
            destination = null;
            service = g.destinationService();
            request.authority(g.authority().toString()).peerAddress(g.nextHop())
                    .sourceIdentity(g.sourceIdentity().toSpiffeId())
                    .expectedIdentities(spiffeIds(g.destinationIdentities()))
                    .gateway(new TunnelRequest.Gateway(g.nextHop(), spiffeIds(g.gatewayIdentities()),
                            g.forwardedNetwork()));
        }
        request.forwarded(clientAddress, service == null ? null : service.hostname())
                .traceparent(traceparent());
        String baggage = baggage(source);
        if (!baggage.isEmpty()) {
            request.baggage(baggage);
        }
        if (DataPath.bindable(sourceIp)) {
            request.sourceAddress(sourceIp); // the workload's own address, as ztunnel in the pod's namespace
        }
        request.timeout(DataPath.CONNECT_TIMEOUT);
        ProxiedConnection c = new ProxiedConnection(Reporter.SOURCE, clientAddress, originalDestination, source,
                null, service, destination, SecurityPolicy.MUTUAL_TLS, dp.metrics(), dp.accessLog(), tracker);
        c.countOn(counter);
        TunnelRequest built;
        try {
            built = request.build();
        } catch (RuntimeException e) { // e.g. no identity to expect: refuse this connection, cleanly
            c.complete(ResponseFlag.CONNECT, "cannot open HBONE to " + route.getClass().getSimpleName() + ": "
                    + e.getMessage());
            return CompletableFuture.failedFuture(e);
        }
        return dp.client().openChannel(built, new ChannelInboundHandlerAdapter()).handle((stream, error) -> {
            if (error != null) {
                Throwable cause = error instanceof CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                ResponseFlag flag = flagFor(cause);
                if (flag == ResponseFlag.TLS_FAILURE) {
                    TlsFailures.refused(dp.metrics(), Reporter.SOURCE, cause);
                }
                c.complete(flag, "HBONE to " + dev.hbone.ztunnel.cli.ProxyConfig.format(built.peerAddress()) + " (" + built.authority() + ") failed: "
                        + cause.getMessage());
                throw new CompletionException(cause);
            }
            return leftover -> relayToStream(client, counter, hold, stream, leftover, c);
        });
    }

    /** Starts relaying; runs on the client's event loop so that the hold replays into the relay's handlers. */
    private static void relayToStream(DuplexChannel client, ByteCounter counter, ReadHold hold,
            Http2StreamChannel stream, ByteBuf leftover, ProxiedConnection c) {
        counter.start();
        if (leftover != null) {
            counter.addRead(leftover.readableBytes());
            stream.writeAndFlush(new DefaultHttp2DataFrame(leftover));
        }
        ChannelSplice.splice(client, stream).whenComplete((v, e) -> c.complete());
        hold.release(client);
        if (!client.isActive()) {
            stream.close();
        }
    }

    private CompletableFuture<Consumer<ByteBuf>> tcp(DuplexChannel client, ByteCounter counter, ReadHold hold,
            Workload source,
            InetSocketAddress originalDestination, InetSocketAddress nextHop, Workload destination, Service service,
            ConnectionTracker tracker) {
        ProxiedConnection c = new ProxiedConnection(Reporter.SOURCE, (InetSocketAddress) client.remoteAddress(),
                originalDestination, source, null, service, destination, SecurityPolicy.UNKNOWN, dp.metrics(),
                dp.accessLog(), tracker);
        c.countOn(counter);
        InetAddress sourceIp = ((InetSocketAddress) client.remoteAddress()).getAddress();
        Optional<InetAddress> bind = DataPath.bindable(sourceIp) && sourceIp.getClass() == nextHop.getAddress()
                .getClass() ? Optional.of(sourceIp) : Optional.empty();
        CompletableFuture<Consumer<ByteBuf>> result = new CompletableFuture<>();
        ChannelFuture connect = DataPath.connectTcp(client.eventLoop(), nextHop, bind, new ByteCounter());
        tracker.add(connect.channel());
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                c.complete(ResponseFlag.CONNECT, "TCP connect to " + nextHop + " failed: " + f.cause().getMessage());
                result.completeExceptionally(f.cause());
                return;
            }
            DuplexChannel upstream = (DuplexChannel) connect.channel();
            result.complete(leftover -> {
                counter.start();
                if (leftover != null) {
                    counter.addRead(leftover.readableBytes());
                    upstream.writeAndFlush(leftover);
                }
                TcpRelay.relay(client, upstream).whenComplete((v, e) -> c.complete());
                hold.release(client);
                if (!client.isActive()) {
                    upstream.close();
                }
            });
        });
        return result;
    }

    private static ResponseFlag flagFor(Throwable cause) {
        if (cause instanceof TunnelException t) {
            if (t.reason() == TunnelException.Reason.TLS_HANDSHAKE) {
                return ResponseFlag.TLS_FAILURE;
            }
            if (t.reason() == TunnelException.Reason.REFUSED && t.status().orElse(0) == 401) {
                return ResponseFlag.DENY;
            }
        }
        return ResponseFlag.CONNECT;
    }

    private static Set<SpiffeId> spiffeIds(List<WorkloadIdentity> identities) {
        Set<SpiffeId> out = new LinkedHashSet<>();
        for (WorkloadIdentity id : identities) {
            out.add(id.toSpiffeId());
        }
        return out;
    }

    /** A new W3C trace context for each proxied connection. */
    private static String traceparent() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return String.format("00-%016x%016x-%016x-00", r.nextLong(), r.nextLong() | 1, r.nextLong() | 1);
    }

    /** The source workload's OpenTelemetry baggage, as ztunnel sends it. */
    private static String baggage(Workload w) {
        List<String> parts = new ArrayList<>();
        add(parts, "k8s.cluster.name", w.clusterId());
        add(parts, "k8s.namespace.name", w.namespace());
        if (!w.workloadType().isEmpty()) {
            add(parts, "k8s." + w.workloadType().toLowerCase(java.util.Locale.ROOT) + ".name", w.workloadName());
        }
        add(parts, "service.name", w.canonicalName());
        add(parts, "service.version", w.canonicalRevision());
        add(parts, "cloud.region", w.locality().region());
        add(parts, "cloud.availability_zone", w.locality().zone());
        return String.join(",", parts);
    }

    private static void add(List<String> parts, String key, String value) {
        if (value != null && !value.isEmpty()) {
            parts.add(key + "=" + value);
        }
    }

    static Logger log() {
        return log;
    }
}
