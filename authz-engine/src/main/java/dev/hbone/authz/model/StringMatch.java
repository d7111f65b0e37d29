package dev.hbone.authz.model;

import static java.util.Objects.requireNonNull;

/**
 * A string match of ztunnel's compact form: {@code {exact|prefix|suffix: s}} or {@code {presence: {}}}.
 *
 * @param kind  how to compare
 * @param value the operand ({@code ""} for presence)
 */
public record StringMatch(Kind kind, String value) {
    /** The comparison. */
    public enum Kind {
        /** Equal. */
        EXACT,
        /** Starts with. */
        PREFIX,
        /** Ends with. */
        SUFFIX,
        /** Non-empty. */
        PRESENCE
    }

    /** Validates. */
    public StringMatch {
        requireNonNull(kind, "kind");
        requireNonNull(value, "value");
    }

    /** Parses Istio's wildcard notation: {@code *}, {@code prefix*}, {@code *suffix} or an exact value. */
    public static StringMatch ofIstio(String s) {
        requireNonNull(s, "s");
        if (s.equals("*")) {
            return new StringMatch(Kind.PRESENCE, "");
        }
        if (s.startsWith("*")) {
            return new StringMatch(Kind.SUFFIX, s.substring(1));
        }
        if (s.endsWith("*")) {
            return new StringMatch(Kind.PREFIX, s.substring(0, s.length() - 1));
        }
        return new StringMatch(Kind.EXACT, s);
    }
}
