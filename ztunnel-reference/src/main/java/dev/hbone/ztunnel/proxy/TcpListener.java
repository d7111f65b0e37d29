package dev.hbone.ztunnel.proxy;

import dev.hbone.netty.internal.HalfClosedReadGuard;
import dev.hbone.netty.internal.Transports;
import dev.hbone.ztunnel.internal.ByteCounter;
import dev.hbone.ztunnel.internal.ReadHold;
import dev.hbone.ztunnel.internal.SoOriginalDst;
import dev.hbone.ztunnel.lifecycle.Drainable;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A plain TCP listener of the data path (15001, 15006, 15080): accepted sockets allow half-closure and start with
 * a {@link ByteCounter}; draining stops accepting and waits for the open connections.
 */
abstract class TcpListener implements Drainable {
    private static final Logger log = LoggerFactory.getLogger(TcpListener.class);

    final DataPath dp;
    final ConnectionTracker tracker = new ConnectionTracker();
    private final String kind;
    private final Channel serverChannel;

    TcpListener(DataPath dp, String kind, InetSocketAddress address, boolean transparent, boolean holdFromStart)
            throws IOException {
        this.dp = dp;
        this.kind = kind;
        ServerBootstrap b = new ServerBootstrap().group(dp.group()).channel(Transports.serverChannel())
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tracker.draining()) {
                            ch.close();
                            return;
                        }
                        tracker.add(ch);
                        ReadHold hold = new ReadHold(holdFromStart);
                        ByteCounter counter = new ByteCounter();
                        ch.pipeline().addLast(HalfClosedReadGuard.INSTANCE, hold, counter);
                        accepted(ch, counter, hold);
                    }
                });
        if (transparent && Transports.isEpoll()) {
            b.option(EpollChannelOption.IP_TRANSPARENT, true);
        }
        try {
            serverChannel = b.bind(address).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(kind + " " + address + ": interrupted while binding", e);
        } catch (Exception e) {
            throw new IOException(kind + " " + address + ": cannot bind: " + e.getMessage(), e);
        }
        if (transparent) {
            boolean on = serverChannel instanceof EpollServerSocketChannel e && e.config().isIpTransparent();
            if (on) {
                // loads JNA's libc binding now rather than on the first captured connection
                log.info("{} {}: IP_TRANSPARENT (TPROXY){}", kind, localAddress(),
                        SoOriginalDst.isAvailable() ? ", SO_ORIGINAL_DST (REDIRECT)" : "");
            } else {
                log.warn("{} {}: IP_TRANSPARENT could not be set (needs CAP_NET_ADMIN and epoll): connections "
                        + "must be redirected with REDIRECT (SO_ORIGINAL_DST), not TPROXY", kind,
                        localAddress());
            }
        }
    }

    /**
     * Handles an accepted connection (on its event loop, before it is active).
     *
     * @param hold holds what the client sends until the relay is in place; remove it from the pipeline then
     */
    abstract void accepted(SocketChannel channel, ByteCounter counter, ReadHold hold);

    /**
     * Returns the accepted connection's original destination ({@link DataPathOptions#originalDestination()}), or
     * null after closing it when that cannot be known (logged with the reason).
     */
    InetSocketAddress originalDestination(SocketChannel channel) {
        try {
            return dp.options().originalDestination().of(channel);
        } catch (RuntimeException e) {
            log.warn("{} connection from {} closed: cannot recover its original destination: {}", kind,
                    channel.remoteAddress(), e.getMessage());
            channel.close();
            return null;
        }
    }

    InetSocketAddress localAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    @Override
    public String name() {
        return kind + " " + localAddress();
    }

    @Override
    public CompletableFuture<Void> drain() {
        serverChannel.close();
        return tracker.drain();
    }

    @Override
    public void forceClose() {
        serverChannel.close();
        tracker.forceClose();
    }
}
