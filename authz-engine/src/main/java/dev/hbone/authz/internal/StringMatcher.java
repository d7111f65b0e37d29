package dev.hbone.authz.internal;

import dev.hbone.authz.model.StringMatch;

/** exact / prefix / suffix / presence, optionally case-insensitive; never allocates when matching. */
public final class StringMatcher {
    static final int EXACT = 0;
    static final int PREFIX = 1;
    static final int SUFFIX = 2;
    static final int PRESENCE = 3;

    private final int kind;
    private final String value;
    private final boolean ignoreCase;

    private StringMatcher(int kind, String value, boolean ignoreCase) {
        this.kind = kind;
        this.value = value;
        this.ignoreCase = ignoreCase;
    }

    /** Istio notation: {@code *}, {@code prefix*}, {@code *suffix}, exact. */
    public static StringMatcher istio(String s, boolean ignoreCase) {
        return of(StringMatch.ofIstio(s), ignoreCase);
    }

    /** From the compact form. */
    public static StringMatcher of(StringMatch m, boolean ignoreCase) {
        int k = switch (m.kind()) {
            case EXACT -> EXACT;
            case PREFIX -> PREFIX;
            case SUFFIX -> SUFFIX;
            case PRESENCE -> PRESENCE;
        };
        return new StringMatcher(k, m.value(), ignoreCase);
    }

    /** The exact value if this is a case-sensitive exact match, else null. */
    public String exactValue() {
        return kind == EXACT && !ignoreCase ? value : null;
    }

    /** Returns true if {@code s} (null = attribute absent, which matches nothing) matches. */
    public boolean matches(String s) {
        if (s == null) {
            return false;
        }
        int vl = value.length();
        switch (kind) {
            case EXACT:
                return ignoreCase ? value.equalsIgnoreCase(s) : value.equals(s);
            case PREFIX:
                return s.regionMatches(ignoreCase, 0, value, 0, vl);
            case SUFFIX:
                return s.length() >= vl && s.regionMatches(ignoreCase, s.length() - vl, value, 0, vl);
            default:
                return !s.isEmpty();
        }
    }

    @Override
    public String toString() {
        return switch (kind) {
            case EXACT -> value;
            case PREFIX -> value + "*";
            case SUFFIX -> "*" + value;
            default -> "*";
        };
    }
}
