package dev.hbone.spiffe.tls;

import static java.util.Objects.requireNonNull;

import java.net.Socket;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLEngine;

/**
 * Per-connection {@link HandshakeBinding}s, keyed by the {@link SSLEngine} (or {@link Socket}) <em>instance</em>.
 *
 * <p>The transport binds an engine before its handshake starts and unbinds it when the handshake completes or the
 * connection closes; {@link SpiffeKeyManager} and {@link SpiffeTrustManager} look the binding up from the engine JSSE
 * hands them. An optional default binding answers for engines and sockets that were not bound (single-identity
 * users, and the socket-based JSSE callbacks). Thread-safe.
 */
public final class HandshakeBindings {
    private final Map<IdentityKey, HandshakeBinding> bindings = new ConcurrentHashMap<>();
    private final HandshakeBinding defaultBinding;

    /** Creates bindings without a default: an unbound connection has no identity and its handshake fails. */
    public HandshakeBindings() {
        this.defaultBinding = null;
    }

    /**
     * Creates bindings with a default for unbound connections.
     *
     * @param defaultBinding the binding of every connection not bound explicitly
     */
    public HandshakeBindings(HandshakeBinding defaultBinding) {
        this.defaultBinding = requireNonNull(defaultBinding, "defaultBinding");
    }

    /**
     * Binds an engine.
     *
     * @param engine the engine the transport created
     * @param binding its binding
     */
    public void bind(SSLEngine engine, HandshakeBinding binding) {
        bindings.put(new IdentityKey(requireNonNull(engine, "engine")), requireNonNull(binding, "binding"));
    }

    /**
     * Unbinds an engine.
     *
     * @param engine the engine
     * @return its binding, if it was bound
     */
    public Optional<HandshakeBinding> unbind(SSLEngine engine) {
        return Optional.ofNullable(bindings.remove(new IdentityKey(requireNonNull(engine, "engine"))));
    }

    /**
     * Binds a socket (an {@code SSLSocket}).
     *
     * @param socket the socket
     * @param binding its binding
     */
    public void bind(Socket socket, HandshakeBinding binding) {
        bindings.put(new IdentityKey(requireNonNull(socket, "socket")), requireNonNull(binding, "binding"));
    }

    /**
     * Unbinds a socket.
     *
     * @param socket the socket
     * @return its binding, if it was bound
     */
    public Optional<HandshakeBinding> unbind(Socket socket) {
        return Optional.ofNullable(bindings.remove(new IdentityKey(requireNonNull(socket, "socket"))));
    }

    /**
     * Returns the binding of an engine, else the default binding.
     *
     * @param engine the engine, or {@code null} (JSSE passes null when there is none)
     * @return the binding, or empty if neither exists
     */
    public Optional<HandshakeBinding> lookup(SSLEngine engine) {
        return Optional.ofNullable(find(engine));
    }

    /**
     * Returns the binding of a socket, else the default binding.
     *
     * @param socket the socket, or {@code null} (JSSE passes null when there is none)
     * @return the binding, or empty if neither exists
     */
    public Optional<HandshakeBinding> lookup(Socket socket) {
        return Optional.ofNullable(find(socket));
    }

    /** Returns the default binding, if any. */
    public Optional<HandshakeBinding> defaultBinding() {
        return Optional.ofNullable(defaultBinding);
    }

    /** Returns how many engines and sockets are bound (a growing number means the transport leaks bindings). */
    public int size() {
        return bindings.size();
    }

    HandshakeBinding find(Object connection) {
        if (connection == null) {
            return defaultBinding;
        }
        HandshakeBinding b = bindings.get(new IdentityKey(connection));
        return b != null ? b : defaultBinding;
    }

    /** Identity semantics whatever the engine class does with equals/hashCode. */
    private static final class IdentityKey {
        private final Object target;

        IdentityKey(Object target) {
            this.target = target;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof IdentityKey && ((IdentityKey) o).target == target;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(target);
        }
    }
}
