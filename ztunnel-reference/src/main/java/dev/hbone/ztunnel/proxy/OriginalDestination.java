package dev.hbone.ztunnel.proxy;

import dev.hbone.ztunnel.internal.SoOriginalDst;
import io.netty.channel.unix.UnixChannel;
import io.netty.channel.socket.SocketChannel;
import java.net.Inet4Address;
import java.net.InetSocketAddress;

/**
 * Recovers the address a captured connection was originally made to (15001 outbound, 15006 inbound plaintext).
 * Two kinds of capture exist on Linux, and {@link #AUTO} (the production default) handles both:
 * <ul>
 *   <li>TPROXY ({@code mangle} table, {@code IP_TRANSPARENT} listener): the kernel accepts the connection on its
 *       original destination, so the accepted socket's local address is that destination ({@link #TPROXY});</li>
 *   <li>REDIRECT ({@code nat} table, ztunnel's in-pod mode): the connection is NATed to the listener, and the
 *       original destination is {@code getsockopt(SO_ORIGINAL_DST)} ({@link #REDIRECT}).</li>
 * </ul>
 */
@FunctionalInterface
public interface OriginalDestination {
    /** TPROXY: the accepted socket's local address. */
    OriginalDestination TPROXY = ch -> (InetSocketAddress) ch.localAddress();

    /**
     * REDIRECT: {@code SO_ORIGINAL_DST} of the accepted socket (epoll transport, Linux); the local address when
     * the kernel has no NAT record of the connection.
     *
     * @throws IllegalStateException from {@code of} when the socket is not an epoll socket or the call fails
     */
    OriginalDestination REDIRECT = ch -> {
        if (!(ch instanceof UnixChannel epoll)) {
            throw new IllegalStateException("SO_ORIGINAL_DST needs the epoll transport, not "
                    + ch.getClass().getSimpleName());
        }
        boolean ipv6 = !(ch.remoteAddress().getAddress() instanceof Inet4Address);
        return SoOriginalDst.of(epoll.fd().intValue(), ipv6).orElse((InetSocketAddress) ch.localAddress());
    };

    /**
     * Either capture: {@link #REDIRECT} where it is possible (a NATed connection has its original destination in
     * conntrack; a TPROXY or direct connection yields its own local address), else {@link #TPROXY}.
     */
    OriginalDestination AUTO = ch -> ch instanceof UnixChannel && SoOriginalDst.isAvailable()
            ? REDIRECT.of(ch) : TPROXY.of(ch);

    /**
     * Returns the original destination of an accepted connection.
     *
     * @param accepted the accepted socket
     * @return where the client meant to connect
     */
    InetSocketAddress of(SocketChannel accepted);
}
