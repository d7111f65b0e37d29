package dev.hbone.authz.internal;

/** A pre-parsed CIDR: two masked longs and two masks; {@link #contains} is four ANDs and two compares. */
public final class Cidr {
    private final long netHi;
    private final long netLo;
    private final long maskHi;
    private final long maskLo;
    private final String text;

    private Cidr(long netHi, long netLo, long maskHi, long maskLo, String text) {
        this.netHi = netHi & maskHi;
        this.netLo = netLo & maskLo;
        this.maskHi = maskHi;
        this.maskLo = maskLo;
        this.text = text;
    }

    /** Parses {@code a.b.c.d}, {@code a.b.c.d/n}, IPv6 and IPv6/n; throws IllegalArgumentException otherwise. */
    public static Cidr parse(String s) {
        int slash = s.indexOf('/');
        String addr = slash < 0 ? s : s.substring(0, slash);
        long[] ip = Ip.parse(addr);
        boolean v4 = addr.indexOf(':') < 0;
        int max = v4 ? 32 : 128;
        int bits = max;
        if (slash >= 0) {
            String p = s.substring(slash + 1);
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')
                    || (p.length() > 1 && p.charAt(0) == '0')) {
                throw new IllegalArgumentException("bad prefix length");
            }
            bits = Integer.parseInt(p);
            if (bits > max) {
                throw new IllegalArgumentException("prefix length > " + max);
            }
        }
        int total = v4 ? 96 + bits : bits;
        long maskHi = total >= 64 ? -1L : (total == 0 ? 0L : -1L << (64 - total));
        long maskLo = total <= 64 ? 0L : (total == 128 ? -1L : -1L << (128 - total));
        return new Cidr(ip[0], ip[1], maskHi, maskLo, s);
    }

    /** Returns true if the address {hi, lo} is inside. */
    public boolean contains(long hi, long lo) {
        return (hi & maskHi) == netHi && (lo & maskLo) == netLo;
    }

    @Override
    public String toString() {
        return text;
    }
}
