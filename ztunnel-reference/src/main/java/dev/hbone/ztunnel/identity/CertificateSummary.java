package dev.hbone.ztunnel.identity;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/**
 * What {@code /config_dump} shows of a workload certificate: never the private key.
 *
 * @param identity the SPIFFE ID
 * @param serialNumber the leaf's serial number, hexadecimal
 * @param notBefore start of validity
 * @param notAfter end of validity
 * @param chainLength certificates in the chain, leaf included
 */
public record CertificateSummary(String identity, String serialNumber, Instant notBefore, Instant notAfter,
        int chainLength) {
    /** Checks that no component is null. */
    public CertificateSummary {
        requireNonNull(identity, "identity");
        requireNonNull(serialNumber, "serialNumber");
        requireNonNull(notBefore, "notBefore");
        requireNonNull(notAfter, "notAfter");
    }
}
