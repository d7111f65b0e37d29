package dev.hbone.ztunnel.cli;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import java.nio.file.Path;

/**
 * The certificate chain and private key files of one identity, for {@link CaMode#STATIC}.
 *
 * @param identity the SPIFFE ID the certificate holds
 * @param certificateChain PEM certificate chain, leaf first
 * @param privateKey PEM PKCS#8 private key
 */
public record StaticSvidFiles(SpiffeId identity, Path certificateChain, Path privateKey) {
    /** Checks that no component is null. */
    public StaticSvidFiles {
        requireNonNull(identity, "identity");
        requireNonNull(certificateChain, "certificateChain");
        requireNonNull(privateKey, "privateKey");
    }
}
