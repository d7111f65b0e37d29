package dev.hbone.ztunnel.cli;

import static java.util.Objects.requireNonNull;

import dev.hbone.ztunnel.lifecycle.NodeProxy;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The node proxy's entry point: {@code ztunnel [options]}. Every setting can be given as a flag or, where ztunnel
 * has one, by ztunnel's environment variable; a flag wins over the environment, the environment over the default.
 * Exit codes: 0 after a clean shutdown, 1 when the proxy fails to start, 2 for invalid settings.
 */
@Command(name = "ztunnel", mixinStandardHelpOptions = true, versionProvider = ZtunnelMain.Version.class,
        sortOptions = false, usageHelpWidth = 110,
        description = {"The hbone-java reference node proxy (ztunnel in Java).",
                "Flags win over environment variables, which win over defaults."})
public final class ZtunnelMain implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ZtunnelMain.class);

    /** Exit code for settings the proxy cannot use. */
    public static final int EXIT_INVALID_SETTINGS = 2;
    /** Exit code for a failure to start. */
    public static final int EXIT_START_FAILED = 1;
    /** How long a SIGTERM during start-up waits for the start to finish before the JVM exits anyway. */
    private static final long START_WAIT_SECONDS = 30;

    @Option(names = "--local-xds-path", paramLabel = "FILE",
            description = "Local configuration file (workloads, services, policies), watched. Env: LOCAL_XDS_PATH.")
    String localXdsPath;
    @Option(names = "--cluster-id", paramLabel = "ID", description = "Cluster id. Env: ISTIO_META_CLUSTER_ID, else CLUSTER_ID. Default: Kubernetes.")
    String clusterId;
    @Option(names = "--cluster-domain", paramLabel = "DOMAIN",
            description = "Cluster DNS domain. Env: CLUSTER_DOMAIN. Default: cluster.local.")
    String clusterDomain;
    @Option(names = "--trust-domain", paramLabel = "TD",
            description = "Trust domain the CA signs for. Env: TRUST_DOMAIN. Default: cluster.local.")
    String trustDomain;
    @Option(names = "--node-name", paramLabel = "NAME",
            description = "Node served: only its workloads get certificates. Env: NODE_NAME. Default: every workload.")
    String nodeName;
    @Option(names = "--network", paramLabel = "NETWORK", description = "Network of this node. Env: NETWORK.")
    String network;
    @Option(names = "--inbound-address", paramLabel = "IP:PORT", description = "HBONE (mTLS) inbound. Default: 0.0.0.0:15008.")
    String inboundAddress;
    @Option(names = "--inbound-plaintext-address", paramLabel = "IP:PORT",
            description = "Plaintext inbound. Default: 0.0.0.0:15006.")
    String inboundPlaintextAddress;
    @Option(names = "--outbound-address", paramLabel = "IP:PORT", description = "Outbound capture. Default: 0.0.0.0:15001.")
    String outboundAddress;
    @Option(names = "--socks5-address", paramLabel = "IP:PORT", description = "SOCKS5 outbound. Default: 127.0.0.1:15080.")
    String socks5Address;
    @Option(names = "--enable-socks5", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true",
            description = "Serve SOCKS5 (off by default, as ztunnel). Env: UNSTABLE_ENABLE_SOCKS5. Default: false.")
    String enableSocks5;
    @Option(names = "--admin-address", paramLabel = "IP:PORT", description = "Admin endpoints. Default: 127.0.0.1:15000.")
    String adminAddress;
    @Option(names = "--stats-address", paramLabel = "IP:PORT",
            description = "Prometheus /metrics and /stats/prometheus. Default: 0.0.0.0:15020.")
    String statsAddress;
    @Option(names = "--readiness-address", paramLabel = "IP:PORT", description = "/healthz/ready. Default: 0.0.0.0:15021.")
    String readinessAddress;
    @Option(names = "--connection-termination-deadline", paramLabel = "DURATION",
            description = "Drain time after SIGTERM or /quitquitquit before remaining connections are closed (e.g. 5s)."
                    + " Env: CONNECTION_TERMINATION_DEADLINE, else TERMINATION_GRACE_PERIOD_SECONDS (Kubernetes'"
                    + " grace period: minus 5 s above 10 s, else minus 1 s, at least 1 s). Default: 5s.")
    String connectionTerminationDeadline;
    @Option(names = "--secret-ttl", paramLabel = "DURATION",
            description = "Lifetime of issued workload certificates (Go duration, e.g. 24h). Env: SECRET_TTL. Default: 24h.")
    String secretTtl;
    @Option(names = "--ca-mode", paramLabel = "MODE",
            description = "embedded (a CA created at start), pem (the CA in --ca-dir) or static (--svid files)."
                    + " Default: embedded.")
    String caMode;
    @Option(names = "--ca-dir", paramLabel = "DIR",
            description = "For --ca-mode=pem: Istio plug-in CA files ca-cert.pem, ca-key.pem, root-cert.pem"
                    + " [, cert-chain.pem].")
    String caDir;
    @Option(names = "--ca-root-out", paramLabel = "FILE",
            description = "For --ca-mode=embedded: write the CA's root certificate (PEM) here so peers can trust it.")
    String caRootOut;
    @Option(names = "--svid", paramLabel = "SPIFFE_ID=CERT,KEY",
            description = "For --ca-mode=static: certificate chain and key PEM files of one identity. Repeatable.")
    List<String> svids = new ArrayList<>();
    @Option(names = "--trust-bundle", paramLabel = "TD=PEM",
            description = "Extra trusted root certificates for a trust domain. Repeatable.")
    List<String> trustBundles = new ArrayList<>();
    @Option(names = "--log-level", paramLabel = "LEVELS",
            description = "level[,logger=level]... e.g. info,access=info,dev.hbone=debug. Env: RUST_LOG. Default: info.")
    String logLevel;
    @Option(names = "--access-log-format", paramLabel = "FORMAT",
            description = "text or json. Env: LOG_FORMAT. Default: text.")
    String accessLogFormat;
    @Option(names = "--dns-capture", paramLabel = "BOOL", arity = "0..1", fallbackValue = "true",
            description = "DNS capture (not supported yet; logged). Env: ISTIO_META_DNS_CAPTURE. Default: false.")
    String dnsCapture;
    @Option(names = "--worker-threads", paramLabel = "N",
            description = "Data-path event-loop threads, N or P%% of the CPUs. Env: ZTUNNEL_WORKER_THREADS. Default: 2.")
    String workerThreads;

    private Map<String, String> environment = System.getenv();
    private PrintStream out = System.out;

    /** Creates the command; picocli fills its options. */
    public ZtunnelMain() {
    }

    /**
     * Runs the proxy until it is shut down, then exits the JVM with the outcome's code.
     *
     * @param args command-line arguments
     */
    public static void main(String[] args) {
        poolLargeBuffers();
        int code = new CommandLine(new ZtunnelMain()).execute(args);
        System.exit(code);
    }

    /**
     * Keeps Netty's buffer pool on for socket-sized buffers unless {@code -Dio.netty.allocator.lowMemory} says
     * otherwise. With at most 512 MiB of direct memory — what the launcher's default 512 MiB heap implies — Netty's
     * adaptive allocator considers memory low and pools only buffers up to 16.5 KiB: every socket read (up to 64 KiB)
     * then got freshly allocated, zeroed direct memory, about a tenth of a streaming proxy's CPU. Pooled, those
     * buffers are reused; an idle proxy holds none.
     */
    static void poolLargeBuffers() {
        if (System.getProperty("io.netty.allocator.lowMemory") == null) {
            System.setProperty("io.netty.allocator.lowMemory", "false");
        }
    }

    /**
     * Parses arguments and an environment into settings, without starting anything.
     *
     * @param args command-line arguments
     * @param environment environment variables (ztunnel's names)
     * @return the validated settings
     * @throws InvalidSettingException naming the flag or variable, the value and the reason of the first refusal
     */
    public static ProxyConfig parseConfig(String[] args, Map<String, String> environment)
            throws InvalidSettingException {
        requireNonNull(args, "args");
        requireNonNull(environment, "environment");
        ZtunnelMain command = new ZtunnelMain();
        try {
            new CommandLine(command).parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            throw new InvalidSettingException("command line", String.join(" ", args), e.getMessage());
        }
        return new SettingsResolver(environment).resolve(command);
    }

    /** Runs the proxy (picocli's entry after parsing). */
    @Override
    public Integer call() {
        ProxyConfig config;
        try {
            config = new SettingsResolver(environment).resolve(this);
        } catch (InvalidSettingException e) {
            System.err.println("ztunnel: invalid setting: " + e.getMessage());
            return EXIT_INVALID_SETTINGS;
        }
        // The hook exists before anything starts. A SIGTERM during start-up waits for the start to finish (or
        // fail) and then drains what it started, so a signal at any moment ends the process the same way (143)
        // and never leaves a half-started proxy running or a port bound by a JVM that is exiting.
        AtomicReference<NodeProxy> running = new AtomicReference<>();
        CountDownLatch startDone = new CountDownLatch(1);
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                log.info("SIGTERM: shutting down");
                try {
                    if (!startDone.await(START_WAIT_SECONDS, TimeUnit.SECONDS)) {
                        log.warn("SIGTERM: start-up still running after {} s; exiting without draining",
                                START_WAIT_SECONDS);
                        return;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                NodeProxy p = running.get();
                if (p != null) {
                    p.shutdown().join();
                }
            }, "sigterm-drain"));
        } catch (IllegalStateException e) {
            return EXIT_START_FAILED; // the JVM is already shutting down (a signal before we got here)
        }
        NodeProxy proxy;
        try {
            proxy = NodeProxy.start(config);
            running.set(proxy);
        } catch (Exception e) {
            log.error("failed to start: {}", e.getMessage(), e);
            return EXIT_START_FAILED;
        } finally {
            startDone.countDown();
        }
        proxy.awaitTermination();
        return 0;
    }

    /** Supplies {@code --version}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"ztunnel (hbone-java) " + NodeProxy.version(),
                    "Java " + Runtime.version() + " " + System.getProperty("java.vm.name", "")};
        }
    }
}
