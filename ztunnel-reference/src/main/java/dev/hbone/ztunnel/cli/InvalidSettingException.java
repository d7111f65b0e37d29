package dev.hbone.ztunnel.cli;

import static java.util.Objects.requireNonNull;

/**
 * A setting has a value the proxy cannot use. The message names where the value came from (the flag, or the
 * environment variable), the value and why it is refused, e.g.
 * {@code --admin-address "127.0.0.1:99999": port 99999 is not in 0..65535}.
 */
public final class InvalidSettingException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final String value;
    private final String reason;

    /**
     * Creates the exception.
     *
     * @param source where the value came from: {@code --flag} or {@code ENV_VAR}
     * @param value the refused value
     * @param reason why it is refused
     */
    public InvalidSettingException(String source, String value, String reason) {
        super(requireNonNull(source, "source") + " \"" + requireNonNull(value, "value") + "\": "
                + requireNonNull(reason, "reason"));
        this.source = source;
        this.value = value;
        this.reason = reason;
    }

    /** Returns the flag ({@code --name}) or environment variable the value came from. */
    public String source() {
        return source;
    }

    /** Returns the refused value. */
    public String value() {
        return value;
    }

    /** Returns why the value is refused. */
    public String reason() {
        return reason;
    }
}
