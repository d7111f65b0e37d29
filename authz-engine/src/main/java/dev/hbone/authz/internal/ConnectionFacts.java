package dev.hbone.authz.internal;

/** The L4 attributes of one connection, pre-parsed for allocation-free matching. */
public final class ConnectionFacts {
    /** Source identity without {@code spiffe://}, or null for plaintext. */
    public final String principal;
    /** Namespace taken from the identity, or null. */
    public final String namespace;
    /** Service account taken from the identity, or null. */
    public final String serviceAccount;
    /** Source IP (IPv4 mapped into IPv6) and whether it is known. */
    public final long srcHi;
    /** Low half of the source IP. */
    public final long srcLo;
    /** True if the source IP is known. */
    public final boolean hasSrc;
    /** High half of the destination IP. */
    public final long dstHi;
    /** Low half of the destination IP. */
    public final long dstLo;
    /** True if the destination IP is known. */
    public final boolean hasDst;
    /** Destination port, 0 if unknown. */
    public final int port;

    /** Creates the facts. */
    public ConnectionFacts(String principal, String namespace, String serviceAccount, long[] src, long[] dst, int port) {
        this.principal = principal;
        this.namespace = namespace;
        this.serviceAccount = serviceAccount;
        this.hasSrc = src != null;
        this.srcHi = src == null ? 0 : src[0];
        this.srcLo = src == null ? 0 : src[1];
        this.hasDst = dst != null;
        this.dstHi = dst == null ? 0 : dst[0];
        this.dstLo = dst == null ? 0 : dst[1];
        this.port = port;
    }
}
