package dev.hbone.ztunnel.internal;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Optional;

/**
 * {@code getsockopt(fd, SOL_IP, SO_ORIGINAL_DST)} (IPv6: {@code SOL_IPV6, IP6T_SO_ORIGINAL_DST}): where a connection
 * accepted after an iptables {@code REDIRECT} (or any DNAT) was originally going. Linux only, through JNA; the
 * kernel answers from the connection-tracking entry, so a connection that was not NATed yields its own local
 * address (or {@code ENOENT} when conntrack never saw it).
 */
public final class SoOriginalDst {
    private static final int SOL_IP = 0;
    private static final int SOL_IPV6 = 41;
    private static final int SO_ORIGINAL_DST = 80; // also IP6T_SO_ORIGINAL_DST
    private static final int AF_INET = 2;
    private static final int AF_INET6 = 10;
    private static final int ENOENT = 2;

    private static final LibC LIBC = load();

    private SoOriginalDst() {
    }

    interface LibC extends Library {
        int getsockopt(int fd, int level, int optname, Pointer optval, IntByReference optlen)
                throws LastErrorException;
    }

    private static LibC load() {
        if (!Platform.isLinux()) {
            return null;
        }
        try {
            return Native.load("c", LibC.class);
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return null;
        }
    }

    /** Returns true when the call is possible here (Linux, libc loaded through JNA). */
    public static boolean isAvailable() {
        return LIBC != null;
    }

    /**
     * Returns the original destination of an accepted socket.
     *
     * @param fd the socket's file descriptor
     * @param ipv6 whether the socket is IPv6 (asks {@code SOL_IPV6})
     * @return the original destination, or empty when the kernel has no NAT record of the connection
     * @throws IllegalStateException when the call is not possible here or fails for another reason than
     *     {@code ENOENT} (the message names the errno)
     */
    public static Optional<InetSocketAddress> of(int fd, boolean ipv6) {
        if (LIBC == null) {
            throw new IllegalStateException("SO_ORIGINAL_DST needs Linux and JNA's libc binding");
        }
        int size = ipv6 ? 28 : 16; // sockaddr_in6 / sockaddr_in
        Memory buf = new Memory(size);
        buf.clear();
        IntByReference len = new IntByReference(size);
        try {
            LIBC.getsockopt(fd, ipv6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST, buf, len);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == ENOENT) {
                return Optional.empty();
            }
            throw new IllegalStateException("getsockopt(" + fd + ", " + (ipv6 ? "SOL_IPV6" : "SOL_IP")
                    + ", SO_ORIGINAL_DST) failed: errno " + e.getErrorCode(), e);
        }
        return Optional.of(decode(buf.getByteArray(0, Math.min(len.getValue(), size))));
    }

    /** Decodes a {@code sockaddr_in} or {@code sockaddr_in6} (family in host order, port in network order). */
    static InetSocketAddress decode(byte[] sa) {
        boolean bigEndian = java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.BIG_ENDIAN;
        int family = bigEndian ? ((sa[0] & 0xff) << 8) | (sa[1] & 0xff) : ((sa[1] & 0xff) << 8) | (sa[0] & 0xff);
        int port = ((sa[2] & 0xff) << 8) | (sa[3] & 0xff);
        byte[] address;
        if (family == AF_INET && sa.length >= 8) {
            address = java.util.Arrays.copyOfRange(sa, 4, 8);
        } else if (family == AF_INET6 && sa.length >= 24) {
            address = java.util.Arrays.copyOfRange(sa, 8, 24);
        } else {
            throw new IllegalStateException("SO_ORIGINAL_DST: unexpected address family " + family
                    + " (" + sa.length + " bytes)");
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(address), port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // not for a 4- or 16-byte array
        }
    }
}
