package dev.hbone.ztunnel.lifecycle;

import static java.util.Objects.requireNonNull;

import dev.hbone.authz.CompileOptions;
import dev.hbone.authz.CompileWarning;
import dev.hbone.authz.CompiledPolicies;
import dev.hbone.spiffe.store.SvidListener;
import dev.hbone.ztunnel.accesslog.AccessLog;
import dev.hbone.ztunnel.admin.AdminEndpoints;
import dev.hbone.ztunnel.admin.LogLevels;
import dev.hbone.ztunnel.admin.Readiness;
import dev.hbone.ztunnel.cli.ProxyConfig;
import dev.hbone.ztunnel.config.InvalidConfigException;
import dev.hbone.ztunnel.config.LocalConfig;
import dev.hbone.ztunnel.config.LocalConfigWatcher;
import dev.hbone.ztunnel.identity.ProxyCertificates;
import dev.hbone.ztunnel.metrics.ProxyMetrics;
import dev.hbone.ztunnel.proxy.DataPath;
import dev.hbone.ztunnel.proxy.DataPathOptions;
import dev.hbone.ztunnel.state.ProxyState;
import dev.hbone.ztunnel.state.ProxyStateHolder;
import dev.hbone.ztunnel.state.Workload;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.svid.x509svid.X509Svid;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node proxy process: configuration file and its watcher, state, certificates for the local workloads,
 * metrics, access log and the admin/stats/readiness endpoints, started in that order and stopped in reverse.
 * The data-path listeners plug in as {@link Drainable}s.
 *
 * <p>Configuration reloads: a refused file keeps the previous configuration, is logged with every error and
 * counted in {@code istio_local_config_reload_errors_total}. Readiness waits for the first valid configuration
 * and for the certificate of every identity the proxy acts for.
 *
 * <p>Shutdown ({@link #shutdown()}, SIGTERM, {@code POST /quitquitquit}): readiness turns 500, every
 * {@link Drainable} drains, those still busy after the termination grace period are force-closed, then the
 * endpoints stop.
 */
public final class NodeProxy implements AutoCloseable {
    /** How often the {@code --trust-bundle} files are checked for changes. */
    static final Duration TRUST_BUNDLE_POLL = Duration.ofSeconds(2);
    private static final Logger log = LoggerFactory.getLogger(NodeProxy.class);

    private final ProxyConfig config;
    private final ProxyMetrics metrics;
    private final Readiness readiness = new Readiness();
    private final ProxyStateHolder state = new ProxyStateHolder();
    private final AtomicReference<LocalConfig> localConfig = new AtomicReference<>(LocalConfig.EMPTY);
    private final AtomicReference<CompiledPolicies> policies = new AtomicReference<>();
    private final List<Drainable> drainables = new CopyOnWriteArrayList<>();
    private final AtomicBoolean shuttingDown = new AtomicBoolean();
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();
    private final AccessLog accessLog;
    private ProxyCertificates certificates;
    private LocalConfigWatcher watcher;
    private AdminEndpoints endpoints;
    private final DataPathOptions dataPathOptions;
    private volatile DataPath dataPath;

    private NodeProxy(ProxyConfig config, DataPathOptions dataPathOptions) {
        this.config = config;
        this.dataPathOptions = dataPathOptions;
        this.metrics = new ProxyMetrics(version());
        this.accessLog = new AccessLog(config.accessLogFormat());
        this.policies.set(LocalConfig.EMPTY.policySet().compile(CompileOptions.ztunnel()));
    }

    /** Returns this build's version (from the jar manifest, or {@code dev}). */
    public static String version() {
        String v = NodeProxy.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /**
     * Starts everything but the data path.
     *
     * @param config the settings
     * @return the running proxy
     * @throws IOException if a file cannot be read or an endpoint cannot be bound (the message names which)
     * @throws InterruptedException if interrupted while starting
     */
    public static NodeProxy start(ProxyConfig config) throws IOException, InterruptedException {
        return start(config, DataPathOptions.defaults());
    }

    /**
     * Starts everything, the data path with {@code dataPathOptions} (e.g. {@link DataPathOptions#disabled()}).
     *
     * @param config the settings
     * @param dataPathOptions the data path's options
     * @return the running proxy
     * @throws IOException if a file cannot be read or a listener or endpoint cannot be bound
     * @throws InterruptedException if interrupted while starting
     */
    public static NodeProxy start(ProxyConfig config, DataPathOptions dataPathOptions)
            throws IOException, InterruptedException {
        requireNonNull(config, "config");
        requireNonNull(dataPathOptions, "dataPathOptions");
        NodeProxy proxy = new NodeProxy(config, dataPathOptions);
        try {
            proxy.startComponents();
        } catch (IOException | InterruptedException | RuntimeException e) {
            proxy.stopComponents();
            throw e;
        }
        return proxy;
    }

    private void startComponents() throws IOException, InterruptedException {
        try {
            LogLevels.apply(config.logLevel());
        } catch (IllegalStateException e) {
            log.warn("{}", e.getMessage());
        }
        log.info("ztunnel (hbone-java) {} starting with settings:", version());
        for (String line : config.describe()) {
            log.info("  {}", line);
        }
        if (config.dnsCapture()) {
            log.warn("DNS capture (ISTIO_META_DNS_CAPTURE) is not supported yet; DNS is not proxied");
        }
        certificates = ProxyCertificates.create(config);
        certificates.watchTrustBundles(TRUST_BUNDLE_POLL); // a root rotation reaches the running proxy
        certificates.addListener(new SvidListener() {
            @Override
            public void onSvidUpdated(SpiffeId identity, X509Svid svid) {
            }

            @Override
            public void onRenewalFailed(SpiffeId identity, Throwable error, Duration retryIn) {
                metrics.certificateFetchFailed();
                log.warn("certificate for {} failed: {}; retrying in {} ms", identity, error.getMessage(),
                        retryIn.toMillis());
            }
        });
        readiness.addSource("certificate ", certificates::pending);
        if (dataPathOptions.enabled()) {
            readiness.register("listeners"); // ready means the data path is bound, as ztunnel
        }
        if (config.localXdsPath().isPresent()) {
            readiness.register("config");
        } else {
            log.warn("no local configuration (--local-xds-path / LOCAL_XDS_PATH): no workloads are served");
        }
        endpoints = AdminEndpoints.start(config.adminAddress(), config.statsAddress(), config.readinessAddress(),
                metrics, readiness, this::configDump, () -> shutdown().join());
        if (config.localXdsPath().isPresent()) {
            watcher = LocalConfigWatcher.start(config.localXdsPath().get(), new LocalConfigWatcher.Listener() {
                @Override
                public void onConfig(LocalConfig next) {
                    apply(next);
                }

                @Override
                public void onError(InvalidConfigException error) {
                    metrics.configReloadFailed();
                    log.error("configuration refused, keeping the previous one: {}", error.getMessage());
                }
            });
        }
        if (dataPathOptions.enabled()) {
            dataPath = DataPath.start(config, state, policies::get, certificates, metrics, accessLog,
                    dataPathOptions);
            dataPath.drainables().forEach(this::addDrainable);
            readiness.complete("listeners");
        }
        log.info("ztunnel started: admin {}, stats {}, readiness {}", ProxyConfig.format(endpoints.adminAddress()),
                ProxyConfig.format(endpoints.statsAddress()), ProxyConfig.format(endpoints.readinessAddress()));
    }

    private void apply(LocalConfig next) {
        ProxyState nextState = next.toProxyState();
        CompiledPolicies compiled;
        try {
            compiled = next.policySet().compile(CompileOptions.ztunnel());
        } catch (RuntimeException e) {
            metrics.configReloadFailed();
            metrics.policyError("compile");
            log.error("configuration refused, keeping the previous one: policies do not compile: {}",
                    e.getMessage());
            return;
        }
        for (CompileWarning w : compiled.warnings()) {
            metrics.policyError("warning");
            log.warn("policy {}: {}", w.policy(), w.message());
        }
        state.replace(nextState);
        localConfig.set(next);
        CompiledPolicies previous = policies.getAndSet(compiled);
        DataPath dp = dataPath;
        if (dp != null) {
            dp.policiesChanged(previous, compiled); // close live connections the new policies deny
        }
        metrics.configReloaded();
        Set<SpiffeId> identities = new LinkedHashSet<>();
        List<Workload> served = config.nodeName().isEmpty() ? nextState.workloads()
                : nextState.workloadsOnNode(config.nodeName());
        for (Workload w : served) {
            identities.add(w.identity().toSpiffeId());
        }
        certificates.actFor(identities);
        readiness.complete("config");
        log.info("configuration applied: {} workloads ({} served here), {} services, {} policies",
                nextState.workloads().size(), served.size(), nextState.services().size(), next.policySet().size());
    }

    /** Returns the {@code /config_dump} content. */
    public Map<String, Object> configDump() {
        ProxyState s = state.current();
        Map<String, Object> dump = new LinkedHashMap<>();
        dump.put("version", Map.of("component", "ztunnel (hbone-java)", "version", version()));
        dump.put("workloads", s.workloads());
        dump.put("services", s.services());
        dump.put("policies", localConfig.get().policies());
        dump.put("authorizationPolicies", localConfig.get().authorizationPolicies().stream()
                .map(p -> p.namespace() + "/" + p.name()).toList());
        dump.put("peerAuthentications", localConfig.get().peerAuthentications());
        dump.put("certificates", certificates == null ? List.of() : certificates.certificates());
        dump.put("pending", readiness.pending());
        dump.put("config", config);
        return dump;
    }

    /**
     * Registers a data-path component to drain at shutdown.
     *
     * @param drainable the component
     */
    public void addDrainable(Drainable drainable) {
        drainables.add(requireNonNull(drainable, "drainable"));
    }

    /**
     * Starts the shutdown (once; later calls return the same future): readiness turns 500, drainables drain for
     * at most the termination grace period and are then force-closed, the endpoints and certificates stop.
     *
     * @return completes when the proxy has stopped
     */
    public CompletableFuture<Void> shutdown() {
        if (shuttingDown.compareAndSet(false, true)) {
            Thread t = new Thread(this::runShutdown, "shutdown");
            t.setDaemon(false);
            t.start();
        }
        return terminated;
    }

    private void runShutdown() {
        Instant start = Instant.now();
        readiness.register("draining");
        Duration grace = config.connectionTerminationDeadline();
        log.info("shutting down: draining {} component(s) for at most {} ms", drainables.size(), grace.toMillis());
        List<CompletableFuture<Void>> drains = new ArrayList<>();
        for (Drainable d : drainables) {
            CompletableFuture<Void> f;
            try {
                f = d.drain();
            } catch (RuntimeException e) {
                f = CompletableFuture.failedFuture(e);
            }
            drains.add(f);
        }
        try {
            CompletableFuture.allOf(drains.toArray(CompletableFuture[]::new))
                    .get(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            log.warn("termination grace period of {} ms over: closing remaining connections", grace.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.warn("drain failed: {}", e.toString());
        }
        for (int i = 0; i < drainables.size(); i++) {
            if (!drains.get(i).isDone() || drains.get(i).isCompletedExceptionally()) {
                try {
                    drainables.get(i).forceClose();
                } catch (RuntimeException e) {
                    log.warn("force-closing {} failed: {}", drainables.get(i).name(), e.toString());
                }
            }
        }
        stopComponents();
        log.info("ztunnel stopped after {} ms", Duration.between(start, Instant.now()).toMillis());
        terminated.complete(null);
    }

    private void stopComponents() {
        if (dataPath != null) {
            dataPath.close();
        }
        if (watcher != null) {
            watcher.close();
        }
        if (endpoints != null) {
            endpoints.close();
        }
        if (certificates != null) {
            certificates.close();
        }
    }

    /** Waits until the proxy has stopped. */
    public void awaitTermination() {
        terminated.join();
    }

    /**
     * Waits until the proxy has stopped, at most {@code timeout}.
     *
     * @return whether it stopped
     */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        requireNonNull(timeout, "timeout");
        try {
            terminated.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (java.util.concurrent.ExecutionException e) {
            return true;
        }
    }

    /** Shuts down and waits. */
    @Override
    public void close() {
        shutdown().join();
    }

    /** Returns the settings. */
    public ProxyConfig config() {
        return config;
    }

    /** Returns the metrics. */
    public ProxyMetrics metrics() {
        return metrics;
    }

    /** Returns the access log. */
    public AccessLog accessLog() {
        return accessLog;
    }

    /** Returns what readiness waits for. */
    public Readiness readiness() {
        return readiness;
    }

    /** Returns the current state (workloads and services). */
    public ProxyStateHolder state() {
        return state;
    }

    /** Returns the compiled authorization policies of the current configuration. */
    public CompiledPolicies policies() {
        return policies.get();
    }

    /** Returns the current local configuration (empty before the first valid file). */
    public LocalConfig localConfig() {
        return localConfig.get();
    }

    /** Returns the certificates. */
    public ProxyCertificates certificates() {
        return certificates;
    }

    /** Returns the admin/stats/readiness endpoints (bound addresses). */
    public AdminEndpoints endpoints() {
        return endpoints;
    }

    /** Returns whether shutdown has started. */
    public boolean isShuttingDown() {
        return shuttingDown.get();
    }

    /** Returns the data path (listeners), or null when it is disabled. */
    public DataPath dataPath() {
        return dataPath;
    }

    /** Returns the termination future. */
    public CompletableFuture<Void> terminated() {
        return terminated;
    }

}
