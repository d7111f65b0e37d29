package dev.hbone.ztunnel.proxy;

import dev.hbone.ztunnel.internal.ByteCounter;
import dev.hbone.ztunnel.internal.ReadHold;
import dev.hbone.ztunnel.state.Workload;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.SocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbound capture listener (15001): connections redirected from the workloads by TPROXY or REDIRECT; the
 * original destination is the accepted socket's local address or its {@code SO_ORIGINAL_DST}
 * ({@link OriginalDestination#AUTO}). The source workload is
 * the local workload owning the client's address; any other source is refused.
 */
final class OutboundListener extends TcpListener {
    private static final Logger log = LoggerFactory.getLogger(OutboundListener.class);

    private final Outbound outbound;

    OutboundListener(DataPath dp, InetSocketAddress address) throws IOException {
        super(dp, "outbound", address, dp.options().transparent(), true);
        this.outbound = new Outbound(dp);
    }

    @Override
    void accepted(SocketChannel channel, ByteCounter counter, ReadHold hold) {
        InetSocketAddress client = channel.remoteAddress();
        Optional<Workload> source = dp.outboundRouter().findSource(dp.state(), client.getAddress());
        if (source.isEmpty()) {
            log.info("outbound connection from {} refused: no local workload has that address", client);
            channel.close();
            return;
        }
        InetSocketAddress destination = originalDestination(channel);
        if (destination == null) {
            return;
        }
        outbound.open((DuplexChannel) channel, counter, hold, source.get(), destination, tracker)
                .whenComplete((relay, error) -> channel.eventLoop().execute(() -> {
                    if (error != null) {
                        channel.close();
                    } else {
                        relay.accept(null); // replays what the hold kept
                    }
                }));
    }
}
