package dev.hbone.ztunnel.config;

import java.util.List;
import java.util.Objects;

/** A configuration file was refused; {@link #errors()} lists every problem found, in document order. */
public final class InvalidConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    private final transient List<ConfigError> errors;

    /**
     * Creates the exception.
     *
     * @param errors the problems, at least one
     */
    public InvalidConfigException(List<ConfigError> errors) {
        super(format(errors));
        this.errors = List.copyOf(errors);
    }

    private static String format(List<ConfigError> errors) {
        Objects.requireNonNull(errors, "errors");
        if (errors.isEmpty()) {
            throw new IllegalArgumentException("errors must not be empty");
        }
        if (errors.size() == 1) {
            return errors.get(0).toString();
        }
        StringBuilder sb = new StringBuilder();
        sb.append(errors.size()).append(" errors in ").append(errors.get(0).source()).append(':');
        for (ConfigError e : errors) {
            sb.append("\n  ").append(e);
        }
        return sb.toString();
    }

    /** Returns the problems, at least one. */
    public List<ConfigError> errors() {
        return errors;
    }
}
