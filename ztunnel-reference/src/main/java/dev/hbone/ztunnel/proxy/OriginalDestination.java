package dev.hbone.ztunnel.proxy;

import io.netty.channel.socket.SocketChannel;
import java.net.InetSocketAddress;

/**
 * Recovers the address a captured connection was originally made to (15001 outbound, 15006 inbound plaintext).
 * The production implementation is {@link #TPROXY}: the listener is {@code IP_TRANSPARENT} and the kernel accepts
 * the connection on its original destination, so the accepted socket's local address is that destination.
 */
@FunctionalInterface
public interface OriginalDestination {
    /** TPROXY: the accepted socket's local address. */
    OriginalDestination TPROXY = ch -> (InetSocketAddress) ch.localAddress();

    /**
     * Returns the original destination of an accepted connection.
     *
     * @param accepted the accepted socket
     * @return where the client meant to connect
     */
    InetSocketAddress of(SocketChannel accepted);
}
