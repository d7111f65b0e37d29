package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

/**
 * A document (or list item, or ztunnel policy entry) the loader refused.
 *
 * @param file          the file name, or the name given to {@link PolicyLoader#loadString}
 * @param documentIndex 1-based index of the YAML document in the file ({@code doc#1} is the first)
 * @param path          field path inside the document, e.g. {@code spec.rules[0].from[1].source.ipBlocks[0]};
 *                      empty for syntax errors
 * @param message       the reason
 */
public record LoadError(String file, int documentIndex, String path, String message) {
    /** Validates. */
    public LoadError {
        requireNonNull(file, "file");
        requireNonNull(path, "path");
        requireNonNull(message, "message");
    }

    @Override
    public String toString() {
        return file + " doc#" + documentIndex + (path.isEmpty() ? "" : " " + path) + ": " + message;
    }
}
