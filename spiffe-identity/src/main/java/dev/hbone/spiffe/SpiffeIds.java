package dev.hbone.spiffe;

import static java.util.Objects.requireNonNull;

import dev.hbone.spiffe.InvalidSpiffeIdException.Rule;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Strict parsing and construction of SPIFFE IDs per the SPIFFE ID specification.
 *
 * <p>A workload SPIFFE ID is {@code spiffe://<trust domain><path>}: the scheme is exactly {@code spiffe}, the trust
 * domain holds only {@code [a-z0-9.-_]}, the path is one or more {@code /segment}s of {@code [a-zA-Z0-9.-_]}, with no
 * empty, {@code .} or {@code ..} segment, no trailing slash, no percent-encoding, no port, user info, query or
 * fragment, and the whole ID is at most 2048 bytes. Every refusal is an {@link InvalidSpiffeIdException} naming the
 * {@link Rule} it breaks. The result is java-spiffe's {@link SpiffeId}, which the rest of the module uses.
 */
public final class SpiffeIds {
    /** Maximum length of a SPIFFE ID, in bytes. */
    public static final int MAX_ID_LENGTH = 2048;
    /** Maximum length of a trust domain name, in bytes. */
    public static final int MAX_TRUST_DOMAIN_LENGTH = 255;

    private static final String PREFIX = "spiffe://";

    private SpiffeIds() {
    }

    /**
     * Parses a workload SPIFFE ID (one with a path).
     *
     * @param id the ID, e.g. {@code spiffe://cluster.local/ns/default/sa/bookinfo}
     * @return the ID
     * @throws InvalidSpiffeIdException naming the rule the input breaks
     */
    public static SpiffeId parse(String id) {
        requireNonNull(id, "id");
        if (id.isEmpty()) {
            throw new InvalidSpiffeIdException(Rule.EMPTY, id);
        }
        if (id.length() > MAX_ID_LENGTH || utf8Length(id) > MAX_ID_LENGTH) {
            throw new InvalidSpiffeIdException(Rule.TOO_LONG, id);
        }
        if (!id.startsWith(PREFIX)) {
            throw new InvalidSpiffeIdException(Rule.WRONG_SCHEME, id);
        }
        int pathStart = id.indexOf('/', PREFIX.length());
        String authority = pathStart < 0 ? id.substring(PREFIX.length()) : id.substring(PREFIX.length(), pathStart);
        String path = pathStart < 0 ? "" : id.substring(pathStart);
        String trustDomain = checkAuthority(authority, id);
        checkPath(path, id);
        // Everything was checked above; java-spiffe's own checks are a subset of ours.
        return TrustDomain.parse(trustDomain).newSpiffeId(path.substring(1).split("/", -1));
    }

    /**
     * Returns whether {@code id} is a valid workload SPIFFE ID.
     *
     * @param id the candidate
     * @return true if {@link #parse(String)} would accept it
     */
    public static boolean isValid(String id) {
        requireNonNull(id, "id");
        try {
            parse(id);
            return true;
        } catch (InvalidSpiffeIdException e) {
            return false;
        }
    }

    /**
     * Parses a trust domain name ({@code example.org}) or a trust domain ID ({@code spiffe://example.org}).
     *
     * @param trustDomain the name or ID
     * @return the trust domain
     * @throws InvalidSpiffeIdException naming the rule the input breaks
     */
    public static TrustDomain trustDomain(String trustDomain) {
        requireNonNull(trustDomain, "trustDomain");
        String name = trustDomain;
        if (trustDomain.contains("://")) {
            if (!trustDomain.startsWith(PREFIX)) {
                throw new InvalidSpiffeIdException(Rule.WRONG_SCHEME, trustDomain);
            }
            name = trustDomain.substring(PREFIX.length());
            if (name.indexOf('/') >= 0) {
                throw new InvalidSpiffeIdException(Rule.BAD_TRUST_DOMAIN_CHAR, trustDomain);
            }
        }
        return TrustDomain.parse(checkAuthority(name, trustDomain));
    }

    /**
     * Builds a Kubernetes workload identity {@code spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>}.
     *
     * @param trustDomain the trust domain name, e.g. {@code cluster.local}
     * @param namespace the namespace
     * @param serviceAccount the service account
     * @return the ID
     * @throws InvalidSpiffeIdException if a part is not valid in a SPIFFE ID
     */
    public static SpiffeId kubernetes(String trustDomain, String namespace, String serviceAccount) {
        requireNonNull(trustDomain, "trustDomain");
        requireNonNull(namespace, "namespace");
        requireNonNull(serviceAccount, "serviceAccount");
        // Each part is exactly one path segment; a '/' inside would silently build a different identity.
        if (namespace.indexOf('/') >= 0) {
            throw new InvalidSpiffeIdException(Rule.BAD_PATH_CHAR, namespace);
        }
        if (serviceAccount.indexOf('/') >= 0) {
            throw new InvalidSpiffeIdException(Rule.BAD_PATH_CHAR, serviceAccount);
        }
        return parse(PREFIX + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount);
    }

    /**
     * Returns the Kubernetes parts of an ID whose path is exactly {@code /ns/<namespace>/sa/<serviceAccount>}.
     *
     * @param id the ID
     * @return the parts, or empty if the ID does not have the Kubernetes form
     */
    public static Optional<KubernetesIdentity> kubernetesParts(SpiffeId id) {
        requireNonNull(id, "id");
        String path = id.getPath();
        // "/ns/" + ns + "/sa/" + sa, with ns and sa single non-empty segments.
        if (!path.startsWith("/ns/")) {
            return Optional.empty();
        }
        int saMarker = path.indexOf("/sa/", 4);
        if (saMarker <= 4) {
            return Optional.empty();
        }
        String namespace = path.substring(4, saMarker);
        String serviceAccount = path.substring(saMarker + 4);
        if (namespace.indexOf('/') >= 0 || serviceAccount.isEmpty() || serviceAccount.indexOf('/') >= 0) {
            return Optional.empty();
        }
        return Optional.of(new KubernetesIdentity(id.getTrustDomain(), namespace, serviceAccount));
    }

    private static String checkAuthority(String authority, String input) {
        if (authority.isEmpty()) {
            throw new InvalidSpiffeIdException(Rule.MISSING_TRUST_DOMAIN, input);
        }
        if (authority.length() > MAX_TRUST_DOMAIN_LENGTH) {
            throw new InvalidSpiffeIdException(Rule.TRUST_DOMAIN_TOO_LONG, input);
        }
        for (int i = 0; i < authority.length(); i++) {
            char c = authority.charAt(i);
            if (isTrustDomainChar(c)) {
                continue;
            }
            throw new InvalidSpiffeIdException(authorityRule(c), input);
        }
        return authority;
    }

    private static Rule authorityRule(char c) {
        switch (c) {
            case ':': return Rule.PORT;
            case '@': return Rule.USERINFO;
            case '?': return Rule.QUERY;
            case '#': return Rule.FRAGMENT;
            case '%': return Rule.PERCENT_ENCODING;
            default: return Rule.BAD_TRUST_DOMAIN_CHAR;
        }
    }

    private static void checkPath(String path, String input) {
        if (path.isEmpty()) {
            throw new InvalidSpiffeIdException(Rule.MISSING_PATH, input);
        }
        // path starts with '/'; walk the segments.
        int segmentStart = 1;
        for (int i = 1; i <= path.length(); i++) {
            if (i == path.length() || path.charAt(i) == '/') {
                int length = i - segmentStart;
                if (length == 0) {
                    throw new InvalidSpiffeIdException(
                            i == path.length() ? Rule.TRAILING_SLASH : Rule.EMPTY_SEGMENT, input);
                }
                if (length == 1 && path.charAt(segmentStart) == '.'
                        || length == 2 && path.charAt(segmentStart) == '.' && path.charAt(segmentStart + 1) == '.') {
                    throw new InvalidSpiffeIdException(Rule.DOT_SEGMENT, input);
                }
                segmentStart = i + 1;
                continue;
            }
            char c = path.charAt(i);
            if (isPathChar(c)) {
                continue;
            }
            switch (c) {
                case '?': throw new InvalidSpiffeIdException(Rule.QUERY, input);
                case '#': throw new InvalidSpiffeIdException(Rule.FRAGMENT, input);
                case '%': throw new InvalidSpiffeIdException(Rule.PERCENT_ENCODING, input);
                default: throw new InvalidSpiffeIdException(Rule.BAD_PATH_CHAR, input);
            }
        }
    }

    private static boolean isTrustDomainChar(char c) {
        return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_';
    }

    private static boolean isPathChar(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_';
    }

    private static int utf8Length(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return s.getBytes(StandardCharsets.UTF_8).length;
            }
        }
        return s.length();
    }
}
