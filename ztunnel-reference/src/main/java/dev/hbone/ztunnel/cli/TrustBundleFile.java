package dev.hbone.ztunnel.cli;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.TrustDomain;
import java.nio.file.Path;

/**
 * An extra trust bundle: PEM root certificates trusted for one trust domain (federation, outside peers).
 *
 * @param trustDomain the trust domain the roots sign for
 * @param pemFile the PEM file holding the roots
 */
public record TrustBundleFile(TrustDomain trustDomain, Path pemFile) {
    /** Checks that no component is null. */
    public TrustBundleFile {
        requireNonNull(trustDomain, "trustDomain");
        requireNonNull(pemFile, "pemFile");
    }
}
