package dev.hbone.spiffe.tls;

import static java.util.Objects.requireNonNull;

import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.svid.PeerRole;
import dev.hbone.spiffe.svid.SvidValidationException;
import dev.hbone.spiffe.svid.SvidValidator;
import io.spiffe.spiffeid.SpiffeId;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Checks a TLS peer's X.509-SVID with an {@link SvidValidator}.
 *
 * <p>As a server ({@code checkClientTrusted}): a client certificate is mandatory, must be a valid SVID of a trusted
 * trust domain with the clientAuth extended key usage, and, if the connection's {@link HandshakeBinding} lists
 * expected peers, one of them. As a client ({@code checkServerTrusted}): a valid SVID with serverAuth whose SPIFFE ID
 * is one of the binding's expected peers; with no binding or no expected peer the server is refused (fail closed).
 *
 * <p>A refusal is a {@link CertificateException} whose message starts with the {@link SvidValidationException.Reason}
 * name and whose cause is the {@link SvidValidationException}. Trust bundle changes apply to the next handshake.
 * Host name verification does not apply to SPIFFE identities; with Netty set {@code endpointIdentificationAlgorithm}
 * to {@code null} and rely on this class.
 */
public final class SpiffeTrustManager extends X509ExtendedTrustManager {
    private static final X509Certificate[] NO_ISSUERS = new X509Certificate[0];

    private final SvidValidator validator;
    private final HandshakeBindings bindings;

    /**
     * Creates a trust manager validating against {@code bundles} at the system clock's time.
     *
     * @param bundles the trusted bundles
     * @param bindings what each connection expects of its peer
     */
    public SpiffeTrustManager(TrustBundles bundles, HandshakeBindings bindings) {
        this(new SvidValidator(requireNonNull(bundles, "bundles")), bindings);
    }

    /**
     * Creates a trust manager with a given validator (e.g. one with a test clock, or whose refusal counts are
     * exported).
     *
     * @param validator the validator
     * @param bindings what each connection expects of its peer
     */
    public SpiffeTrustManager(SvidValidator validator, HandshakeBindings bindings) {
        this.validator = requireNonNull(validator, "validator");
        this.bindings = requireNonNull(bindings, "bindings");
    }

    /** Returns the validator, e.g. to read its refusal counts. */
    public SvidValidator validator() {
        return validator;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        checkClient(chain, bindings.find(engine));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        checkServer(chain, bindings.find(engine));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        checkClient(chain, bindings.find(socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        checkServer(chain, bindings.find(socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkClient(chain, bindings.find(null));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkServer(chain, bindings.find(null));
    }

    /**
     * Returns no issuers: SPIFFE peers pick their SVID by identity, not by CA names, and an empty list keeps the
     * handshake small and free of stale names across bundle rotations.
     */
    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return NO_ISSUERS;
    }

    private void checkClient(X509Certificate[] chain, HandshakeBinding binding) throws CertificateException {
        Set<SpiffeId> expected = binding == null ? Set.of() : binding.expectedPeers();
        try {
            validator.validate(chain, PeerRole.CLIENT, expected);
        } catch (SvidValidationException e) {
            throw refused(e);
        }
    }

    private void checkServer(X509Certificate[] chain, HandshakeBinding binding) throws CertificateException {
        Set<SpiffeId> expected = binding == null ? Set.of() : binding.expectedPeers();
        try {
            SpiffeId id = validator.validate(chain, PeerRole.SERVER, expected);
            if (expected.isEmpty()) {
                throw new SvidValidationException(SvidValidationException.Reason.UNEXPECTED_IDENTITY,
                        "no expected server identity for this connection; refusing " + id, id, null);
            }
        } catch (SvidValidationException e) {
            throw refused(e);
        }
    }

    private static CertificateException refused(SvidValidationException e) {
        return new CertificateException(e.getMessage(), e);
    }
}
