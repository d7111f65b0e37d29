package dev.hbone.spiffe.bundle;

import static java.util.Objects.requireNonNull;

import dev.hbone.spiffe.internal.Pem;
import io.spiffe.bundle.BundleSource;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.exception.BundleNotFoundException;
import io.spiffe.spiffeid.TrustDomain;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The X.509 trust bundles a node trusts: one per trust domain, several when trust domains are federated.
 *
 * <p>Thread-safe and swappable at run time: readers always see one consistent set of bundles; {@link #replace},
 * {@link #put} and {@link #remove} publish a new set atomically and then notify {@linkplain Listener listeners}.
 * Validation picks up a change on the next handshake; nothing needs to be rebuilt. Also a java-spiffe
 * {@link BundleSource}, so it can back java-spiffe's own trust manager.
 */
public final class TrustBundles implements BundleSource<X509Bundle> {
    private static final Logger logger = LoggerFactory.getLogger(TrustBundles.class);

    /** Notified after the set of bundles changed. */
    @FunctionalInterface
    public interface Listener {
        /**
         * Called after a change was published, on the thread that made it.
         *
         * @param bundles the bundles, already showing the change
         */
        void onChange(TrustBundles bundles);
    }

    /** The authorities of one trust domain, frozen. */
    private static final class Entry {
        final TrustDomain trustDomain;
        final Set<X509Certificate> authorities;
        final Set<TrustAnchor> anchors;

        Entry(X509Bundle bundle) {
            this.trustDomain = bundle.getTrustDomain();
            this.authorities = Collections.unmodifiableSet(new LinkedHashSet<>(bundle.getX509Authorities()));
            Set<TrustAnchor> a = new LinkedHashSet<>();
            for (X509Certificate c : authorities) {
                a.add(new TrustAnchor(c, null));
            }
            this.anchors = Collections.unmodifiableSet(a);
        }
    }

    private volatile Map<TrustDomain, Entry> entries;
    private volatile long version;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    private TrustBundles(Map<TrustDomain, Entry> entries) {
        this.entries = entries;
    }

    /**
     * Creates trust bundles holding the given bundles (at most one per trust domain).
     *
     * @param bundles the bundles
     * @return the trust bundles
     * @throws IllegalArgumentException if two bundles are for the same trust domain
     */
    public static TrustBundles of(X509Bundle... bundles) {
        requireNonNull(bundles, "bundles");
        return new TrustBundles(index(Arrays.asList(bundles)));
    }

    /**
     * Creates trust bundles holding the given bundles (at most one per trust domain).
     *
     * @param bundles the bundles
     * @return the trust bundles
     */
    public static TrustBundles of(Collection<X509Bundle> bundles) {
        requireNonNull(bundles, "bundles");
        return new TrustBundles(index(bundles));
    }

    /**
     * Creates trust bundles for one trust domain from a PEM file of root certificates.
     *
     * @param trustDomain the trust domain
     * @param pemFile the file
     * @return the trust bundles
     * @throws IOException if the file cannot be read or holds no certificate
     */
    public static TrustBundles fromPem(TrustDomain trustDomain, Path pemFile) throws IOException {
        return of(loadPem(trustDomain, pemFile));
    }

    /**
     * Creates trust bundles for one trust domain from a SPIFFE bundle (JWKS) file.
     *
     * @param trustDomain the trust domain
     * @param bundleFile the file
     * @return the trust bundles
     * @throws IOException if the file cannot be read or is not a valid SPIFFE bundle
     */
    public static TrustBundles fromSpiffeBundle(TrustDomain trustDomain, Path bundleFile) throws IOException {
        return of(loadSpiffeBundle(trustDomain, bundleFile));
    }

    /**
     * Loads one trust domain's bundle from a PEM file of (root) certificates.
     *
     * @param trustDomain the trust domain
     * @param pemFile the file
     * @return the bundle
     * @throws IOException if the file cannot be read or holds no certificate
     */
    public static X509Bundle loadPem(TrustDomain trustDomain, Path pemFile) throws IOException {
        requireNonNull(trustDomain, "trustDomain");
        requireNonNull(pemFile, "pemFile");
        List<X509Certificate> certificates;
        try {
            certificates = Pem.certificates(Files.readAllBytes(pemFile));
        } catch (CertificateException e) {
            throw new IOException("not a PEM certificate file: " + pemFile, e);
        }
        if (certificates.isEmpty()) {
            throw new IOException("no certificate in " + pemFile);
        }
        return new X509Bundle(trustDomain, new LinkedHashSet<>(certificates));
    }

    /**
     * Loads one trust domain's bundle from a SPIFFE bundle (JWKS) file.
     *
     * @param trustDomain the trust domain
     * @param bundleFile the file
     * @return the bundle
     * @throws IOException if the file cannot be read or is not a valid SPIFFE bundle
     */
    public static X509Bundle loadSpiffeBundle(TrustDomain trustDomain, Path bundleFile) throws IOException {
        requireNonNull(trustDomain, "trustDomain");
        requireNonNull(bundleFile, "bundleFile");
        String json = Files.readString(bundleFile, StandardCharsets.UTF_8);
        try {
            return SpiffeBundleFormat.parse(trustDomain, json);
        } catch (IllegalArgumentException e) {
            throw new IOException(bundleFile + ": " + e.getMessage(), e);
        }
    }

    /**
     * Returns the bundle of a trust domain.
     *
     * @param trustDomain the trust domain
     * @return a copy of the bundle, or empty if the trust domain is not trusted
     */
    public Optional<X509Bundle> bundleFor(TrustDomain trustDomain) {
        requireNonNull(trustDomain, "trustDomain");
        Entry e = entries.get(trustDomain);
        return e == null ? Optional.empty() : Optional.of(new X509Bundle(e.trustDomain, new LinkedHashSet<>(e.authorities)));
    }

    /**
     * Returns the trust anchors (the authorities) of a trust domain, as the PKIX validator takes them.
     *
     * @param trustDomain the trust domain
     * @return an immutable set of anchors, or empty if the trust domain is not trusted
     */
    public Optional<Set<TrustAnchor>> trustAnchors(TrustDomain trustDomain) {
        requireNonNull(trustDomain, "trustDomain");
        Entry e = entries.get(trustDomain);
        return e == null ? Optional.empty() : Optional.of(e.anchors);
    }

    /** Returns the trust domains currently trusted. */
    public Set<TrustDomain> trustDomains() {
        return Collections.unmodifiableSet(entries.keySet());
    }

    /** Returns a number that grows with every published change. */
    public long version() {
        return version;
    }

    /**
     * {@inheritDoc}
     *
     * @throws BundleNotFoundException if the trust domain is not trusted
     */
    @Override
    public X509Bundle getBundleForTrustDomain(TrustDomain trustDomain) throws BundleNotFoundException {
        return bundleFor(trustDomain).orElseThrow(
                () -> new BundleNotFoundException("no X.509 bundle for trust domain " + trustDomain));
    }

    /**
     * Replaces all bundles at once.
     *
     * @param bundles the new bundles (at most one per trust domain)
     */
    public void replace(Collection<X509Bundle> bundles) {
        requireNonNull(bundles, "bundles");
        Map<TrustDomain, Entry> next = index(bundles);
        synchronized (this) {
            entries = next;
            version++;
        }
        notifyListeners();
    }

    /**
     * Replaces all bundles at once.
     *
     * @param bundles the new bundles (at most one per trust domain)
     */
    public void replace(X509Bundle... bundles) {
        requireNonNull(bundles, "bundles");
        replace(Arrays.asList(bundles));
    }

    /**
     * Adds or replaces the bundle of one trust domain, leaving the others as they are.
     *
     * @param bundle the bundle
     */
    public void put(X509Bundle bundle) {
        requireNonNull(bundle, "bundle");
        Entry entry = new Entry(bundle);
        synchronized (this) {
            Map<TrustDomain, Entry> next = new HashMap<>(entries);
            next.put(entry.trustDomain, entry);
            entries = Collections.unmodifiableMap(next);
            version++;
        }
        notifyListeners();
    }

    /**
     * Stops trusting a trust domain.
     *
     * @param trustDomain the trust domain
     * @return whether it was trusted
     */
    public boolean remove(TrustDomain trustDomain) {
        requireNonNull(trustDomain, "trustDomain");
        synchronized (this) {
            if (!entries.containsKey(trustDomain)) {
                return false;
            }
            Map<TrustDomain, Entry> next = new HashMap<>(entries);
            next.remove(trustDomain);
            entries = Collections.unmodifiableMap(next);
            version++;
        }
        notifyListeners();
        return true;
    }

    /**
     * Registers a listener called after each change.
     *
     * @param listener the listener
     */
    public void addListener(Listener listener) {
        listeners.add(requireNonNull(listener, "listener"));
    }

    /**
     * Unregisters a listener.
     *
     * @param listener the listener
     * @return whether it was registered
     */
    public boolean removeListener(Listener listener) {
        return listeners.remove(requireNonNull(listener, "listener"));
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        for (Entry e : entries.values()) {
            parts.add(e.trustDomain.getName() + "(" + e.authorities.size() + " authorities)");
        }
        return "TrustBundles" + parts;
    }

    private void notifyListeners() {
        for (Listener l : listeners) {
            try {
                l.onChange(this);
            } catch (RuntimeException e) {
                logger.warn("trust bundle listener {} failed", l, e);
            }
        }
    }

    private static Map<TrustDomain, Entry> index(Collection<X509Bundle> bundles) {
        Map<TrustDomain, Entry> map = new HashMap<>();
        for (X509Bundle b : bundles) {
            requireNonNull(b, "bundle");
            if (map.put(b.getTrustDomain(), new Entry(b)) != null) {
                throw new IllegalArgumentException("two bundles for trust domain " + b.getTrustDomain());
            }
        }
        return Collections.unmodifiableMap(map);
    }
}
