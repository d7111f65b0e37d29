package dev.hbone.benchmarks.e2e;

import dev.hbone.netty.HboneTls;
import dev.hbone.netty.internal.TlsEngineFactory;
import dev.hbone.netty.internal.Transports;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;

import javax.net.ssl.SSLEngine;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The harness's "TLS only" baseline: the same bytes as an HBONE path, through two relay processes joined by mutual
 * TLS 1.3 with the same engines, certificates and TLS provider as HBONE (hbone-netty's {@link TlsEngineFactory},
 * spiffe-identity's key and trust managers) but no HTTP/2 — so HBONE's framing, flow control and stream
 * multiplexing are what the comparison isolates. {@code --mode out} accepts plain TCP and dials TLS;
 * {@code --mode in} accepts TLS and dials plain TCP; {@code --plain} drops TLS (a two-hop TCP relay).
 *
 * <pre>
 * TlsRelay --mode out|in --ca-dir DIR --trust-domain TD --identity ID [--peer-identity ID] [--threads N] [--plain]
 *          --route LISTEN_IP:PORT=TARGET_IP:PORT ...
 * </pre>
 * Prints {@code READY} once bound; exits when stdin closes or reads {@code quit}.
 */
public final class TlsRelay {
    private TlsRelay() { }

    public static void main(String[] args) throws Exception {
        // The same buffer pooling as the proxy (ZtunnelMain), so the baseline runs the same allocator.
        if (System.getProperty("io.netty.allocator.lowMemory") == null) {
            System.setProperty("io.netty.allocator.lowMemory", "false");
        }
        String mode = null;
        Path caDir = null;
        String trustDomain = "cluster.local";
        SpiffeId identity = null;
        SpiffeId peer = null;
        int threads = 2;
        boolean plain = false;
        List<String[]> routes = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--mode" -> mode = args[++i];
                case "--ca-dir" -> caDir = Path.of(args[++i]);
                case "--trust-domain" -> trustDomain = args[++i];
                case "--identity" -> identity = SpiffeId.parse(args[++i]);
                case "--peer-identity" -> peer = SpiffeId.parse(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--plain" -> plain = true;
                case "--route" -> routes.add(args[++i].split("="));
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        boolean server = "in".equals(mode);
        if (!server && !"out".equals(mode)) {
            throw new IllegalArgumentException("--mode out|in");
        }
        TlsEngineFactory engines = null;
        HboneTls tls = null;
        IdentityStore store = null;
        if (!plain) {
            CertificateAuthority ca = CertificateAuthority.load(TrustDomain.parse(trustDomain), caDir);
            store = IdentityStore.builder(SvidSources.localCa(ca, Duration.ofHours(4))).build();
            store.fetch(identity).join();
            tls = HboneTls.spiffe(store, TrustBundles.of(ca.bundle()));
            engines = new TlsEngineFactory(tls, server);
            if (!server && peer == null) {
                throw new IllegalArgumentException("--peer-identity is required with --mode out");
            }
        }
        EventLoopGroup group = Transports.newGroup(threads, "relay");
        List<Channel> bound = new ArrayList<>();
        for (String[] route : routes) {
            InetSocketAddress listen = E2eAddresses.parse(route[0]);
            InetSocketAddress target = E2eAddresses.parse(route[1]);
            bound.add(new ServerBootstrap().group(group).channel(Transports.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 4096)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childHandler(new Accepted(target, server ? engines : null, server ? tls : null,
                                               server ? null : engines, server ? null : tls, identity, peer))
                    .bind(listen).sync().channel());
        }
        System.out.println("READY " + (plain ? "plain" : tls.provider()));
        System.out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null && !line.trim().equals("quit"); ) {
            // no other command
        }
        for (Channel c : bound) {
            c.close();
        }
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        if (store != null) {
            store.close();
        }
        System.exit(0);
    }

    /** Sets up one accepted connection: TLS (inbound side), then the dial to the target (TLS on the outbound side). */
    private static final class Accepted extends ChannelInitializer<Channel> {
        private final InetSocketAddress target;
        private final TlsEngineFactory acceptEngines;
        private final HboneTls acceptTls;
        private final TlsEngineFactory dialEngines;
        private final HboneTls dialTls;
        private final SpiffeId identity;
        private final SpiffeId peer;

        Accepted(InetSocketAddress target, TlsEngineFactory acceptEngines, HboneTls acceptTls,
                 TlsEngineFactory dialEngines, HboneTls dialTls, SpiffeId identity, SpiffeId peer) {
            this.target = target;
            this.acceptEngines = acceptEngines;
            this.acceptTls = acceptTls;
            this.dialEngines = dialEngines;
            this.dialTls = dialTls;
            this.identity = identity;
            this.peer = peer;
        }

        @Override
        protected void initChannel(Channel accepted) {
            if (acceptEngines != null) {
                SSLEngine engine = acceptEngines.newEngine(accepted.alloc());
                acceptTls.bindings().bind(engine, identity, Set.of());
                SslHandler ssl = new SslHandler(engine);
                ssl.handshakeFuture().addListener(f -> {
                    acceptTls.bindings().unbind(engine);
                    if (!f.isSuccess()) {
                        accepted.close();
                    }
                });
                accepted.pipeline().addLast(ssl);
                accepted.read(); // autoRead is off: the handshake needs the first flight
            }
            Pipe toTarget = new Pipe();
            accepted.pipeline().addLast(toTarget);
            Bootstrap b = new Bootstrap().group(accepted.eventLoop()).channel(Transports.socketChannel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.AUTO_READ, false);
            Pipe toAccepted = new Pipe();
            b.handler(new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel dialed) {
                    if (dialEngines != null) {
                        SSLEngine engine = dialEngines.newEngine(dialed.alloc());
                        dialTls.bindings().bind(engine, identity, Set.of(peer));
                        SslHandler ssl = new SslHandler(engine);
                        ssl.handshakeFuture().addListener(f -> dialTls.bindings().unbind(engine));
                        dialed.pipeline().addLast(ssl);
                    }
                    dialed.pipeline().addLast(toAccepted);
                }
            });
            ChannelFuture connect = b.connect(target);
            connect.addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    accepted.close();
                    return;
                }
                Channel dialed = f.channel();
                SslHandler ssl = dialed.pipeline().get(SslHandler.class);
                if (ssl == null) {
                    join(accepted, dialed, toTarget, toAccepted);
                } else {
                    dialed.read();
                    ssl.handshakeFuture().addListener(h -> {
                        if (h.isSuccess()) {
                            join(accepted, dialed, toTarget, toAccepted);
                        } else {
                            dialed.close();
                            accepted.close();
                        }
                    });
                }
            });
            accepted.closeFuture().addListener(f -> connect.channel().close());
        }

        private static void join(Channel accepted, Channel dialed, Pipe toTarget, Pipe toAccepted) {
            toTarget.connect(dialed);
            toAccepted.connect(accepted);
            accepted.config().setAutoRead(true);
            dialed.config().setAutoRead(true);
            accepted.read();
            dialed.read();
        }
    }

    /** Forwards what its channel reads to the peer channel (held until there is one), with backpressure. */
    private static final class Pipe extends ChannelInboundHandlerAdapter {
        private final ArrayDeque<Object> held = new ArrayDeque<>();
        private Channel self;
        private Channel peer;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            self = ctx.channel();
        }

        void connect(Channel peerChannel) {
            peer = peerChannel;
            Object m;
            boolean any = false;
            while ((m = held.poll()) != null) {
                peer.write(m);
                any = true;
            }
            if (any) {
                peer.flush();
            }
            if (!self.isActive()) {
                peer.close();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (peer == null) {
                held.add(msg);
            } else if (peer.isActive()) {
                peer.write(msg);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (peer != null) {
                peer.flush();
                if (!peer.isWritable()) {
                    ctx.channel().config().setAutoRead(false);
                }
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // This channel drained: the peer may read again.
            if (ctx.channel().isWritable() && peer != null && !peer.config().isAutoRead()) {
                peer.config().setAutoRead(true);
                peer.read();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Object m;
            while ((m = held.poll()) != null) {
                ReferenceCountUtil.release(m);
            }
            if (peer != null && peer.isActive()) {
                peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
