package dev.hbone.authz.model;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * One entry of {@code spec.rules}: {@code from}, {@code to} and {@code when} are AND'ed; the entries of
 * {@code from} (or {@code to}) are OR'ed. An empty rule ({@code {}}) matches everything.
 *
 * @param from sources
 * @param to   operations
 * @param when conditions
 */
public record Rule(List<Source> from, List<Operation> to, List<Condition> when) {
    /** Copies the lists. */
    public Rule {
        from = List.copyOf(requireNonNull(from, "from"));
        to = List.copyOf(requireNonNull(to, "to"));
        when = List.copyOf(requireNonNull(when, "when"));
    }
}
