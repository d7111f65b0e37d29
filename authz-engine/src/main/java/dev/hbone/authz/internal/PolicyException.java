package dev.hbone.authz.internal;

/** A policy field that cannot be compiled: carries the field path (e.g. {@code spec.rules[0].to[0].operation.ports[1]}). */
public final class PolicyException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String path;
    private final String reason;

    /** Creates. */
    public PolicyException(String path, String reason) {
        super(path + ": " + reason, null, false, false);
        this.path = path;
        this.reason = reason;
    }

    /** The field path. */
    public String path() {
        return path;
    }

    /** The reason. */
    public String reason() {
        return reason;
    }
}
