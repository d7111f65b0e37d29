package dev.hbone.ztunnel.proxy;

import dev.hbone.authz.ConnectionAttributes;
import dev.hbone.authz.Decision;
import dev.hbone.authz.Destination;
import dev.hbone.ztunnel.internal.ByteCounter;
import dev.hbone.ztunnel.internal.ReadHold;
import dev.hbone.ztunnel.internal.TcpRelay;
import dev.hbone.ztunnel.metrics.Reporter;
import dev.hbone.ztunnel.metrics.ResponseFlag;
import dev.hbone.ztunnel.metrics.SecurityPolicy;
import dev.hbone.ztunnel.state.Workload;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.SocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inbound plaintext listener (15006): connections from outside the mesh to a local workload, redirected by
 * TPROXY or REDIRECT. They are authorized without an identity — a {@code STRICT} PeerAuthentication, or ztunnel's converted
 * deny-without-principal policy, refuses them (reset, flag {@code DENY}) — and relayed to the application.
 */
final class InboundPlaintextListener extends TcpListener {
    private static final Logger log = LoggerFactory.getLogger(InboundPlaintextListener.class);

    InboundPlaintextListener(DataPath dp, InetSocketAddress address) throws IOException {
        super(dp, "inbound plaintext", address, dp.options().transparent(), true);
    }

    @Override
    void accepted(SocketChannel channel, ByteCounter counter, ReadHold hold) {
        InetSocketAddress client = channel.remoteAddress();
        InetSocketAddress destination = originalDestination(channel);
        if (destination == null) {
            return;
        }
        Optional<Workload> workload = dp.localWorkload(destination.getAddress());
        if (workload.isEmpty() || dp.settings().illegalPorts().contains(destination.getPort())) {
            ProxiedConnection c = new ProxiedConnection(Reporter.DESTINATION, client, destination, null, "", null,
                    null, SecurityPolicy.UNKNOWN, dp.metrics(), dp.accessLog(), tracker);
            channel.close();
            c.complete(ResponseFlag.CONNECT, workload.isEmpty() ? "no local workload at " + destination
                    : "call to the proxy's own port " + destination.getPort());
            return;
        }
        Workload w = workload.get();
        ProxiedConnection c = new ProxiedConnection(Reporter.DESTINATION, client, destination, null, "", null, w,
                SecurityPolicy.UNKNOWN, dp.metrics(), dp.accessLog(), tracker);
        Destination authzDestination = DataPath.destination(w);
        ConnectionAttributes attributes = ConnectionAttributes.builder()
                .sourceIp(client.getAddress().getHostAddress())
                .destinationIp(destination.getAddress().getHostAddress())
                .destinationPort(destination.getPort())
                .build();
        Decision authz = dp.policies().evaluate(authzDestination, attributes);
        c.authorization(authz);
        if (!authz.allowed()) {
            channel.config().setOption(ChannelOption.SO_LINGER, 0); // reset, as ztunnel
            channel.close();
            c.complete(ResponseFlag.DENY, "authorization denied");
            return;
        }
        ByteCounter upstreamCounter = new ByteCounter(); // the application's socket: written = client to server
        c.countOn(upstreamCounter);
        ChannelFuture connect = DataPath.connectTcp(channel.eventLoop(), destination, Optional.empty(),
                upstreamCounter);
        tracker.add(connect.channel());
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                channel.close();
                c.complete(ResponseFlag.CONNECT, "upstream connect to " + destination + " failed: "
                        + f.cause().getMessage());
                return;
            }
            DuplexChannel upstream = (DuplexChannel) connect.channel();
            LiveConnections.Entry entry = new LiveConnections.Entry(authzDestination, attributes,
                    () -> "inbound plaintext " + client + " -> " + destination, c, channel::close);
            dp.live().add(entry);
            upstreamCounter.start();
            TcpRelay.relay((DuplexChannel) channel, upstream).whenComplete((v, e) -> {
                dp.live().remove(entry);
                c.complete();
            });
            hold.release(channel); // replays what the client sent meanwhile
            if (!channel.isActive()) {
                upstream.close();
            }
        });
    }
}
