package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * What {@link PolicyLoader} read: the accepted policies and one error per refused document or item.
 *
 * @param policies  everything that loaded
 * @param errors    what was refused, in file and document order
 * @param documents number of YAML documents read
 */
public record LoadResult(PolicySet policies, List<LoadError> errors, int documents) {
    /** Copies. */
    public LoadResult {
        requireNonNull(policies, "policies");
        errors = List.copyOf(requireNonNull(errors, "errors"));
    }

    /** True if nothing was refused. */
    public boolean isClean() {
        return errors.isEmpty();
    }
}
