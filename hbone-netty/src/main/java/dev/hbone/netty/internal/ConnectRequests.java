package dev.hbone.netty.internal;

import dev.hbone.api.Authority;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http2.Http2Headers;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.util.Objects.requireNonNull;

/**
 * HBONE's rules for the header block that opens a server-side stream, apart from any connection: what the peer
 * sent, decoded and checked by Netty's codec (names, values, duplicate or unknown pseudo-headers), is judged here.
 * Pure and allocation-light, so it can be fuzzed on its own ({@code ConnectRequestFuzzTest}).
 */
public final class ConnectRequests {
    private ConnectRequests() { }

    /** The judgement of one request. */
    public sealed interface Verdict permits Malformed, Refused, Accepted { }

    /**
     * Malformed HTTP/2 (RFC 9113 sections 8.1.1, 8.3.1): a stream error PROTOCOL_ERROR, no answer.
     *
     * @param reason what is wrong
     */
    public record Malformed(String reason) implements Verdict { }

    /**
     * Well-formed HTTP/2 that HBONE refuses with 400.
     *
     * @param reason what is wrong
     */
    public record Refused(String reason) implements Verdict { }

    /**
     * A CONNECT HBONE accepts for authorization.
     *
     * @param authority the parsed {@code :authority}
     * @param authorityText the {@code :authority} as sent
     * @param headers the regular headers, lower-case names, first value of each
     */
    public record Accepted(Authority authority, String authorityText, Map<String, String> headers) implements Verdict { }

    /**
     * Judges a request's header block.
     *
     * @param h the decoded headers
     * @param endOfStream whether the HEADERS frame ended the stream
     */
    public static Verdict check(Http2Headers h, boolean endOfStream) {
        requireNonNull(h, "h");
        CharSequence method = h.method();
        // Netty checks the pseudo-headers present, not the ones missing.
        if (method == null) {
            return new Malformed("request without :method");
        }
        boolean connect = HttpMethod.CONNECT.asciiName().contentEquals(method);
        if (!connect && (h.scheme() == null || h.path() == null)) {
            return new Malformed("request without :scheme or :path");
        }
        if (!connect) {
            return new Refused("method is not CONNECT: " + method);
        }
        // Extended CONNECT (RFC 8441) is well-formed HTTP/2, but not HBONE.
        if (h.scheme() != null || h.path() != null) {
            return new Refused("CONNECT with :scheme or :path");
        }
        if (endOfStream) {
            return new Refused("CONNECT with END_STREAM");
        }
        CharSequence authorityValue = h.authority();
        String authorityText = authorityValue == null ? "" : authorityValue.toString();
        Optional<Authority> parsed = Authority.parse(authorityText);
        if (parsed.isEmpty()) {
            return new Refused("malformed :authority '" + authorityText + "'");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (Map.Entry<CharSequence, CharSequence> e : h) {
            String name = headerName(e.getKey());
            if (!name.startsWith(":")) {
                headers.putIfAbsent(name, e.getValue().toString());
            }
        }
        return new Accepted(parsed.get(), authorityText, Collections.unmodifiableMap(headers));
    }

    /** HBONE's usual request headers, one String each for every tunnel's {@code TunnelInfo} (it lives as long). */
    private static final List<String> KNOWN_HEADERS = List.of("forwarded", "traceparent", "baggage",
                                                              "x-forwarded-network", "tracestate");

    private static String headerName(CharSequence name) {
        for (String known : KNOWN_HEADERS) {
            if (known.contentEquals(name)) {
                return known;
            }
        }
        return name.toString();
    }
}
