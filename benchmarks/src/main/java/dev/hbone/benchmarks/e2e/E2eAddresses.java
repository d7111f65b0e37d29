package dev.hbone.benchmarks.e2e;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/** IPv4 loopback addresses and ranges as the harness's processes pass them to each other. */
final class E2eAddresses {
    private E2eAddresses() { }

    /** {@code IP:PORT} (IPv4 literal). */
    static InetSocketAddress parse(String ipPort) {
        int colon = ipPort.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("not IP:PORT: " + ipPort);
        }
        return new InetSocketAddress(ip(ipPort.substring(0, colon)), Integer.parseInt(ipPort.substring(colon + 1)));
    }

    static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP literal: " + literal, e);
        }
    }

    static String format(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /**
     * {@code A.B.C.D} or {@code A.B.C.D+N}: N consecutive addresses from A.B.C.D, skipping those ending in .0 and
     * .255, so a range can cross /24 boundaries.
     */
    static List<InetAddress> range(String spec) {
        int plus = spec.indexOf('+');
        String first = plus < 0 ? spec : spec.substring(0, plus);
        int count = plus < 0 ? 1 : Integer.parseInt(spec.substring(plus + 1));
        byte[] b = ip(first).getAddress();
        long v = ((b[0] & 0xffL) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
        List<InetAddress> out = new ArrayList<>(count);
        while (out.size() < count) {
            int last = (int) (v & 0xff);
            if (last != 0 && last != 255) {
                try {
                    out.add(InetAddress.getByAddress(new byte[] {(byte) (v >> 24), (byte) (v >> 16), (byte) (v >> 8),
                                                                 (byte) v}));
                } catch (UnknownHostException e) {
                    throw new IllegalStateException(e);
                }
            }
            v++;
        }
        return out;
    }

    /** The {@code A.B.C.D+N} spec of {@code count} addresses starting at {@code first}. */
    static String spec(String first, int count) {
        return first + "+" + count;
    }
}
