package dev.hbone.spiffe.store;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.svid.x509svid.X509Svid;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;

/**
 * One installed SVID of an identity, numbered by a generation that is unique within its {@link IdentityStore}. A
 * TLS handshake reads chain and key from the same snapshot, so a rotation can never pair a chain with another key.
 */
public final class SvidSnapshot {
    private final SpiffeId identity;
    private final long generation;
    private final X509Svid svid;
    private final X509Certificate[] chain;
    private final Instant notBefore;
    private final Instant notAfter;
    private final String name;

    SvidSnapshot(SpiffeId identity, long generation, X509Svid svid) {
        this.identity = requireNonNull(identity, "identity");
        this.generation = generation;
        this.svid = requireNonNull(svid, "svid");
        this.chain = svid.getChainArray();
        this.notBefore = svid.getLeaf().getNotBefore().toInstant();
        this.notAfter = svid.getLeaf().getNotAfter().toInstant();
        this.name = generation + "#" + identity;
    }

    /**
     * Returns {@code <generation>#<SPIFFE ID>}: a name unique within the store that changes with every rotation
     * ({@code SpiffeKeyManager} uses it as the key alias).
     */
    public String name() {
        return name;
    }

    /** Returns the identity. */
    public SpiffeId identity() {
        return identity;
    }

    /** Returns the generation: larger is newer, unique within the store. */
    public long generation() {
        return generation;
    }

    /** Returns the SVID. */
    public X509Svid svid() {
        return svid;
    }

    /** Returns a copy of the chain, leaf first. */
    public X509Certificate[] chain() {
        return chain.clone();
    }

    /** Returns the private key of the leaf. */
    public PrivateKey privateKey() {
        return svid.getPrivateKey();
    }

    /** Returns the leaf's key algorithm ({@code EC} or {@code RSA}). */
    public String keyAlgorithm() {
        return chain[0].getPublicKey().getAlgorithm();
    }

    /** Returns the start of the leaf's validity. */
    public Instant notBefore() {
        return notBefore;
    }

    /** Returns the end of the leaf's validity. */
    public Instant notAfter() {
        return notAfter;
    }

    /**
     * Returns whether the leaf is within its validity period at {@code now}.
     *
     * @param now the instant
     * @return true if valid
     */
    public boolean isValidAt(Instant now) {
        requireNonNull(now, "now");
        return !now.isBefore(notBefore) && now.isBefore(notAfter);
    }

    @Override
    public String toString() {
        return "SvidSnapshot{" + identity + " #" + generation + ", valid " + notBefore + " to " + notAfter + "}";
    }
}
