package dev.hbone.netty.internal;

import dev.hbone.netty.HboneTls;
import dev.hbone.netty.TlsProvider;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;

/**
 * Creates the SSLEngines of one client or server. The engine returned is the very instance the key and trust
 * managers will be handed, so it can be bound in {@link dev.hbone.netty.TlsBindings}: OpenSSL engines come
 * straight from Netty's context (ALPN is native there); JDK engines come from our own {@link SSLContext} with ALPN
 * set through {@link SSLParameters}, because Netty's JdkSslContext would wrap the engine to configure ALPN.
 */
public final class TlsEngineFactory {
    static final String TLS13 = "TLSv1.3";
    static final String TLS12 = "TLSv1.2";
    private static final List<String> TLS13_CIPHERS = List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384");
    /** Key-exchange groups offered (BoringSSL names); the client's first key share is the first group. */
    static final String[] CLASSICAL_GROUPS = {"X25519", "P-256", "P-384"};
    static final String[] HYBRID_GROUPS = {"X25519MLKEM768", "X25519", "P-256", "P-384"};
    private static final List<String> TLS12_CIPHERS = List.of(
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");

    private final boolean server;
    private final boolean requireClientCertificate;
    private final String[] protocols;
    private final String[] ciphers;
    private final SslContext openSsl;     // when the provider is OPENSSL
    private final SSLContext jdk;         // when the provider is JDK

    public TlsEngineFactory(HboneTls tls, boolean server) {
        this(tls, server, true);
    }

    /**
     * @param requireClientCertificate on a server, whether the client must present a certificate; false only for
     *     the conformance-testing switch {@code NettyHboneServer.Builder#unsafeWithoutClientCertificatesForConformanceTesting}
     */
    public TlsEngineFactory(HboneTls tls, boolean server, boolean requireClientCertificate) {
        this.server = server;
        this.requireClientCertificate = requireClientCertificate;
        List<String> protocolList = new ArrayList<>(List.of(TLS13));
        List<String> cipherList = new ArrayList<>(TLS13_CIPHERS);
        if (tls.allowTls12()) {
            protocolList.add(TLS12);
            cipherList.addAll(TLS12_CIPHERS);
        }
        this.protocols = protocolList.toArray(String[]::new);
        this.ciphers = cipherList.toArray(String[]::new);
        try {
            if (tls.provider() == TlsProvider.OPENSSL) {
                SslContextBuilder b = server ? SslContextBuilder.forServer(tls.keyManager())
                                                               .clientAuth(requireClientCertificate ? ClientAuth.REQUIRE
                                                                                                    : ClientAuth.NONE)
                                             : SslContextBuilder.forClient().keyManager(tls.keyManager())
                                                                .endpointIdentificationAlgorithm(null);
                b.sslProvider(SslProvider.OPENSSL)
                 .trustManager(tls.trustManager())
                 .protocols(protocols)
                 .ciphers(cipherList)
                 // Netty offers X25519MLKEM768 first by default with BoringSSL; HBONE offers it only when asked.
                 .option(OpenSslContextOption.GROUPS, tls.postQuantumKeyExchange() ? HYBRID_GROUPS : CLASSICAL_GROUPS)
                 .applicationProtocolConfig(new ApplicationProtocolConfig(
                         ApplicationProtocolConfig.Protocol.ALPN,
                         ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                         ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                         ApplicationProtocolNames.HTTP_2));
                this.openSsl = b.build();
                // No resumption: every connection proves its identity with a full handshake. (Netty leaves session
                // tickets off unless ticket keys are set.)
                ((OpenSslSessionContext) openSsl.sessionContext()).setSessionCacheEnabled(false);
                this.jdk = null;
            } else {
                SSLContext ctx = SSLContext.getInstance("TLS");
                ctx.init(new KeyManager[] {tls.keyManager()}, new TrustManager[] {tls.trustManager()}, null);
                ctx.getClientSessionContext().setSessionCacheSize(1);
                ctx.getServerSessionContext().setSessionCacheSize(1);
                this.jdk = ctx;
                this.openSsl = null;
            }
        } catch (SSLException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot build the TLS context: " + e, e);
        }
    }

    /**
     * Why the negotiated session breaks HBONE's TLS rules, or null if it does not. BoringSSL cannot restrict its TLS
     * 1.3 suites (it always offers CHACHA20-POLY1305 too), so the AES-GCM rule is enforced here, after the handshake,
     * for both providers alike.
     */
    public String sessionRefusal(javax.net.ssl.SSLSession session) {
        String protocol = session.getProtocol();
        if (!java.util.Arrays.asList(protocols).contains(protocol)) {
            return "protocol " + protocol + " is not allowed (" + String.join(", ", protocols) + ")";
        }
        String suite = session.getCipherSuite();
        if (!java.util.Arrays.asList(ciphers).contains(suite)) {
            return "cipher suite " + suite + " is not allowed (AES-GCM only)";
        }
        return null;
    }

    /** Whether a client must present a certificate (always, except on a conformance-testing server). */
    public boolean requiresClientCertificate() {
        return !server || requireClientCertificate;
    }

    /** A new engine for one connection: no peer host (so no SNI and no session lookup). */
    public SSLEngine newEngine(ByteBufAllocator alloc) {
        if (openSsl != null) {
            return openSsl.newEngine(alloc);
        }
        SSLEngine engine = jdk.createSSLEngine();
        engine.setUseClientMode(!server);
        SSLParameters params = engine.getSSLParameters();
        params.setProtocols(protocols);
        params.setCipherSuites(ciphers);
        params.setApplicationProtocols(new String[] {ApplicationProtocolNames.HTTP_2});
        params.setEndpointIdentificationAlgorithm(null);
        params.setServerNames(List.of());
        if (server) {
            params.setNeedClientAuth(requireClientCertificate);
        }
        engine.setSSLParameters(params);
        return engine;
    }
}
