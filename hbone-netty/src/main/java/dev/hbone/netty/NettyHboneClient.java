package dev.hbone.netty;

import dev.hbone.api.HboneClient;
import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelInfo;
import dev.hbone.api.TunnelListener;
import dev.hbone.api.TunnelRequest;
import dev.hbone.netty.internal.ClientConnection;
import dev.hbone.netty.internal.ClientStreamHandler;
import dev.hbone.netty.internal.ConnectionPool;
import dev.hbone.netty.internal.GracefulClose;
import dev.hbone.netty.internal.Listeners;
import dev.hbone.netty.internal.StreamByteAdapter;
import dev.hbone.netty.internal.StreamTunnel;
import dev.hbone.netty.internal.TlsEngineFactory;
import dev.hbone.netty.internal.Transports;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.concurrent.ScheduledFuture;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;

import static java.util.Objects.requireNonNull;

/**
 * An HBONE client on Netty: pools mTLS 1.3 + HTTP/2 connections and opens one CONNECT stream per tunnel.
 *
 * <pre>{@code
 * NettyHboneClient client = NettyHboneClient.builder().tls(tls).build();
 * Tunnel tunnel = client.open(TunnelRequest.builder()
 *         .authority("10.0.0.7:8080")
 *         .peerAddress(new InetSocketAddress("10.0.0.7", 15008))
 *         .sourceIdentity(me)
 *         .expectedIdentity(them)
 *         .build()).join();
 * }</pre>
 */
public final class NettyHboneClient implements HboneClient {
    private final EventLoopGroup group;
    private final boolean ownsGroup;
    private final HboneTls tls;
    private final TlsEngineFactory tlsFactory;
    private final TunnelListener listener;
    private final ConnectionPool pool = new ConnectionPool();
    private final ClientConnection.ClientSettings settings;
    private final Duration openTimeout;
    private final long handshakeTimeoutMillis;
    private final CompletableFuture<Void> drained = new CompletableFuture<>();
    private volatile boolean draining;

    private NettyHboneClient(Builder b) {
        this.ownsGroup = b.group == null;
        this.group = ownsGroup ? Transports.newGroup(b.threads, "hbone-client") : b.group;
        this.tls = b.tls;
        this.tlsFactory = new TlsEngineFactory(b.tls, false);
        this.listener = b.listener;
        this.openTimeout = b.openTimeout;
        this.handshakeTimeoutMillis = b.handshakeTimeout.toMillis();
        this.settings = new ClientConnection.ClientSettings(b.maxStreamsPerConnection, b.idleTimeout.toNanos(),
                                                            b.pingInterval.toNanos(), b.pingTimeout.toNanos(),
                                                            HboneDefaults.DRAIN_DEADLINE.toMillis(),
                                                            b.resetLimits, b.listener);
    }

    /** A new builder. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public CompletableFuture<Tunnel> open(TunnelRequest request) {
        return openTunnel(request).thenApply(t -> t);
    }

    /** Like {@link #open}, typed as a {@link NettyTunnel}. */
    public CompletableFuture<NettyTunnel> openTunnel(TunnelRequest request) {
        requireNonNull(request, "request");
        StreamTunnel[] tunnel = new StreamTunnel[1];
        return openStream(request, (connection, stream) -> {
            TunnelInfo info = tunnelInfo(request, connection, stream);
            tunnel[0] = new StreamTunnel(stream, info, listener);
            Listeners.opened(listener, info);
            return tunnel[0];
        }).thenApply(stream -> tunnel[0]);
    }

    /**
     * Opens a tunnel and hands it over as a Netty channel, for zero-copy splicing to another channel (see
     * {@link ChannelSplice}). {@code handler} is added to the stream's pipeline when the 200 arrives, before any
     * DATA is read; autoRead is off, the handler reads when ready. Inbound messages are
     * {@link io.netty.handler.codec.http2.Http2DataFrame}s and {@link io.netty.handler.codec.http2.Http2ResetFrame}s.
     * The client's {@link TunnelListener} sees the tunnel like any other: {@code onOpened} at the 200, {@code onClosed}
     * with the DATA payload bytes each way when the stream ends, {@code onFailed} if it cannot be opened.
     */
    public CompletableFuture<Http2StreamChannel> openChannel(TunnelRequest request, ChannelHandler handler) {
        requireNonNull(request, "request");
        requireNonNull(handler, "handler");
        return openStream(request, (connection, stream) -> {
            // The stream's first handler counts the bytes on its way anyway: it reports raw tunnels too.
            ClientStreamHandler first = stream.pipeline().get(ClientStreamHandler.class);
            if (first != null && listener != TunnelListener.NOOP) { // nobody to report to: keep nothing per tunnel
                first.reportRaw(listener, tunnelInfo(request, connection, stream));
            }
            return handler;
        });
    }

    private static TunnelInfo tunnelInfo(TunnelRequest request, ClientConnection connection, Http2StreamChannel stream) {
        return new TunnelInfo(request.sourceIdentity(), connection.peerIdentity(), request.authority(),
                              (InetSocketAddress) stream.localAddress(), (InetSocketAddress) stream.remoteAddress(),
                              request.headers());
    }

    /** Pooled connections right now (all keys). */
    public int pooledConnections() {
        return pool.size();
    }

    private CompletableFuture<Http2StreamChannel> openStream(
            TunnelRequest request, BiFunction<ClientConnection, Http2StreamChannel, ChannelHandler> onEstablished) {
        CompletableFuture<Http2StreamChannel> result = new CompletableFuture<>();
        if (draining) {
            result.completeExceptionally(TunnelException.of(TunnelException.Reason.SHUTTING_DOWN,
                                                            "the client is draining"));
            return result;
        }
        Duration timeout = request.timeout().orElse(openTimeout);
        ScheduledFuture<?> timer = group.schedule(() -> {
            result.completeExceptionally(TunnelException.of(TunnelException.Reason.TIMEOUT,
                                                            "opening " + request.authority() + " took longer than "
                                                            + timeout));
        }, timeout.toNanos(), TimeUnit.NANOSECONDS);
        result.whenComplete((c, e) -> {
            timer.cancel(false);
            if (e != null) {
                Listeners.failed(listener, request.authority(), unwrap(e));
            }
        });
        if (request.gateway().isPresent()) {
            openDouble(request, onEstablished, result);
        } else {
            openPooled(request, onEstablished, result);
        }
        return result;
    }

    private void openPooled(TunnelRequest request,
                            BiFunction<ClientConnection, Http2StreamChannel, ChannelHandler> onEstablished,
                            CompletableFuture<Http2StreamChannel> result) {
        ConnectionPool.Key key = new ConnectionPool.Key(request.sourceIdentity(), request.expectedIdentities(),
                                                        request.peerAddress(), request.sourceAddress().orElse(null));
        pool.acquire(key, () -> connect(key)).whenComplete((connection, e) -> {
            if (e != null) {
                result.completeExceptionally(unwrap(e));
                return;
            }
            if (result.isDone()) {
                pool.release(key, connection);
                return;
            }
            openOn(connection, request, Map.of(), onEstablished, result, () -> pool.release(key, connection));
        });
    }

    /** Double HBONE: an outer tunnel to the gateway, a second mTLS + HTTP/2 connection inside it, the inner CONNECT. */
    private void openDouble(TunnelRequest request,
                            BiFunction<ClientConnection, Http2StreamChannel, ChannelHandler> onEstablished,
                            CompletableFuture<Http2StreamChannel> result) {
        TunnelRequest.Gateway gateway = request.gateway().orElseThrow();
        TunnelRequest.Builder outerBuilder = TunnelRequest.builder()
                .authority(request.authority())
                .peerAddress(gateway.address())
                .sourceIdentity(request.sourceIdentity())
                .expectedIdentities(gateway.identities());
        request.sourceAddress().ifPresent(outerBuilder::sourceAddress);
        request.headers().forEach(outerBuilder::header);
        TunnelRequest outer = outerBuilder.build();
        CompletableFuture<Http2StreamChannel> outerStream = new CompletableFuture<>();
        openPooled(outer, (connection, stream) -> new StreamByteAdapter(), outerStream);
        result.whenComplete((c, e) -> {
            if (e != null) {
                outerStream.thenAccept(Channel::close);
            }
        });
        outerStream.whenComplete((stream, e) -> {
            if (e != null) {
                result.completeExceptionally(unwrap(e));
                return;
            }
            stream.eventLoop().execute(() -> {
                // The inner connection owns this stream now; TLS and the inner HTTP/2 windows bound what it reads.
                stream.config().setAutoRead(true);
                ClientConnection inner = ClientConnection.install(stream, tlsFactory, tls.bindings(),
                                                                  request.sourceIdentity(),
                                                                  request.expectedIdentities(),
                                                                  handshakeTimeoutMillis, settings, c -> { });
                inner.ready().whenComplete((connection, e2) -> {
                    if (e2 != null) {
                        stream.close();
                        result.completeExceptionally(unwrap(e2));
                        return;
                    }
                    connection.tryReserve();
                    openOn(connection, request, Map.of("x-forwarded-network", gateway.originNetwork()), onEstablished,
                           result, stream::close);
                });
            });
        });
    }

    private void openOn(ClientConnection connection, TunnelRequest request, Map<String, String> extraHeaders,
                        BiFunction<ClientConnection, Http2StreamChannel, ChannelHandler> onEstablished,
                        CompletableFuture<Http2StreamChannel> result, Runnable onStreamClosed) {
        new Http2StreamChannelBootstrap(connection.channel()).open().addListener(f -> {
            if (!f.isSuccess()) {
                onStreamClosed.run();
                result.completeExceptionally(TunnelException.of(TunnelException.Reason.CONNECTION_CLOSED,
                                                                "cannot open a stream: " + f.cause(), f.cause()));
                return;
            }
            Http2StreamChannel stream = (Http2StreamChannel) f.getNow();
            stream.closeFuture().addListener(x -> onStreamClosed.run());
            ClientStreamHandler handler = new ClientStreamHandler(stream, result,
                                                                  s -> onEstablished.apply(connection, s));
            stream.pipeline().addLast(handler);
            handler.sendRequest(ClientStreamHandler.connectHeaders(request, extraHeaders));
            result.whenComplete((c, e) -> {
                if (e != null) {
                    stream.close(); // gave up (timeout, refusal): RST_STREAM(CANCEL) if still open
                }
            });
        });
    }

    private CompletableFuture<ClientConnection> connect(ConnectionPool.Key key) {
        CompletableFuture<ClientConnection> made = new CompletableFuture<>();
        tls.loadIdentity(key.source()).whenComplete((v, e) -> {
            if (e != null) {
                made.completeExceptionally(TunnelException.of(TunnelException.Reason.TLS_HANDSHAKE,
                                                              "no certificate for " + key.source() + ": " + e, e));
            } else {
                dial(key, made);
            }
        });
        return made;
    }

    private void dial(ConnectionPool.Key key, CompletableFuture<ClientConnection> made) {
        Bootstrap bootstrap = new Bootstrap()
                .group(group)
                .channel(Transports.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(
                        HboneDefaults.CONNECTION_WRITE_BUFFER_LOW, HboneDefaults.CONNECTION_WRITE_BUFFER_HIGH))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, openTimeout.toMillis()))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ClientConnection connection = ClientConnection.install(
                                ch, tlsFactory, tls.bindings(), key.source(), key.expected(), handshakeTimeoutMillis,
                                settings, c -> pool.remove(key, c));
                        connection.ready().whenComplete((c, e) -> {
                            if (e != null) {
                                made.completeExceptionally(e);
                            } else {
                                made.complete(c);
                            }
                        });
                    }
                });
        ChannelFuture connecting = Transports.connect(bootstrap, key.destination(), key.sourceIp());
        connecting.addListener(f -> {
            if (!f.isSuccess()) {
                made.completeExceptionally(TunnelException.of(TunnelException.Reason.CONNECT_FAILED,
                                                              "cannot connect to " + key.destination() + ": "
                                                              + f.cause(), f.cause()));
            }
        });
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
        List<CompletableFuture<Void>> closes = new ArrayList<>();
        for (ClientConnection c : pool.close()) {
            closes.add(GracefulClose.close(c.channel(), deadline));
        }
        CompletableFuture.allOf(closes.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
            if (ownsGroup) {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            }
            drained.complete(null);
        });
        return drained;
    }

    @Override
    public void close() {
        drain(HboneDefaults.DRAIN_DEADLINE).join();
    }

    static TunnelException unwrap(Throwable e) {
        Throwable t = e;
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t instanceof TunnelException te ? te
                                               : TunnelException.of(TunnelException.Reason.CONNECTION_CLOSED,
                                                                    String.valueOf(t), t);
    }

    /** Builds a {@link NettyHboneClient}; {@link #tls} is required. */
    public static final class Builder extends HboneEndpointBuilder<Builder> {
        private int maxStreamsPerConnection = HboneDefaults.CLIENT_MAX_STREAMS_PER_CONNECTION;
        private Duration idleTimeout = HboneDefaults.POOL_IDLE_TIMEOUT;
        private Duration openTimeout = HboneDefaults.OPEN_TIMEOUT;

        private Builder() { }

        /** Streams per pooled connection (capped by the peer's MAX_CONCURRENT_STREAMS); default 100. */
        public Builder maxStreamsPerConnection(int maxStreams) {
            if (maxStreams < 1) {
                throw new IllegalArgumentException("maxStreams must be >= 1: " + maxStreams);
            }
            this.maxStreamsPerConnection = maxStreams;
            return this;
        }

        /** Idle pooled connections are closed after this; default 5 minutes. */
        public Builder idleTimeout(Duration idleTimeout) {
            this.idleTimeout = requireNonNull(idleTimeout, "idleTimeout");
            return this;
        }

        /** Default time allowed to open a tunnel; default 10 s. */
        public Builder openTimeout(Duration openTimeout) {
            this.openTimeout = requireNonNull(openTimeout, "openTimeout");
            return this;
        }

        /** Builds the client (no connection is made until the first {@link NettyHboneClient#open}). */
        public NettyHboneClient build() {
            requireNonNull(tls, "tls");
            return new NettyHboneClient(this);
        }
    }
}
