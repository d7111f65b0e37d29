package dev.hbone.authz.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * IP addresses as two longs (IPv4 mapped into ::ffff:0:0/96), parsed strictly and without name resolution.
 */
public final class Ip {
    private Ip() {
    }

    /** Parses an IPv4 or IPv6 literal into {hi, lo}; throws IllegalArgumentException on anything else. */
    public static long[] parse(String s) {
        if (s.indexOf(':') < 0) {
            return new long[] {0L, 0xFFFF_0000_0000L | parseV4(s)};
        }
        if (s.indexOf('%') >= 0 || s.indexOf('[') >= 0 || s.indexOf('/') >= 0) {
            throw new IllegalArgumentException("not an IP address");
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c == ':' || c == '.' || Character.digit(c, 16) >= 0)) {
                throw new IllegalArgumentException("not an IP address");
            }
        }
        byte[] b;
        try {
            b = InetAddress.getByName(s).getAddress(); // a literal with ':' is never resolved
        } catch (UnknownHostException | RuntimeException e) {
            throw new IllegalArgumentException("not an IP address");
        }
        if (b.length == 4) {
            long v4 = ((b[0] & 0xFFL) << 24) | ((b[1] & 0xFFL) << 16) | ((b[2] & 0xFFL) << 8) | (b[3] & 0xFFL);
            return new long[] {0L, 0xFFFF_0000_0000L | v4};
        }
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = (hi << 8) | (b[i] & 0xFFL);
            lo = (lo << 8) | (b[i + 8] & 0xFFL);
        }
        return new long[] {hi, lo};
    }

    /** Returns true if {hi, lo} is an IPv4-mapped address. */
    public static boolean isV4(long hi, long lo) {
        return hi == 0 && (lo >>> 32) == 0xFFFFL;
    }

    private static long parseV4(String s) {
        long v = 0;
        int parts = 0;
        int i = 0;
        int n = s.length();
        while (true) {
            int start = i;
            int octet = 0;
            while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                octet = octet * 10 + (s.charAt(i) - '0');
                i++;
                if (i - start > 3) {
                    throw new IllegalArgumentException("not an IP address");
                }
            }
            if (i == start || octet > 255 || (i - start > 1 && s.charAt(start) == '0')) {
                throw new IllegalArgumentException("not an IP address");
            }
            v = (v << 8) | octet;
            parts++;
            if (i == n) {
                break;
            }
            if (s.charAt(i) != '.' || parts == 4) {
                throw new IllegalArgumentException("not an IP address");
            }
            i++;
        }
        if (parts != 4) {
            throw new IllegalArgumentException("not an IP address");
        }
        return v;
    }

    /** Formats {hi, lo} for explanations. */
    public static String format(long hi, long lo) {
        if (isV4(hi, lo)) {
            return ((lo >>> 24) & 0xFF) + "." + ((lo >>> 16) & 0xFF) + "." + ((lo >>> 8) & 0xFF) + "." + (lo & 0xFF);
        }
        byte[] b = new byte[16];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (hi >>> (56 - 8 * i));
            b[i + 8] = (byte) (lo >>> (56 - 8 * i));
        }
        try {
            return InetAddress.getByAddress(b).getHostAddress();
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
