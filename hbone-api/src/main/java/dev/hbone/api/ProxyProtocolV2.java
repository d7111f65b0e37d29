package dev.hbone.api;

import io.spiffe.spiffeid.SpiffeId;

import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static java.util.Objects.requireNonNull;

/**
 * Writes the PROXY protocol v2 header that an HBONE receiver sends to an application tunnel of type PROXY (the
 * waypoint "sandwich"): command PROXY over TCP, source = original client, destination = HBONE target, plus a TLV
 * of type {@value #PP2_TYPE_SPIFFE_ID} carrying the client's SPIFFE ID.
 */
public final class ProxyProtocolV2 {
    /** The TLV type Istio uses for the peer's SPIFFE ID. */
    public static final int PP2_TYPE_SPIFFE_ID = 0xD0;

    private static final byte[] SIGNATURE = {
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
    };

    private ProxyProtocolV2() { }

    /**
     * Encodes the header.
     *
     * @param source the original client (must be the same address family as {@code destination})
     * @param destination the HBONE target
     * @param peerIdentity the client's SPIFFE ID, carried in TLV 0xD0
     * @return a buffer positioned at 0 holding exactly the header
     */
    public static ByteBuffer encode(InetSocketAddress source, InetSocketAddress destination, SpiffeId peerIdentity) {
        requireNonNull(source, "source");
        requireNonNull(destination, "destination");
        requireNonNull(peerIdentity, "peerIdentity");
        byte[] src = requireNonNull(source.getAddress(), "source is unresolved").getAddress();
        byte[] dst = requireNonNull(destination.getAddress(), "destination is unresolved").getAddress();
        if (src.length != dst.length) {
            throw new IllegalArgumentException("source and destination must be the same address family");
        }
        byte[] id = peerIdentity.toString().getBytes(StandardCharsets.UTF_8);
        if (id.length > 0xFFFF) {
            throw new IllegalArgumentException("SPIFFE ID too long for a TLV");
        }
        boolean v4 = source.getAddress() instanceof Inet4Address;
        int addrLen = v4 ? 12 : 36;
        int len = addrLen + 3 + id.length;
        ByteBuffer out = ByteBuffer.allocate(16 + len);
        out.put(SIGNATURE);
        out.put((byte) 0x21);                   // version 2, command PROXY
        out.put((byte) (v4 ? 0x11 : 0x21));     // TCP over IPv4 / IPv6
        out.putShort((short) len);
        out.put(src).put(dst);
        out.putShort((short) source.getPort()).putShort((short) destination.getPort());
        out.put((byte) PP2_TYPE_SPIFFE_ID).putShort((short) id.length).put(id);
        return out.flip();
    }
}
