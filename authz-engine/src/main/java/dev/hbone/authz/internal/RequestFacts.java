package dev.hbone.authz.internal;

import java.util.List;
import java.util.Map;

/** The L7 attributes of one HTTP request. Header names are lower case. */
public final class RequestFacts {
    /** HTTP method. */
    public final String method;
    /** {@code :path} including any query. */
    public final String path;
    /** {@code :authority}. */
    public final String host;
    /** Headers by lower-case name. */
    public final Map<String, String> headers;
    /** JWT {@code iss/sub}, or null. */
    public final String requestPrincipal;
    /** JWT claims (values are strings, lists or nested maps). */
    public final Map<String, Object> claims;
    /** JWT audiences. */
    public final List<String> audiences;
    /** JWT {@code azp}, or null. */
    public final String presenter;
    /** TLS SNI, or null. */
    public final String sni;
    /** Original client IP. */
    public final long remoteHi;
    /** Low half of the remote IP. */
    public final long remoteLo;
    /** True if the remote IP is known. */
    public final boolean hasRemote;

    /** Creates the facts. */
    public RequestFacts(String method, String path, String host, Map<String, String> headers, String requestPrincipal,
            Map<String, Object> claims, List<String> audiences, String presenter, String sni, long[] remote) {
        this.method = method;
        this.path = path;
        this.host = host;
        this.headers = headers;
        this.requestPrincipal = requestPrincipal;
        this.claims = claims;
        this.audiences = audiences;
        this.presenter = presenter;
        this.sni = sni;
        this.hasRemote = remote != null;
        this.remoteHi = remote == null ? 0 : remote[0];
        this.remoteLo = remote == null ? 0 : remote[1];
    }
}
