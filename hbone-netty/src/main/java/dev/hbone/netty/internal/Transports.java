package dev.hbone.netty.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;

/** Native epoll when it loads, NIO otherwise. */
public final class Transports {
    private static final boolean EPOLL = !Boolean.getBoolean("hbone.noEpoll") && Epoll.isAvailable();

    private Transports() { }

    public static boolean isEpoll() {
        return EPOLL;
    }

    public static EventLoopGroup newGroup(int threads, String name) {
        IoHandlerFactory factory = EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
    }

    public static Class<? extends SocketChannel> socketChannel() {
        return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /**
     * Connects a new channel of {@code bootstrap} (a fresh one per call: it gets an option) to {@code remote}, from
     * {@code sourceIp} when given (any port), else from wherever the kernel routes.
     *
     * <p>With a source IP, the local port is picked at {@code connect()}, by the whole 4-tuple
     * ({@code IP_BIND_ADDRESS_NO_PORT}, with epoll), as when no address is bound. A plain {@code bind(ip, 0)} picks it
     * at bind time, among the ports no socket of that IP holds — its own TIME_WAITs included: a proxy opening
     * connections from one workload's IP, and closing them first, ran out of ports after ~28 000 connections in a
     * minute ({@code EADDRINUSE}), each bind slower than the last as the range filled.
     *
     * @return the connect future (its channel is the new one)
     */
    public static ChannelFuture connect(Bootstrap bootstrap, SocketAddress remote, InetAddress sourceIp) {
        if (sourceIp == null) {
            return bootstrap.connect(remote);
        }
        if (EPOLL) {
            bootstrap.option(EpollChannelOption.IP_BIND_ADDRESS_NO_PORT, true);
        }
        return bootstrap.connect(remote, new InetSocketAddress(sourceIp, 0));
    }

    public static Class<? extends ServerChannel> serverChannel() {
        return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    /**
     * Fails {@code connecting} with a {@link ConnectTimeoutException} and closes its channel unless it completes within
     * {@code millis}, as Netty's {@code CONNECT_TIMEOUT_MILLIS} does (set that option to 0 on the bootstrap) — but the
     * timer is dropped once the connection is made, where Netty's epoll and NIO channels keep their cancelled timer
     * task for the rest of their life (~90 B of heap per proxied connection).
     *
     * @return {@code connecting}
     */
    public static ChannelFuture connectTimeout(ChannelFuture connecting, long millis, SocketAddress target) {
        if (connecting.isDone() || millis <= 0) {
            return connecting;
        }
        Channel ch = connecting.channel();
        ScheduledFuture<?> timer = ch.eventLoop().schedule(() -> {
            if (!connecting.isDone() && (!(connecting instanceof ChannelPromise p) || p.tryFailure(
                    new ConnectTimeoutException("connection timed out after " + millis + " ms: " + target)))) {
                ch.close();
            }
        }, millis, TimeUnit.MILLISECONDS);
        connecting.addListener(f -> timer.cancel(false));
        return connecting;
    }
}
