package dev.hbone.authz.internal;

/**
 * Istio path matching: exact, {@code prefix*}, {@code *suffix}, {@code *}, and templates where {@code {*}}
 * matches exactly one non-empty path segment and {@code {**}} (last operator only) matches zero or more
 * segments. The query string is ignored, as Envoy's {@code url_path} matcher does.
 */
public final class PathMatcher {
    private final StringMatcher simple;
    private final String[] segments; // template segments, null if not a template
    private final String text;

    private PathMatcher(StringMatcher simple, String[] segments, String text) {
        this.simple = simple;
        this.segments = segments;
        this.text = text;
    }

    /** Compiles; throws IllegalArgumentException for an invalid template. */
    public static PathMatcher of(String p) {
        if (p.indexOf('{') < 0 && p.indexOf('}') < 0) {
            return new PathMatcher(StringMatcher.istio(p, false), null, p);
        }
        if (!p.startsWith("/")) {
            throw new IllegalArgumentException("a path template must start with /");
        }
        String[] segs = p.substring(1).split("/", -1);
        for (int i = 0; i < segs.length; i++) {
            String s = segs[i];
            if (s.equals("{**}")) {
                if (i != segs.length - 1) {
                    throw new IllegalArgumentException("{**} must be the last operator");
                }
            } else if (!s.equals("{*}") && (s.indexOf('{') >= 0 || s.indexOf('}') >= 0 || s.indexOf('*') >= 0)) {
                throw new IllegalArgumentException("only whole segments {*} and {**} are allowed in a template");
            }
        }
        return new PathMatcher(null, segs, p);
    }

    /** Matches a request path (the query part is ignored). */
    public boolean matches(String path) {
        if (path == null) {
            return false;
        }
        int end = path.indexOf('?');
        if (end < 0) {
            end = path.length();
        }
        if (simple != null) {
            if (end == path.length()) {
                return simple.matches(path);
            }
            return simple.matches(path.substring(0, end));
        }
        if (end == 0 || path.charAt(0) != '/') {
            return false;
        }
        int pos = 1;
        for (int i = 0; i < segments.length; i++) {
            String seg = segments[i];
            if (seg.equals("{**}")) {
                return true;
            }
            if (pos > end) {
                return false;
            }
            int slash = path.indexOf('/', pos);
            int segEnd = slash < 0 || slash > end ? end : slash;
            if (seg.equals("{*}")) {
                if (segEnd == pos) {
                    return false;
                }
            } else if (segEnd - pos != seg.length() || !path.regionMatches(pos, seg, 0, seg.length())) {
                return false;
            }
            pos = segEnd + 1;
        }
        return pos == end + 1;
    }

    @Override
    public String toString() {
        return text;
    }
}
