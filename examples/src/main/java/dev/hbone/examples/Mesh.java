package dev.hbone.examples;

import dev.hbone.netty.HboneTls;
import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The identity side of the examples: one local CA for the trust domain {@code example.local} (kept in a directory so
 * that a server and a client process share it), an identity store issuing one-hour SVIDs from it, and the
 * {@link HboneTls} built on both.
 */
final class Mesh implements AutoCloseable {
    static final String TRUST_DOMAIN = "example.local";
    static final SpiffeId ECHO = SpiffeIds.kubernetes(TRUST_DOMAIN, "demo", "echo");
    static final SpiffeId CLIENT = SpiffeIds.kubernetes(TRUST_DOMAIN, "demo", "client");

    final CertificateAuthority ca;
    final IdentityStore store;
    final HboneTls tls;

    private Mesh(CertificateAuthority ca) {
        this.ca = ca;
        this.store = IdentityStore.builder(SvidSources.localCa(ca, Duration.ofHours(1))).build();
        this.tls = HboneTls.spiffe(store, TrustBundles.of(ca.bundle()));
    }

    /** Loads the CA from {@code dir}, creating (and saving) it the first time. */
    static Mesh open(Path dir) throws IOException {
        TrustDomain td = TrustDomain.parse(TRUST_DOMAIN);
        if (Files.exists(dir.resolve(CertificateAuthority.CA_KEY_FILE))) {
            return new Mesh(CertificateAuthority.load(td, dir));
        }
        CertificateAuthority ca = CertificateAuthority.builder(td).build();
        Files.createDirectories(dir);
        ca.save(dir);
        return new Mesh(ca);
    }

    /** A CA that lives only in this process. */
    static Mesh inMemory() {
        return new Mesh(CertificateAuthority.builder(TrustDomain.parse(TRUST_DOMAIN)).build());
    }

    @Override
    public void close() {
        store.close();
    }
}
