package dev.hbone.authz.model;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * One {@code when} condition: the attribute named by {@code key} must match one of {@code values} (if any) and
 * none of {@code notValues}.
 *
 * @param key       e.g. {@code source.ip}, {@code request.headers[x-token]}, {@code request.auth.claims[iss]}
 * @param values    positive values (OR'ed)
 * @param notValues negative values
 */
public record Condition(String key, List<String> values, List<String> notValues) {
    /** Copies the lists. */
    public Condition {
        requireNonNull(key, "key");
        values = List.copyOf(requireNonNull(values, "values"));
        notValues = List.copyOf(requireNonNull(notValues, "notValues"));
    }
}
