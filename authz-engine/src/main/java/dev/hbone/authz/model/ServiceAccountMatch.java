package dev.hbone.authz.model;

import static java.util.Objects.requireNonNull;

/**
 * A service-account match of the compact form: the peer identity's namespace and service account.
 *
 * @param namespace      namespace
 * @param serviceAccount service account
 */
public record ServiceAccountMatch(String namespace, String serviceAccount) {
    /** Validates. */
    public ServiceAccountMatch {
        requireNonNull(namespace, "namespace");
        requireNonNull(serviceAccount, "serviceAccount");
    }
}
