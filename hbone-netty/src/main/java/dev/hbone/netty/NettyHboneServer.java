package dev.hbone.netty;

import dev.hbone.api.HboneServer;
import dev.hbone.api.TunnelHandler;
import dev.hbone.api.TunnelListener;
import dev.hbone.netty.internal.GracefulClose;
import dev.hbone.netty.internal.ServerConnection;
import dev.hbone.netty.internal.TlsEngineFactory;
import dev.hbone.netty.internal.Transports;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.spiffe.spiffeid.SpiffeId;

import javax.net.ssl.SSLEngine;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static java.util.Objects.requireNonNull;

/**
 * An HBONE server on Netty: accepts mTLS 1.3 connections, speaks HTTP/2 with HBONE's settings, validates each
 * CONNECT and hands it to a {@link TunnelHandler}.
 *
 * <pre>{@code
 * HboneServer server = NettyHboneServer.builder()
 *         .bind(new InetSocketAddress("0.0.0.0", 15008))
 *         .tls(tls)
 *         .identity(SpiffeIds.kubernetes("cluster.local", "default", "echo"))
 *         .handler(TcpForwarder.builder().build())
 *         .start();
 * }</pre>
 */
public final class NettyHboneServer implements HboneServer {
    private final Channel serverChannel;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final EventLoopGroup group;
    private final boolean ownsGroup;
    private final CompletableFuture<Void> drained = new CompletableFuture<>();
    private volatile boolean draining;

    private NettyHboneServer(Builder b) throws InterruptedException {
        this.ownsGroup = b.group == null;
        this.group = ownsGroup ? Transports.newGroup(b.threads, "hbone-server") : b.group;
        HboneTls tls = b.tls;
        TlsEngineFactory tlsFactory = new TlsEngineFactory(tls, true, !b.withoutClientCertificates);
        TlsBindings bindings = b.tls.bindings();
        Function<InetSocketAddress, SpiffeId> identity = b.identity;
        TunnelHandler handler = b.handler;
        TunnelListener listener = b.listener;
        long handshakeMillis = b.handshakeTimeout.toMillis();
        ServerConnection.ServerSettings settings = new ServerConnection.ServerSettings(
                HboneDefaults.DRAIN_DEADLINE.toMillis(), b.pingInterval.toNanos(), b.pingTimeout.toNanos(),
                b.resetLimits);
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(Transports.serverChannel())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(
                        HboneDefaults.CONNECTION_WRITE_BUFFER_LOW, HboneDefaults.CONNECTION_WRITE_BUFFER_HIGH))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (draining) {
                            ch.close();
                            return;
                        }
                        connections.add(ch);
                        SpiffeId local = identity.apply(ch.localAddress());
                        CompletableFuture<?> loaded = tls.loadIdentity(local);
                        if (loaded.isDone() && !loaded.isCompletedExceptionally()) {
                            startTls(ch, local);
                            return;
                        }
                        // The identity's certificate is still being fetched: hold the ClientHello in the socket.
                        ch.config().setAutoRead(false);
                        loaded.whenComplete((v, e) -> ch.eventLoop().execute(() -> {
                            if (e != null) {
                                ch.close();
                                return;
                            }
                            startTls(ch, local);
                            ch.config().setAutoRead(true);
                        }));
                    }

                    private void startTls(SocketChannel ch, SpiffeId local) {
                        SSLEngine engine = tlsFactory.newEngine(ch.alloc());
                        bindings.bind(engine, local, java.util.Set.of());
                        SslHandler ssl = new SslHandler(engine);
                        ssl.setHandshakeTimeoutMillis(handshakeMillis);
                        ch.pipeline().addLast(ssl, new ServerConnection(engine, tlsFactory, bindings, local, handler, listener,
                                                                        settings));
                    }
                });
        ChannelFuture bound = bootstrap.bind(b.address).sync();
        this.serverChannel = bound.channel();
    }

    /** A new builder. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /** Open HBONE connections (for tests and metrics). */
    public int connectionCount() {
        return connections.size();
    }

    @Override
    public CompletableFuture<Void> drain(Duration deadline) {
        requireNonNull(deadline, "deadline");
        synchronized (this) {
            if (draining) {
                return drained;
            }
            draining = true;
        }
        // Stop listening first, then send the GOAWAYs: a client that reconnects on GOAWAY is refused at TCP level
        // instead of racing a listener that is still open (and having its handshake cut).
        serverChannel.close().addListener(closedListener -> {
            List<CompletableFuture<Void>> closes = new ArrayList<>();
            for (Channel ch : connections) {
                closes.add(GracefulClose.close(ch, deadline));
            }
            CompletableFuture.allOf(closes.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
                if (ownsGroup) {
                    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
                }
                drained.complete(null);
            });
        });
        return drained;
    }

    @Override
    public void close() {
        drain(HboneDefaults.DRAIN_DEADLINE).join();
    }

    /** Builds a {@link NettyHboneServer}; {@link #tls}, {@link #identity} and {@link #handler} are required. */
    public static final class Builder extends HboneEndpointBuilder<Builder> {
        private InetSocketAddress address = new InetSocketAddress(HboneDefaults.PORT);
        private Function<InetSocketAddress, SpiffeId> identity;
        private SpiffeId fixedIdentity;
        private TunnelHandler handler;
        private boolean withoutClientCertificates;

        private Builder() { }

        /**
         * <b>Unsafe, for HTTP/2 conformance testing only</b> (h2spec cannot present a client certificate): the
         * server asks for no client certificate, so connections reach HTTP/2 without proving an identity. Such a
         * connection has no peer identity, and every CONNECT on it is refused with 401 before the {@link
         * TunnelHandler} sees it; everything else (TLS rules, ALPN, HTTP/2 settings and limits, request validation)
         * is as usual. Never use it on a listener that carries traffic: HBONE's server side requires mutual TLS.
         */
        public Builder unsafeWithoutClientCertificatesForConformanceTesting() {
            this.withoutClientCertificates = true;
            return this;
        }

        /** Where to listen; default {@code 0.0.0.0:15008}. */
        public Builder bind(InetSocketAddress address) {
            this.address = requireNonNull(address, "address");
            return this;
        }

        /** The identity this server presents on every connection. */
        public Builder identity(SpiffeId identity) {
            requireNonNull(identity, "identity");
            this.fixedIdentity = identity;
            this.identity = local -> identity;
            return this;
        }

        /**
         * Chooses the identity to present by the local address a connection was accepted on (the destination
         * workload's IP on a node proxy), not by SNI. The certificate is loaded through
         * {@link HboneTls#loadIdentity} before the handshake reads the ClientHello.
         */
        public Builder identity(Function<InetSocketAddress, SpiffeId> identityByLocalAddress) {
            this.identity = requireNonNull(identityByLocalAddress, "identityByLocalAddress");
            this.fixedIdentity = null;
            return this;
        }

        /** Decides each CONNECT. */
        public Builder handler(TunnelHandler handler) {
            this.handler = requireNonNull(handler, "handler");
            return this;
        }

        /** Binds and starts the server. */
        public NettyHboneServer start() {
            requireNonNull(tls, "tls");
            requireNonNull(identity, "identity");
            requireNonNull(handler, "handler");
            try {
                if (fixedIdentity != null) {
                    tls.loadIdentity(fixedIdentity).get(HboneDefaults.HANDSHAKE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                }
                return new NettyHboneServer(this);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("cannot load the certificate of " + fixedIdentity + ": " + e, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while binding", e);
            }
        }
    }
}
