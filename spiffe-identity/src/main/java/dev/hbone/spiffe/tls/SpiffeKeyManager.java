package dev.hbone.spiffe.tls;

import static java.util.Objects.requireNonNull;

import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSnapshot;
import io.spiffe.spiffeid.SpiffeId;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Presents the X.509-SVID of the identity a connection acts for, taken from an {@link IdentityStore}.
 *
 * <p>The alias chosen for a handshake names one {@link SvidSnapshot} (identity and generation), and {@link
 * #getCertificateChain} and {@link #getPrivateKey} answer from that same snapshot, so a rotation between the calls
 * cannot pair a chain with the wrong key. Both providers ask for the key and chain on the thread that chose the
 * alias, right after choosing it: that thread's last choice answers first, so even a burst of rotations between the
 * calls (more than the store keeps resolvable) cannot leave a chosen alias without its key. Other aliases resolve
 * through the store, which keeps recently replaced generations. A new generation means a new alias, so providers
 * that cache key material by alias (netty-tcnative) stay correct. A rotation takes effect on the next handshake; no
 * {@code SSLContext} is rebuilt.
 *
 * <p>Which identity: the {@link HandshakeBinding} of the {@link SSLEngine} (or socket) from {@link
 * HandshakeBindings}, else its default binding. Works with the JDK provider and with Netty's OpenSSL/BoringSSL
 * provider. The key type JSSE asks for is honoured ({@code EC} for ECDSA SVIDs, {@code RSA} for RSA ones); client
 * issuer hints are ignored (SPIFFE peers rely on bundles, not CA names).
 */
public final class SpiffeKeyManager extends X509ExtendedKeyManager {
    private static final Logger logger = LoggerFactory.getLogger(SpiffeKeyManager.class);
    private static final char SEPARATOR = '#';

    private final IdentityStore store;
    private final HandshakeBindings bindings;
    /** The snapshot this thread chose last: the key and chain requests that follow a choice come on its thread. */
    private final ThreadLocal<SvidSnapshot> lastChosen = new ThreadLocal<>();

    /**
     * Creates a key manager that presents, per connection, the identity bound to it.
     *
     * @param store where the SVIDs are
     * @param bindings which identity each connection acts for
     */
    public SpiffeKeyManager(IdentityStore store, HandshakeBindings bindings) {
        this.store = requireNonNull(store, "store");
        this.bindings = requireNonNull(bindings, "bindings");
    }

    /**
     * Creates a key manager that always presents one identity (single-identity users).
     *
     * @param store where the SVID is
     * @param identity the identity to present
     */
    public SpiffeKeyManager(IdentityStore store, SpiffeId identity) {
        this(store, new HandshakeBindings(HandshakeBinding.server(requireNonNull(identity, "identity"))));
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return choose(bindings.find(engine), keyTypes, engine);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return choose(bindings.find(engine), keyType == null ? null : new String[] {keyType}, engine);
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return choose(bindings.find(socket), keyTypes, socket);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return choose(bindings.find(socket), keyType == null ? null : new String[] {keyType}, socket);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        SvidSnapshot s = resolve(alias);
        return s == null ? null : s.chain();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        SvidSnapshot s = resolve(alias);
        return s == null ? null : s.privateKey();
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return currentAliases(keyType);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return currentAliases(keyType);
    }

    /**
     * Returns the alias naming a snapshot: {@code <generation>#<SPIFFE ID>}.
     *
     * @param snapshot the snapshot
     * @return the alias
     */
    public static String alias(SvidSnapshot snapshot) {
        requireNonNull(snapshot, "snapshot");
        return snapshot.name();
    }

    private String choose(HandshakeBinding binding, String[] keyTypes, Object connection) {
        if (binding == null) {
            logger.warn("no handshake binding for {} and no default: presenting no certificate", connection);
            return null;
        }
        Optional<SvidSnapshot> snapshot = store.snapshot(binding.localIdentity());
        if (snapshot.isEmpty()) {
            logger.warn("no valid SVID for {}: presenting no certificate", binding.localIdentity());
            return null;
        }
        SvidSnapshot s = snapshot.get();
        if (!matches(s.keyAlgorithm(), keyTypes)) {
            // JSSE asks once per acceptable key type; another call will ask for ours.
            return null;
        }
        lastChosen.set(s);
        return alias(s);
    }

    private SvidSnapshot resolve(String alias) {
        if (alias == null) {
            return null;
        }
        SvidSnapshot chosen = lastChosen.get();
        if (chosen != null && alias.equals(chosen.name())) {
            return chosen;
        }
        int sep = alias.indexOf(SEPARATOR);
        if (sep <= 0) {
            return null;
        }
        long generation;
        try {
            generation = Long.parseLong(alias, 0, sep, 10);
        } catch (NumberFormatException e) {
            return null;
        }
        SvidSnapshot s = store.snapshot(generation).orElse(null);
        // Guard against an alias from another store that happens to share the number.
        return s != null && alias.equals(s.name()) ? s : null;
    }

    private String[] currentAliases(String keyType) {
        List<String> aliases = new ArrayList<>();
        Set<SpiffeId> ids = store.identities();
        for (SpiffeId id : ids) {
            store.snapshot(id).ifPresent(s -> {
                if (matches(s.keyAlgorithm(), keyType == null ? null : new String[] {keyType})) {
                    aliases.add(alias(s));
                }
            });
        }
        return aliases.isEmpty() ? null : aliases.toArray(new String[0]);
    }

    /**
     * JSSE key types: "EC", "RSA", "RSASSA-PSS"; netty-tcnative also passes TLS 1.2 forms like "EC_EC", "EC_RSA",
     * "DH_RSA". No key types at all (TLS 1.3 client certificate requests carry none) means any.
     */
    private static boolean matches(String keyAlgorithm, String[] keyTypes) {
        if (keyTypes == null || keyTypes.length == 0) {
            return true;
        }
        for (String type : keyTypes) {
            if (type == null) {
                continue;
            }
            if ("EC".equals(keyAlgorithm) && (type.equals("EC") || type.startsWith("EC_"))) {
                return true;
            }
            if ("RSA".equals(keyAlgorithm) && (type.equals("RSA") || type.equals("RSASSA-PSS"))) {
                return true;
            }
        }
        return false;
    }
}
