package dev.hbone.ztunnel.identity;

import static java.util.Objects.requireNonNull;

import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidListener;
import dev.hbone.spiffe.store.SvidSnapshot;
import dev.hbone.spiffe.store.SvidSource;
import dev.hbone.spiffe.store.SvidSources;
import dev.hbone.ztunnel.cli.ProxyConfig;
import dev.hbone.ztunnel.cli.StaticSvidFiles;
import dev.hbone.ztunnel.cli.TrustBundleFile;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's certificates: one SVID per workload identity it acts for (never a node identity), kept fresh by
 * spiffe-identity's {@link IdentityStore}, and the {@link TrustBundles} peers are validated against.
 *
 * <p>Three sources, chosen by {@link ProxyConfig#caMode()}: a CA created in memory at start (its root written
 * to a file so peers can trust it), a CA loaded from PEM files shared by several proxies, or fixed certificate
 * files per identity. Build one with {@link #create(ProxyConfig)} or the factory for a mode.
 */
public final class ProxyCertificates implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxyCertificates.class);

    private final IdentityStore store;
    private final TrustBundles trustBundles;
    private final CertificateAuthority authority;
    private final Set<SpiffeId> wanted = ConcurrentHashMap.newKeySet();
    private final List<TrustBundleFile> bundleFiles;
    private final Map<Path, String> bundleStamps = new ConcurrentHashMap<>();
    private volatile ScheduledExecutorService bundleWatcher;

    private ProxyCertificates(IdentityStore store, TrustBundles trustBundles, CertificateAuthority authority,
            List<TrustBundleFile> bundleFiles) {
        this.store = store;
        this.trustBundles = trustBundles;
        this.authority = authority;
        this.bundleFiles = List.copyOf(bundleFiles);
        for (TrustBundleFile f : this.bundleFiles) {
            bundleStamps.put(f.pemFile(), stamp(f.pemFile()));
        }
    }

    /**
     * Re-reads the {@code --trust-bundle} files every {@code period} and, when one changed, replaces the trust
     * bundles (a CA's own root stays): how a root rotation reaches a running proxy — first a file with the old and
     * the new root (the overlap), later one with the new root only. A file that cannot be read is logged and the
     * previous bundles kept. Does nothing without bundle files.
     *
     * @param period how often to look at the files' modification time and size
     */
    public void watchTrustBundles(Duration period) {
        requireNonNull(period, "period");
        if (bundleFiles.isEmpty() || bundleWatcher != null) {
            return;
        }
        ScheduledExecutorService ses = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "trust-bundle-watcher");
            t.setDaemon(true);
            return t;
        });
        bundleWatcher = ses;
        ses.scheduleWithFixedDelay(this::reloadIfChanged, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void reloadIfChanged() {
        boolean changed = false;
        for (TrustBundleFile f : bundleFiles) {
            String now = stamp(f.pemFile());
            if (!now.equals(bundleStamps.get(f.pemFile()))) {
                changed = true;
            }
        }
        if (!changed) {
            return;
        }
        try {
            reloadTrustBundles();
        } catch (IOException | RuntimeException e) {
            log.warn("trust bundles not reloaded, keeping the previous ones: {}", e.getMessage());
        }
    }

    /**
     * Reads the {@code --trust-bundle} files again and replaces the trust bundles with them (a CA's own root
     * stays first). Handshakes from then on use the new roots; established connections are not touched.
     *
     * @throws IOException naming the file that cannot be read (the previous bundles stay)
     */
    public void reloadTrustBundles() throws IOException {
        Map<Path, String> stamps = new java.util.HashMap<>();
        for (TrustBundleFile f : bundleFiles) {
            stamps.put(f.pemFile(), stamp(f.pemFile()));
        }
        List<X509Bundle> bundles = loadBundles(bundleFiles);
        if (authority != null) {
            bundles.removeIf(b -> b.getTrustDomain().equals(authority.trustDomain()));
            bundles.add(0, authority.bundle());
        }
        trustBundles.replace(bundles);
        bundleStamps.putAll(stamps);
        for (X509Bundle b : bundles) {
            log.info("trust bundle for {}: {} root(s)", b.getTrustDomain().getName(), b.getX509Authorities().size());
        }
    }

    private static String stamp(Path file) {
        try {
            return Files.getLastModifiedTime(file).toMillis() + "/" + Files.size(file);
        } catch (IOException e) {
            return "missing";
        }
    }

    /**
     * Builds the certificates the settings ask for.
     *
     * @param config the settings
     * @return the certificates, with no identity requested yet
     * @throws IOException if a CA, certificate or bundle file cannot be read or the root cannot be written
     */
    public static ProxyCertificates create(ProxyConfig config) throws IOException {
        requireNonNull(config, "config");
        return switch (config.caMode()) {
            case EMBEDDED -> embedded(config.trustDomain(), config.secretTtl(), config.caRootOutput(),
                    config.trustBundles());
            case PEM -> fromCaDirectory(config.trustDomain(), config.caDirectory().orElseThrow(),
                    config.secretTtl(), config.trustBundles());
            case STATIC -> staticFiles(config.staticSvids(), config.trustBundles());
        };
    }

    /**
     * A CA created in memory; its root certificate is written (PEM) to {@code rootOutput} when given.
     *
     * @param trustDomain the trust domain it signs for
     * @param lifetime lifetime of issued SVIDs
     * @param rootOutput where to write the root certificate
     * @param extraBundles more trusted roots
     * @return the certificates
     * @throws IOException if the root cannot be written or a bundle read
     */
    public static ProxyCertificates embedded(TrustDomain trustDomain, Duration lifetime, Optional<Path> rootOutput,
            List<TrustBundleFile> extraBundles) throws IOException {
        requireNonNull(trustDomain, "trustDomain");
        requireNonNull(lifetime, "lifetime");
        requireNonNull(rootOutput, "rootOutput");
        requireNonNull(extraBundles, "extraBundles");
        CertificateAuthority ca = CertificateAuthority.builder(trustDomain).build();
        if (rootOutput.isPresent()) {
            writeRoot(ca.rootCertificate(), rootOutput.get());
            log.info("embedded CA for {}: root certificate written to {}", trustDomain.getName(), rootOutput.get());
        }
        return withCa(ca, lifetime, extraBundles);
    }

    /**
     * A CA loaded from Istio's plug-in CA files ({@code ca-cert.pem}, {@code ca-key.pem}, {@code root-cert.pem},
     * optional {@code cert-chain.pem}), so several proxies and outside peers share one mesh.
     *
     * @param trustDomain the trust domain it signs for
     * @param directory the directory of the files
     * @param lifetime lifetime of issued SVIDs
     * @param extraBundles more trusted roots
     * @return the certificates
     * @throws IOException naming the file that is missing or wrong
     */
    public static ProxyCertificates fromCaDirectory(TrustDomain trustDomain, Path directory, Duration lifetime,
            List<TrustBundleFile> extraBundles) throws IOException {
        requireNonNull(trustDomain, "trustDomain");
        requireNonNull(directory, "directory");
        requireNonNull(lifetime, "lifetime");
        requireNonNull(extraBundles, "extraBundles");
        CertificateAuthority ca;
        try {
            ca = CertificateAuthority.load(trustDomain, directory);
        } catch (IOException e) {
            throw new IOException("--ca-dir " + directory + ": " + e.getMessage(), e);
        }
        return withCa(ca, lifetime, extraBundles);
    }

    /**
     * Fixed certificate and key files per identity (re-read on each renewal). The roots come from
     * {@code bundles} only.
     *
     * @param svids the files per identity
     * @param bundles trusted roots (at least one)
     * @return the certificates
     * @throws IOException if a bundle cannot be read
     */
    public static ProxyCertificates staticFiles(List<StaticSvidFiles> svids, List<TrustBundleFile> bundles)
            throws IOException {
        requireNonNull(svids, "svids");
        requireNonNull(bundles, "bundles");
        Map<SpiffeId, SvidSource> sources = new LinkedHashMap<>();
        for (StaticSvidFiles f : svids) {
            sources.put(f.identity(), SvidSources.pemFiles(f.certificateChain(), f.privateKey()));
        }
        TrustBundles trust = TrustBundles.of(loadBundles(bundles));
        IdentityStore store = IdentityStore.builder(SvidSources.byIdentity(sources)).build();
        return new ProxyCertificates(store, trust, null, bundles);
    }

    private static ProxyCertificates withCa(CertificateAuthority ca, Duration lifetime,
            List<TrustBundleFile> extraBundles) throws IOException {
        List<X509Bundle> bundles = loadBundles(extraBundles);
        bundles.removeIf(b -> b.getTrustDomain().equals(ca.trustDomain()));
        bundles.add(0, ca.bundle());
        IdentityStore store = IdentityStore.builder(SvidSources.localCa(ca, lifetime)).build();
        return new ProxyCertificates(store, TrustBundles.of(bundles), ca, extraBundles);
    }

    private static List<X509Bundle> loadBundles(List<TrustBundleFile> files) throws IOException {
        List<X509Bundle> bundles = new ArrayList<>();
        for (TrustBundleFile f : files) {
            try {
                bundles.add(TrustBundles.loadPem(f.trustDomain(), f.pemFile()));
            } catch (IOException | RuntimeException e) {
                throw new IOException("--trust-bundle " + f.trustDomain().getName() + "=" + f.pemFile() + ": "
                        + e.getMessage(), e);
            }
        }
        return bundles;
    }

    /** Writes one certificate as PEM, atomically (temporary file, then rename). */
    static void writeRoot(X509Certificate root, Path file) throws IOException {
        String pem;
        try {
            pem = "-----BEGIN CERTIFICATE-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(root.getEncoded())
                    + "\n-----END CERTIFICATE-----\n";
        } catch (CertificateEncodingException e) {
            throw new IOException("cannot encode the root certificate", e);
        }
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempFile(parent, ".root-cert", ".tmp");
        Files.writeString(tmp, pem, StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Makes the identities the ones the proxy acts for: starts fetching new ones, forgets the others.
     *
     * @param identities the identities of the workloads the proxy serves
     */
    public void actFor(Collection<SpiffeId> identities) {
        requireNonNull(identities, "identities");
        Set<SpiffeId> next = Set.copyOf(identities);
        for (SpiffeId old : List.copyOf(wanted)) {
            if (!next.contains(old)) {
                wanted.remove(old);
                store.forget(old);
            }
        }
        for (SpiffeId id : next) {
            if (wanted.add(id)) {
                store.fetch(id).whenComplete((svid, error) -> {
                    if (error == null) {
                        log.info("certificate issued for {}: serial {}, not after {}", id,
                                svid.getLeaf().getSerialNumber().toString(16), svid.getLeaf().getNotAfter().toInstant());
                    }
                });
            }
        }
    }

    /** Returns the identities asked for that have no certificate yet, sorted. */
    public Set<String> pending() {
        Set<String> pending = new TreeSet<>();
        for (SpiffeId id : wanted) {
            if (store.snapshot(id).isEmpty()) {
                pending.add(id.toString());
            }
        }
        return pending;
    }

    /** Returns a summary of every current certificate, sorted by identity. */
    public List<CertificateSummary> certificates() {
        List<CertificateSummary> out = new ArrayList<>();
        for (SpiffeId id : store.identities()) {
            Optional<SvidSnapshot> s = store.snapshot(id);
            if (s.isPresent()) {
                X509Certificate leaf = s.get().chain()[0];
                out.add(new CertificateSummary(id.toString(), leaf.getSerialNumber().toString(16),
                        s.get().notBefore(), s.get().notAfter(), s.get().chain().length));
            }
        }
        out.sort(Comparator.comparing(CertificateSummary::identity));
        return out;
    }

    /** Adds a listener for issued certificates and renewal failures. */
    public void addListener(SvidListener listener) {
        store.addListener(requireNonNull(listener, "listener"));
    }

    /** Returns the store the TLS key manager reads from. */
    public IdentityStore store() {
        return store;
    }

    /** Returns the bundles the TLS trust manager validates peers against. */
    public TrustBundles trustBundles() {
        return trustBundles;
    }

    /** Returns the certificate authority, when the proxy has one (not in static mode). */
    public Optional<CertificateAuthority> authority() {
        return Optional.ofNullable(authority);
    }

    /** Returns the current SVID of an identity, if any (for tests and the data path). */
    public Optional<X509Svid> current(SpiffeId identity) {
        return store.snapshot(requireNonNull(identity, "identity")).map(SvidSnapshot::svid);
    }

    /** Stops renewing. */
    @Override
    public void close() {
        ScheduledExecutorService w = bundleWatcher;
        if (w != null) {
            w.shutdownNow();
        }
        store.close();
    }
}
