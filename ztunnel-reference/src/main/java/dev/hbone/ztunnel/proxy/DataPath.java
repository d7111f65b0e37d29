package dev.hbone.ztunnel.proxy;

import static java.util.Objects.requireNonNull;

import dev.hbone.authz.CompiledPolicies;
import dev.hbone.authz.Destination;
import dev.hbone.netty.HboneTls;
import dev.hbone.netty.NettyHboneClient;
import dev.hbone.netty.internal.HalfClosedReadGuard;
import dev.hbone.netty.internal.Transports;
import dev.hbone.ztunnel.accesslog.AccessLog;
import dev.hbone.ztunnel.cli.ProxyConfig;
import dev.hbone.ztunnel.identity.ProxyCertificates;
import dev.hbone.ztunnel.internal.ByteCounter;
import dev.hbone.ztunnel.lifecycle.Drainable;
import dev.hbone.ztunnel.metrics.ProxyMetrics;
import dev.hbone.ztunnel.route.EndpointPicker;
import dev.hbone.ztunnel.route.InboundRouter;
import dev.hbone.ztunnel.route.OutboundRouter;
import dev.hbone.ztunnel.route.ProxySettings;
import dev.hbone.ztunnel.state.ProxyState;
import dev.hbone.ztunnel.state.ProxyStateHolder;
import dev.hbone.ztunnel.state.Workload;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node proxy's data path: one event-loop group, one pooled HBONE client, and the four listeners — inbound HBONE
 * (15008), inbound plaintext (15006), outbound capture (15001, TPROXY) and SOCKS5 (15080). Each listener is a
 * {@link Drainable}. Every decision comes from the routers and the authorization snapshot current when a
 * connection arrives; open inbound connections are re-checked when the policies change.
 */
public final class DataPath implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DataPath.class);

    /** ztunnel's upstream connect timeout. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private final ProxyConfig config;
    private final ProxyStateHolder state;
    private final Supplier<CompiledPolicies> policies;
    private final ProxyMetrics metrics;
    private final AccessLog accessLog;
    private final DataPathOptions options;
    private final EventLoopGroup group;
    private final HboneTls tls;
    private final NettyHboneClient client;
    private final ProxySettings settings;
    private final InboundRouter inboundRouter;
    private final OutboundRouter outboundRouter;
    private final LiveConnections live = new LiveConnections();
    private final List<Drainable> listeners = new ArrayList<>();
    private InboundHboneListener inbound;
    private InboundPlaintextListener plaintext;
    private OutboundListener outbound;
    private Socks5Listener socks5;

    private DataPath(ProxyConfig config, ProxyStateHolder state, Supplier<CompiledPolicies> policies,
            ProxyCertificates certificates, ProxyMetrics metrics, AccessLog accessLog, DataPathOptions options) {
        this.config = config;
        this.state = state;
        this.policies = policies;
        this.metrics = metrics;
        this.accessLog = accessLog;
        this.options = options;
        this.group = Transports.newGroup(config.workerThreads(), "ztunnel-data");
        this.tls = HboneTls.spiffe(certificates.store(), certificates.trustBundles());
        this.client = NettyHboneClient.builder().tls(tls).eventLoopGroup(group).openTimeout(CONNECT_TIMEOUT).build();
        Set<Integer> ownPorts = new HashSet<>(ProxySettings.defaults().illegalPorts());
        for (InetSocketAddress a : List.of(config.inboundAddress(), config.inboundPlaintextAddress(),
                config.outboundAddress())) {
            if (a.getPort() != 0) {
                ownPorts.add(a.getPort());
            }
        }
        this.settings = ProxySettings.defaults().withNetwork(config.network()).withNode(config.nodeName())
                .withIllegalPorts(ownPorts);
        this.inboundRouter = new InboundRouter(settings);
        this.outboundRouter = new OutboundRouter(settings, EndpointPicker.weightedRandom());
    }

    /**
     * Binds the listeners and starts proxying.
     *
     * @param config the settings (listener addresses, network, node, worker threads)
     * @param state the workloads and services (read per connection)
     * @param policies the authorization snapshot (read per connection)
     * @param certificates the workload certificates and trust bundles
     * @param metrics where connections are counted
     * @param accessLog where finished connections are logged
     * @param options data-path options (test seams)
     * @return the running data path
     * @throws IOException if a listener cannot be bound (the message names which)
     */
    public static DataPath start(ProxyConfig config, ProxyStateHolder state, Supplier<CompiledPolicies> policies,
            ProxyCertificates certificates, ProxyMetrics metrics, AccessLog accessLog, DataPathOptions options)
            throws IOException {
        requireNonNull(config, "config");
        requireNonNull(state, "state");
        requireNonNull(policies, "policies");
        requireNonNull(certificates, "certificates");
        requireNonNull(metrics, "metrics");
        requireNonNull(accessLog, "accessLog");
        requireNonNull(options, "options");
        DataPath dp = new DataPath(config, state, policies, certificates, metrics, accessLog, options);
        try {
            dp.inbound = new InboundHboneListener(dp, config.inboundAddress());
            dp.listeners.add(dp.inbound);
            dp.plaintext = new InboundPlaintextListener(dp, config.inboundPlaintextAddress());
            dp.listeners.add(dp.plaintext);
            dp.outbound = new OutboundListener(dp, config.outboundAddress());
            dp.listeners.add(dp.outbound);
            if (config.socks5Enabled()) {
                dp.socks5 = new Socks5Listener(dp, config.socks5Address());
                dp.listeners.add(dp.socks5);
            }
        } catch (IOException | RuntimeException e) {
            dp.close();
            throw e;
        }
        log.info("data path: inbound HBONE {}, inbound plaintext {}, outbound {}, SOCKS5 {} ({} transport, "
                        + "TLS provider {}, key exchange {}, {} worker threads)",
                ProxyConfig.format(dp.inbound.localAddress()), ProxyConfig.format(dp.plaintext.localAddress()),
                ProxyConfig.format(dp.outbound.localAddress()),
                dp.socks5 == null ? "off (--enable-socks5)" : ProxyConfig.format(dp.socks5.localAddress()),
                Transports.isEpoll() ? "epoll" : "nio", dp.tls.provider(),
                dp.tls.postQuantumKeyExchange() ? "X25519MLKEM768 first" : "classical", config.workerThreads());
        return dp;
    }

    /** The listeners, to drain at shutdown. */
    public List<Drainable> drainables() {
        return List.copyOf(listeners);
    }

    /** Re-checks open inbound connections against {@code current} and closes those it denies. */
    public void policiesChanged(CompiledPolicies previous, CompiledPolicies current) {
        live.onSnapshotChanged(previous, current);
    }

    /** The bound address of the inbound HBONE listener. */
    public InetSocketAddress inboundAddress() {
        return inbound.localAddress();
    }

    /** The bound address of the inbound plaintext listener. */
    public InetSocketAddress inboundPlaintextAddress() {
        return plaintext.localAddress();
    }

    /** The bound address of the outbound capture listener. */
    public InetSocketAddress outboundAddress() {
        return outbound.localAddress();
    }

    /** The bound address of the SOCKS5 listener, if it is enabled ({@code --enable-socks5}). */
    public java.util.Optional<InetSocketAddress> socks5Address() {
        return socks5 == null ? java.util.Optional.empty() : java.util.Optional.of(socks5.localAddress());
    }

    /** Open inbound connections whose authorization is re-checked on policy changes. */
    public int liveInboundConnections() {
        return live.size();
    }

    /** Stops the HBONE client and the event loops (after the listeners drained). */
    @Override
    public void close() {
        for (Drainable d : listeners) {
            d.forceClose();
        }
        client.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    // For the listeners.

    ProxyConfig config() {
        return config;
    }

    ProxyState state() {
        return state.current();
    }

    CompiledPolicies policies() {
        return policies.get();
    }

    ProxyMetrics metrics() {
        return metrics;
    }

    AccessLog accessLog() {
        return accessLog;
    }

    DataPathOptions options() {
        return options;
    }

    EventLoopGroup group() {
        return group;
    }

    HboneTls tls() {
        return tls;
    }

    NettyHboneClient client() {
        return client;
    }

    ProxySettings settings() {
        return settings;
    }

    InboundRouter inboundRouter() {
        return inboundRouter;
    }

    OutboundRouter outboundRouter() {
        return outboundRouter;
    }

    LiveConnections live() {
        return live;
    }

    /** The local workload (this node's) that owns {@code ip}. */
    Optional<Workload> localWorkload(InetAddress ip) {
        return state().workloadByAddress(settings.network(), ip).filter(w -> settings.servesNode(w.node()));
    }

    /** The authorization view of a destination workload. */
    static Destination destination(Workload w) {
        return Destination.builder(w.namespace()).labels(w.labels()).attachedPolicies(w.authorizationPolicies())
                .build();
    }

    /** Opens a TCP connection with ztunnel's timeout, half-closure allowed and autoRead off until relaying. */
    static ChannelFuture connectTcp(EventLoop loop, InetSocketAddress to, Optional<InetAddress> bind,
            ByteCounter counter) {
        Bootstrap b = new Bootstrap().group(loop).channel(Transports.socketChannel())
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 0) // our timer below, which the channel does not keep
                .handler(new io.netty.channel.ChannelInitializer<io.netty.channel.Channel>() {
                    @Override
                    protected void initChannel(io.netty.channel.Channel ch) {
                        ch.pipeline().addLast(HalfClosedReadGuard.INSTANCE, counter);
                    }
                });
        return Transports.connectTimeout(Transports.connect(b, to, bind.orElse(null)), CONNECT_TIMEOUT.toMillis(), to);
    }

    /** Whether this host can bind {@code ip} as a source address (loopback, or assigned to an interface). */
    static boolean bindable(InetAddress ip) {
        if (ip.isLoopbackAddress()) {
            return true;
        }
        try {
            return NetworkInterface.getByInetAddress(ip) != null;
        } catch (SocketException e) {
            return false;
        }
    }
}
