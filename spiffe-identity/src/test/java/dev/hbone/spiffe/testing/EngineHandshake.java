package dev.hbone.spiffe.testing;

import java.nio.ByteBuffer;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Test fixture: runs a TLS handshake between two {@link SSLEngine}s in memory (wrap/unwrap loop, delegated tasks run
 * inline), with no sockets and no threads. Works with any provider's engines (JDK, netty-tcnative).
 */
public final class EngineHandshake {
    private EngineHandshake() {
    }

    /**
     * The outcome of a handshake.
     *
     * @param clientError what the client engine threw, or null
     * @param serverError what the server engine threw, or null
     * @param serverChainSeenByClient the certificates the server presented, or null
     * @param clientChainSeenByServer the certificates the client presented, or null
     * @param protocol the negotiated protocol, or null
     */
    public record Result(Exception clientError, Exception serverError, X509Certificate[] serverChainSeenByClient,
                         X509Certificate[] clientChainSeenByServer, String protocol) {
        /** Returns whether both sides completed. */
        public boolean succeeded() {
            return clientError == null && serverError == null && serverChainSeenByClient != null
                    && clientChainSeenByServer != null;
        }

        /** Returns the first error of either side, for messages. */
        public Exception anyError() {
            return clientError != null ? clientError : serverError;
        }
    }

    /**
     * Handshakes {@code client} (already in client mode) with {@code server}.
     *
     * @param client the client engine
     * @param server the server engine
     * @return the outcome
     */
    public static Result run(SSLEngine client, SSLEngine server) {
        int packet = Math.max(client.getSession().getPacketBufferSize(), server.getSession().getPacketBufferSize());
        int app = Math.max(client.getSession().getApplicationBufferSize(),
                server.getSession().getApplicationBufferSize());
        ByteBuffer empty = ByteBuffer.allocate(0);
        ByteBuffer clientToServer = ByteBuffer.allocate(packet * 4);
        ByteBuffer serverToClient = ByteBuffer.allocate(packet * 4);
        ByteBuffer clientApp = ByteBuffer.allocate(app * 2);
        ByteBuffer serverApp = ByteBuffer.allocate(app * 2);
        Exception clientError = null;
        Exception serverError = null;
        try {
            client.beginHandshake();
            server.beginHandshake();
        } catch (SSLException e) {
            return new Result(e, null, null, null, null);
        }
        for (int i = 0; i < 200; i++) {
            boolean progress = false;
            if (clientError == null) {
                try {
                    progress |= client.wrap(empty, clientToServer).bytesProduced() > 0;
                    runTasks(client);
                } catch (SSLException e) {
                    clientError = e;
                }
            }
            if (serverError == null) {
                try {
                    progress |= server.wrap(empty, serverToClient).bytesProduced() > 0;
                    runTasks(server);
                } catch (SSLException e) {
                    serverError = e;
                }
            }
            clientToServer.flip();
            if (serverError == null && clientToServer.hasRemaining()) {
                try {
                    progress |= server.unwrap(clientToServer, serverApp).bytesConsumed() > 0;
                    runTasks(server);
                } catch (SSLException e) {
                    serverError = e;
                }
            }
            clientToServer.compact();
            serverToClient.flip();
            if (clientError == null && serverToClient.hasRemaining()) {
                try {
                    progress |= client.unwrap(serverToClient, clientApp).bytesConsumed() > 0;
                    runTasks(client);
                } catch (SSLException e) {
                    clientError = e;
                }
            }
            serverToClient.compact();
            if (clientError != null || serverError != null) {
                if (!progress) {
                    break;
                }
                continue;
            }
            if (done(client) && done(server) && !progress) {
                break;
            }
        }
        if (clientError != null || serverError != null) {
            return new Result(clientError, serverError, null, null, null);
        }
        return new Result(null, null, peer(client.getSession()), peer(server.getSession()),
                client.getSession().getProtocol());
    }

    private static boolean done(SSLEngine e) {
        HandshakeStatus s = e.getHandshakeStatus();
        return s == HandshakeStatus.NOT_HANDSHAKING || s == HandshakeStatus.FINISHED;
    }

    private static void runTasks(SSLEngine engine) {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    private static X509Certificate[] peer(SSLSession session) {
        try {
            Certificate[] certs = session.getPeerCertificates();
            X509Certificate[] x = new X509Certificate[certs.length];
            for (int i = 0; i < certs.length; i++) {
                x[i] = (X509Certificate) certs[i];
            }
            return x;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }
}
