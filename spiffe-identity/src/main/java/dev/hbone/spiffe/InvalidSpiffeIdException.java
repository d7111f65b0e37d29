package dev.hbone.spiffe;

import static java.util.Objects.requireNonNull;

/**
 * A string that is not a valid SPIFFE ID (or trust domain name). Carries the {@link Rule} it breaks and the offending
 * input, so callers can count and report refusals precisely.
 *
 * <p>Extends java-spiffe's exception so code that already catches
 * {@link io.spiffe.exception.InvalidSpiffeIdException} keeps working.
 */
public final class InvalidSpiffeIdException extends io.spiffe.exception.InvalidSpiffeIdException {
    private static final long serialVersionUID = 1L;

    /** The rule of the SPIFFE ID specification that an input breaks. */
    public enum Rule {
        /** The input is empty. */
        EMPTY,
        /** The ID is longer than 2048 bytes. */
        TOO_LONG,
        /** The scheme is not exactly {@code spiffe://} (lower case). */
        WRONG_SCHEME,
        /** There is no trust domain after {@code spiffe://}. */
        MISSING_TRUST_DOMAIN,
        /** The trust domain name is longer than 255 bytes. */
        TRUST_DOMAIN_TOO_LONG,
        /** The trust domain holds a character outside {@code [a-z0-9.-_]}. */
        BAD_TRUST_DOMAIN_CHAR,
        /** The authority carries a port ({@code :}). */
        PORT,
        /** The authority carries user information ({@code @}). */
        USERINFO,
        /** The ID carries a query ({@code ?}). */
        QUERY,
        /** The ID carries a fragment ({@code #}). */
        FRAGMENT,
        /** The ID contains percent-encoding ({@code %}), which SPIFFE forbids. */
        PERCENT_ENCODING,
        /** The ID has no path (it names a trust domain, not a workload). */
        MISSING_PATH,
        /** The path ends with a slash. */
        TRAILING_SLASH,
        /** The path has an empty segment ({@code //}). */
        EMPTY_SEGMENT,
        /** The path has a {@code .} or {@code ..} segment. */
        DOT_SEGMENT,
        /** A path segment holds a character outside {@code [a-zA-Z0-9.-_]}. */
        BAD_PATH_CHAR
    }

    private final Rule rule;
    private final String value;

    /**
     * Creates the exception.
     *
     * @param rule the rule broken
     * @param value the offending input (the whole ID, or the part that was being validated)
     */
    public InvalidSpiffeIdException(Rule rule, String value) {
        super(requireNonNull(rule, "rule") + ": " + describe(rule) + " [" + abbreviate(requireNonNull(value, "value")) + "]");
        this.rule = rule;
        this.value = value;
    }

    /** Returns the rule the input breaks. */
    public Rule rule() {
        return rule;
    }

    /** Returns the offending input. */
    public String value() {
        return value;
    }

    private static String abbreviate(String value) {
        return value.length() <= 256 ? value : value.substring(0, 256) + "...(" + value.length() + " chars)";
    }

    private static String describe(Rule rule) {
        switch (rule) {
            case EMPTY: return "SPIFFE ID is empty";
            case TOO_LONG: return "SPIFFE ID is longer than 2048 bytes";
            case WRONG_SCHEME: return "scheme must be spiffe://";
            case MISSING_TRUST_DOMAIN: return "trust domain is missing";
            case TRUST_DOMAIN_TOO_LONG: return "trust domain is longer than 255 bytes";
            case BAD_TRUST_DOMAIN_CHAR: return "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores";
            case PORT: return "a port is not allowed";
            case USERINFO: return "user info is not allowed";
            case QUERY: return "a query is not allowed";
            case FRAGMENT: return "a fragment is not allowed";
            case PERCENT_ENCODING: return "percent-encoding is not allowed";
            case MISSING_PATH: return "a workload SPIFFE ID must have a path";
            case TRAILING_SLASH: return "path cannot have a trailing slash";
            case EMPTY_SEGMENT: return "path cannot contain empty segments";
            case DOT_SEGMENT: return "path cannot contain dot segments";
            case BAD_PATH_CHAR: return "path segment characters are limited to letters, numbers, dots, dashes, and underscores";
            default: throw new AssertionError(rule);
        }
    }
}
