package dev.hbone.ztunnel.config;

import java.util.Objects;

/**
 * One problem in a configuration file: which file, where in it, and what is wrong.
 * {@link #toString()} reads {@code local.yaml: workloads[1].workloadIps[0]: "10.0.0.256" is not an IP address}.
 *
 * @param source the file's name (or another label for where the text came from)
 * @param path where in the document, e.g. {@code workloads[1].workloadIps[0]}; {@code ""} for the whole document
 * @param message what is wrong
 */
public record ConfigError(String source, String path, String message) {

    /** Validates the components. */
    public ConfigError {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(message, "message");
    }

    /** Returns {@code source: path: message} (without the path when it is empty). */
    @Override
    public String toString() {
        return path.isEmpty() ? source + ": " + message : source + ": " + path + ": " + message;
    }
}
