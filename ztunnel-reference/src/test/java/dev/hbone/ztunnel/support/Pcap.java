package dev.hbone.ztunnel.support;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal reader of classic pcap files (as {@code tcpdump -w} writes them) for Ethernet or Linux "cooked"
 * captures of TCP over IPv4 or IPv6: each packet's addresses, ports and TCP payload. Enough to assert what crossed a link.
 */
public final class Pcap {
    /** One TCP segment. */
    public record Segment(String source, int sourcePort, String destination, int destinationPort, byte[] payload) {
    }

    private Pcap() {
    }

    /** Reads every TCP segment of {@code file}. */
    public static List<Segment> read(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        if (b.remaining() < 24) {
            throw new IOException(file + ": not a pcap file (" + b.remaining() + " bytes)");
        }
        int magic = b.order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
            b.order(ByteOrder.LITTLE_ENDIAN);
        } else if (Integer.reverseBytes(magic) == 0xa1b2c3d4 || Integer.reverseBytes(magic) == 0xa1b23c4d) {
            b.order(ByteOrder.BIG_ENDIAN);
        } else {
            throw new IOException(file + ": not a pcap file (magic " + Integer.toHexString(magic) + ")");
        }
        int linkType = b.getInt(20);
        int linkHeader = switch (linkType) {
            case 1 -> 14;    // Ethernet
            case 113 -> 16;  // Linux cooked (SLL)
            case 101 -> 0;   // raw IP
            default -> throw new IOException(file + ": link type " + linkType + " not supported");
        };
        List<Segment> segments = new ArrayList<>();
        int pos = 24;
        while (pos + 16 <= b.limit()) {
            int captured = b.getInt(pos + 8);
            int start = pos + 16;
            pos = start + captured;
            if (pos > b.limit()) {
                break; // truncated last record (capture stopped mid-write)
            }
            int ip = start + linkHeader;
            int end = start + captured;
            if (captured < linkHeader + 20) {
                continue;
            }
            int version = (b.get(ip) & 0xf0) >> 4;
            int tcp;
            int payloadEnd;
            String source;
            String destination;
            if (version == 4 && b.get(ip + 9) == 6) {
                tcp = ip + (b.get(ip) & 0x0f) * 4;
                payloadEnd = Math.min(ip + u16(b, ip + 2), end);
                source = address(b, ip + 12, 4);
                destination = address(b, ip + 16, 4);
            } else if (version == 6 && captured >= linkHeader + 40 && b.get(ip + 6) == 6) {
                tcp = ip + 40; // no extension headers on these links
                payloadEnd = Math.min(tcp + u16(b, ip + 4), end);
                source = address(b, ip + 8, 16);
                destination = address(b, ip + 24, 16);
            } else {
                continue; // not TCP
            }
            if (tcp + 20 > end) {
                continue;
            }
            int payloadStart = tcp + ((b.get(tcp + 12) & 0xf0) >> 4) * 4;
            byte[] payload = new byte[Math.max(0, payloadEnd - payloadStart)];
            for (int i = 0; i < payload.length; i++) {
                payload[i] = b.get(payloadStart + i);
            }
            segments.add(new Segment(source, u16(b, tcp), destination, u16(b, tcp + 2), payload));
        }
        return segments;
    }

    /** A network-order (big-endian) 16-bit field; the buffer's order is the file header's. */
    private static int u16(ByteBuffer b, int at) {
        return ((b.get(at) & 0xff) << 8) | (b.get(at + 1) & 0xff);
    }

    private static String address(ByteBuffer b, int at, int length) {
        byte[] a = new byte[length];
        for (int i = 0; i < length; i++) {
            a[i] = b.get(at + i);
        }
        try {
            return java.net.InetAddress.getByAddress(a).getHostAddress();
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e); // not for 4 or 16 bytes
        }
    }

    /** Returns true when {@code needle} occurs in {@code haystack}. */
    public static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
