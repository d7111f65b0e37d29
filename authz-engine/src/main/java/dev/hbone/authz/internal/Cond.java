package dev.hbone.authz.internal;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * One attribute test of a match: positive values (any) and negative values (none). Subclasses never allocate
 * while testing.
 */
public abstract class Cond {
    final String description;
    final boolean l7;

    Cond(String description, boolean l7) {
        this.description = description;
        this.l7 = l7;
    }

    /** Tests the attribute; {@code r} is null at L4. */
    public abstract boolean test(ConnectionFacts c, RequestFacts r);

    /** True if this needs an HTTP request. */
    public boolean isL7() {
        return l7;
    }

    @Override
    public String toString() {
        return description;
    }

    static boolean strings(StringMatcher[] pos, StringMatcher[] neg, String v) {
        if (pos != null) {
            boolean any = false;
            for (StringMatcher m : pos) {
                if (m.matches(v)) {
                    any = true;
                    break;
                }
            }
            if (!any) {
                return false;
            }
        }
        if (neg != null) {
            for (StringMatcher m : neg) {
                if (m.matches(v)) {
                    return false;
                }
            }
        }
        return true;
    }

    static boolean ips(Cidr[] pos, Cidr[] neg, boolean has, long hi, long lo) {
        if (pos != null) {
            boolean any = false;
            if (has) {
                for (Cidr m : pos) {
                    if (m.contains(hi, lo)) {
                        any = true;
                        break;
                    }
                }
            }
            if (!any) {
                return false;
            }
        }
        if (neg != null && has) {
            for (Cidr m : neg) {
                if (m.contains(hi, lo)) {
                    return false;
                }
            }
        }
        return true;
    }

    static String describe(String name, Object[] pos, Object[] neg) {
        StringBuilder sb = new StringBuilder();
        if (pos != null) {
            sb.append(name).append(' ').append(Arrays.toString(pos));
        }
        if (neg != null) {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append("not ").append(name).append(' ').append(Arrays.toString(neg));
        }
        return sb.toString();
    }

    /** Which string attribute a {@link StringCond} reads. */
    public enum Attr {
        /** Peer principal (L4). */
        PRINCIPAL(false),
        /** Peer namespace (L4). */
        NAMESPACE(false),
        /** JWT principal (L7). */
        REQUEST_PRINCIPAL(true),
        /** HTTP method (L7). */
        METHOD(true),
        /** Host, case-insensitive, port ignored when the pattern has none (L7). */
        HOST(true),
        /** JWT presenter (L7). */
        PRESENTER(true),
        /** JWT audiences, any (L7). */
        AUDIENCES(true),
        /** TLS SNI (L7 in Istio's classification). */
        SNI(true);

        final boolean l7;

        Attr(boolean l7) {
            this.l7 = l7;
        }
    }

    /** A string attribute. */
    public static final class StringCond extends Cond {
        private final Attr attr;
        private final StringMatcher[] pos;
        private final StringMatcher[] neg;

        /** Creates; null arrays mean "not set". */
        public StringCond(String name, Attr attr, StringMatcher[] pos, StringMatcher[] neg) {
            super(describe(name, pos, neg), attr.l7);
            this.attr = attr;
            this.pos = pos;
            this.neg = neg;
        }

        /** If this requires the peer principal to equal one of a few exact values: those values; else null. */
        public String[] exactPrincipals() {
            if (attr != Attr.PRINCIPAL || pos == null) {
                return null;
            }
            String[] out = new String[pos.length];
            for (int i = 0; i < pos.length; i++) {
                out[i] = pos[i].exactValue();
                if (out[i] == null) {
                    return null;
                }
            }
            return out;
        }

        @Override
        public boolean test(ConnectionFacts c, RequestFacts r) {
            switch (attr) {
                case PRINCIPAL:
                    return strings(pos, neg, c.principal);
                case NAMESPACE:
                    return strings(pos, neg, c.namespace);
                default:
                    break;
            }
            if (r == null) {
                return false;
            }
            switch (attr) {
                case REQUEST_PRINCIPAL:
                    return strings(pos, neg, r.requestPrincipal);
                case METHOD:
                    return strings(pos, neg, r.method);
                case PRESENTER:
                    return strings(pos, neg, r.presenter);
                case SNI:
                    return strings(pos, neg, r.sni);
                case HOST:
                    return hosts(r.host);
                case AUDIENCES:
                    return audiences(r.audiences);
                default:
                    return false;
            }
        }

        private boolean hosts(String host) {
            if (host == null) {
                return pos == null;
            }
            // Istio matches "example.com" against "example.com:8080" too: test the host with and without port.
            int colon = host.lastIndexOf(':');
            String bare = colon > 0 && host.indexOf(']') < colon ? host.substring(0, colon) : host;
            if (pos != null && !anyHost(pos, host, bare)) {
                return false;
            }
            return neg == null || !anyHost(neg, host, bare);
        }

        private static boolean anyHost(StringMatcher[] ms, String host, String bare) {
            for (StringMatcher m : ms) {
                if (m.matches(host) || m.matches(bare)) {
                    return true;
                }
            }
            return false;
        }

        private boolean audiences(List<String> auds) {
            boolean anyPos = pos == null;
            for (int i = 0; auds != null && i < auds.size(); i++) {
                String a = auds.get(i);
                if (neg != null && !strings(null, neg, a)) {
                    return false;
                }
                if (!anyPos && strings(pos, null, a)) {
                    anyPos = true;
                }
            }
            return anyPos;
        }
    }

    /** Service accounts of the peer identity ({@code ns/sa}). */
    public static final class ServiceAccountCond extends Cond {
        private final String[] posNs;
        private final String[] posSa;
        private final String[] negNs;
        private final String[] negSa;

        /** Creates from parallel arrays; null = not set. */
        public ServiceAccountCond(String[] posNs, String[] posSa, String[] negNs, String[] negSa) {
            super(describe("serviceAccounts", join(posNs, posSa), join(negNs, negSa)), false);
            this.posNs = posNs;
            this.posSa = posSa;
            this.negNs = negNs;
            this.negSa = negSa;
        }

        private static String[] join(String[] ns, String[] sa) {
            if (ns == null) {
                return null;
            }
            String[] out = new String[ns.length];
            for (int i = 0; i < ns.length; i++) {
                out[i] = ns[i] + "/" + sa[i];
            }
            return out;
        }

        private static boolean any(String[] ns, String[] sa, ConnectionFacts c) {
            if (c.namespace == null || c.serviceAccount == null) {
                return false;
            }
            for (int i = 0; i < ns.length; i++) {
                if (ns[i].equals(c.namespace) && sa[i].equals(c.serviceAccount)) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public boolean test(ConnectionFacts c, RequestFacts r) {
            if (posNs != null && !any(posNs, posSa, c)) {
                return false;
            }
            return negNs == null || !any(negNs, negSa, c);
        }
    }

    /** Which IP a {@link IpCond} reads. */
    public enum IpAttr {
        /** Peer (connection source) IP. */
        SOURCE,
        /** Destination IP. */
        DESTINATION,
        /** Original client IP (L7). */
        REMOTE
    }

    /** CIDR sets. */
    public static final class IpCond extends Cond {
        private final IpAttr attr;
        private final Cidr[] pos;
        private final Cidr[] neg;

        /** Creates; null arrays mean "not set". */
        public IpCond(String name, IpAttr attr, Cidr[] pos, Cidr[] neg) {
            super(describe(name, pos, neg), attr == IpAttr.REMOTE);
            this.attr = attr;
            this.pos = pos;
            this.neg = neg;
        }

        @Override
        public boolean test(ConnectionFacts c, RequestFacts r) {
            switch (attr) {
                case SOURCE:
                    return ips(pos, neg, c.hasSrc, c.srcHi, c.srcLo);
                case DESTINATION:
                    return ips(pos, neg, c.hasDst, c.dstHi, c.dstLo);
                default:
                    if (r == null) {
                        return false;
                    }
                    // Without a forwarded client address the remote IP is the peer's.
                    return r.hasRemote ? ips(pos, neg, true, r.remoteHi, r.remoteLo)
                            : ips(pos, neg, c.hasSrc, c.srcHi, c.srcLo);
            }
        }
    }

    /** Destination ports. */
    public static final class PortCond extends Cond {
        private final int[] pos;
        private final int[] neg;

        /** Creates; null arrays mean "not set". */
        public PortCond(int[] pos, int[] neg) {
            super(describe("ports", pos == null ? null : Arrays.stream(pos).boxed().toArray(),
                    neg == null ? null : Arrays.stream(neg).boxed().toArray()), false);
            this.pos = pos;
            this.neg = neg;
        }

        @Override
        public boolean test(ConnectionFacts c, RequestFacts r) {
            if (pos != null) {
                boolean any = false;
                for (int p : pos) {
                    if (p == c.port) {
                        any = true;
                        break;
                    }
                }
                if (!any) {
                    return false;
                }
            }
            if (neg != null) {
                for (int p : neg) {
                    if (p == c.port) {
                        return false;
                    }
                }
            }
            return true;
        }
    }

    /** Request paths. */
    public static final class PathCond extends Cond {
        private final PathMatcher[] pos;
        private final PathMatcher[] neg;

        /** Creates; null arrays mean "not set". */
        public PathCond(PathMatcher[] pos, PathMatcher[] neg) {
            super(describe("paths", pos, neg), true);
            this.pos = pos;
            this.neg = neg;
        }

        @Override
        public boolean test(ConnectionFacts c, RequestFacts r) {
            if (r == null) {
                return false;
            }
            if (pos != null) {
                boolean any = false;
                for (PathMatcher m : pos) {
                    if (m.matches(r.path)) {
                        any = true;
                        break;
                    }
                }
                if (!any) {
                    return false;
                }
            }
            if (neg != null) {
                for (PathMatcher m : neg) {
                    if (m.matches(r.path)) {
                        return false;
                    }
                }
            }
            return true;
        }
    }

    /** {@code request.headers[name]}. */
    public static final class HeaderCond extends Cond {
        private final String name;
        private final StringMatcher[] pos;
        private final StringMatcher[] neg;

        /** Creates for a lower-case header name. */
        public HeaderCond(String name, StringMatcher[] pos, StringMatcher[] neg) {
            super(describe("request.headers[" + name + "]", pos, neg), true);
            this.name = name;
            this.pos = pos;
            this.neg = neg;
        }

        @Override
        public boolean test(ConnectionFacts c, RequestFacts r) {
            return r != null && strings(pos, neg, r.headers.get(name));
        }
    }

    /** {@code request.auth.claims[a][b]}: a string claim, or any element of a list claim. */
    public static final class ClaimCond extends Cond {
        private final String[] path;
        private final StringMatcher[] pos;
        private final StringMatcher[] neg;

        /** Creates for a claim path. */
        public ClaimCond(String[] path, StringMatcher[] pos, StringMatcher[] neg) {
            super(describe("request.auth.claims" + Arrays.toString(path), pos, neg), true);
            this.path = path;
            this.pos = pos;
            this.neg = neg;
        }

        @Override
        public boolean test(ConnectionFacts c, RequestFacts r) {
            if (r == null) {
                return false;
            }
            Object v = r.claims;
            for (String p : path) {
                if (!(v instanceof Map<?, ?> m)) {
                    v = null;
                    break;
                }
                v = m.get(p);
            }
            if (v instanceof List<?> list) {
                boolean anyPos = pos == null;
                for (int i = 0; i < list.size(); i++) {
                    String s = String.valueOf(list.get(i));
                    if (neg != null && !strings(null, neg, s)) {
                        return false;
                    }
                    if (!anyPos && strings(pos, null, s)) {
                        anyPos = true;
                    }
                }
                return anyPos;
            }
            return strings(pos, neg, v == null ? null : (v instanceof String s ? s : String.valueOf(v)));
        }
    }

    /** A constant: used for the L7 parts of a DENY rule in fail-closed L4 conversion. */
    public static final class ConstCond extends Cond {
        private final boolean value;

        /** Creates. */
        public ConstCond(boolean value, String description) {
            super(description, false);
            this.value = value;
        }

        @Override
        public boolean test(ConnectionFacts c, RequestFacts r) {
            return value;
        }
    }
}
