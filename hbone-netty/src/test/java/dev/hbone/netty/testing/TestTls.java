package dev.hbone.netty.testing;

import dev.hbone.netty.HboneTls;
import dev.hbone.netty.TlsBindings;
import dev.hbone.netty.TlsProvider;
import io.spiffe.spiffeid.SpiffeId;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Test-only key/trust managers behind the same seam spiffe-identity's SpiffeKeyManager / SpiffeTrustManager /
 * HandshakeBindings fill: bindings keyed by SSLEngine instance; the client checks the expected identities.
 */
public final class TestTls implements TlsBindings {
    private record Binding(SpiffeId local, Set<SpiffeId> expected) { }

    private final TestPki pki;
    private final Map<String, TestPki.Svid> svids = new ConcurrentHashMap<>();
    private final Map<SSLEngine, Binding> bindings = Collections.synchronizedMap(new IdentityHashMap<>());

    public TestTls(TestPki pki, TestPki.Svid... svids) {
        this.pki = pki;
        for (TestPki.Svid s : svids) {
            this.svids.put(s.id().toString(), s);
        }
    }

    public HboneTls tls() {
        return tls(TlsProvider.defaultProvider());
    }

    public HboneTls tls(TlsProvider provider) {
        return HboneTls.builder().keyManager(new KeyManager()).trustManager(new TrustManager()).bindings(this)
                       .provider(provider).build();
    }

    public int boundEngines() {
        return bindings.size();
    }

    @Override
    public void bind(SSLEngine engine, SpiffeId localIdentity, Set<SpiffeId> expectedPeers) {
        bindings.put(engine, new Binding(localIdentity, Set.copyOf(expectedPeers)));
    }

    @Override
    public void unbind(SSLEngine engine) {
        bindings.remove(engine);
    }

    private final class KeyManager extends X509ExtendedKeyManager {
        private String alias(SSLEngine engine, String... keyTypes) {
            Binding b = bindings.get(engine);
            if (b == null || !svids.containsKey(b.local().toString())) {
                return null;
            }
            for (String t : keyTypes) {
                if (t != null && t.startsWith("EC")) {
                    return b.local().toString();
                }
            }
            return null;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return alias(engine, keyType);
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return alias(engine, keyType);
        }

        @Override public String[] getClientAliases(String keyType, Principal[] issuers) { return null; }
        @Override public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) { return null; }
        @Override public String[] getServerAliases(String keyType, Principal[] issuers) { return null; }
        @Override public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) { return null; }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            TestPki.Svid s = svids.get(alias);
            return s == null ? null : s.chain().clone();
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            TestPki.Svid s = svids.get(alias);
            return s == null ? null : s.key();
        }
    }

    private final class TrustManager extends X509ExtendedTrustManager {
        private SpiffeId validate(X509Certificate[] chain) throws CertificateException {
            if (chain == null || chain.length == 0) {
                throw new CertificateException("NO_CERTIFICATE");
            }
            X509Certificate leaf = chain[0];
            leaf.checkValidity();
            try {
                leaf.verify(pki.caCert().getPublicKey());
            } catch (Exception e) {
                throw new CertificateException("UNTRUSTED_CHAIN: " + e.getMessage(), e);
            }
            Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
            if (sans == null) {
                throw new CertificateException("NO_URI_SAN");
            }
            for (List<?> san : sans) {
                if (Integer.valueOf(6).equals(san.get(0))) {
                    return SpiffeId.parse(String.valueOf(san.get(1)));
                }
            }
            throw new CertificateException("NO_URI_SAN");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            validate(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            SpiffeId id = validate(chain);
            Binding b = bindings.get(engine);
            if (b == null) {
                throw new CertificateException("NO_BINDING for engine " + engine);
            }
            if (!b.expected().contains(id)) {
                throw new CertificateException("UNEXPECTED_IDENTITY: " + id + " is not one of " + b.expected());
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            validate(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            throw new CertificateException("sockets are not used by HBONE");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            validate(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("engine required");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[] {pki.caCert()};
        }
    }
}
