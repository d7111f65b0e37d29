package dev.hbone.ztunnel.cli;

import static java.util.Objects.requireNonNull;

import io.spiffe.spiffeid.TrustDomain;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The node proxy's effective settings: the result of flags, environment variables (ztunnel's names where ztunnel
 * has one) and defaults, in that order of precedence. Immutable and validated: build it with
 * {@link ZtunnelMain#parseConfig(String[], Map)}, which names the flag or variable of any refused value.
 *
 * @param localXdsPath the local configuration file ({@code LOCAL_XDS_PATH}), if any
 * @param clusterId the cluster this proxy runs in ({@code CLUSTER_ID})
 * @param clusterDomain the cluster's DNS domain ({@code CLUSTER_DOMAIN})
 * @param trustDomain the trust domain the certificate authority signs for
 * @param nodeName the node this proxy serves ({@code NODE_NAME}); {@code ""} serves every workload in the file
 * @param network the network of the node ({@code NETWORK})
 * @param inboundAddress HBONE listener (15008)
 * @param inboundPlaintextAddress inbound plaintext listener (15006)
 * @param outboundAddress outbound capture listener (15001)
 * @param socks5Address SOCKS5 listener (127.0.0.1:15080)
 * @param adminAddress admin endpoints (127.0.0.1:15000)
 * @param statsAddress Prometheus endpoints (15020)
 * @param readinessAddress readiness endpoint (15021)
 * @param connectionTerminationDeadline how long connections may drain after SIGTERM or {@code /quitquitquit}
 *     ({@code CONNECTION_TERMINATION_DEADLINE}, or derived from {@code TERMINATION_GRACE_PERIOD_SECONDS})
 * @param secretTtl lifetime of issued workload certificates ({@code SECRET_TTL})
 * @param caMode where certificates come from
 * @param caDirectory the CA's directory for {@link CaMode#PEM}
 * @param caRootOutput where the embedded CA writes its root certificate (PEM), if anywhere
 * @param staticSvids certificate files per identity for {@link CaMode#STATIC}
 * @param trustBundles extra trusted roots per trust domain
 * @param logLevel log levels: {@code level[,logger=level]...} ({@code RUST_LOG})
 * @param accessLogFormat the access log's format ({@code LOG_FORMAT})
 * @param dnsCapture whether DNS capture was requested ({@code ISTIO_META_DNS_CAPTURE}); not supported yet
 * @param workerThreads event-loop threads for the data path ({@code ZTUNNEL_WORKER_THREADS})
 * @param socks5Enabled whether the SOCKS5 listener runs ({@code UNSTABLE_ENABLE_SOCKS5}; off by default)
 * @param origins for each setting name, where its value came from: {@code --flag}, {@code ENV_VAR} or
 *     {@code default}
 */
public record ProxyConfig(
        Optional<Path> localXdsPath,
        String clusterId,
        String clusterDomain,
        TrustDomain trustDomain,
        String nodeName,
        String network,
        InetSocketAddress inboundAddress,
        InetSocketAddress inboundPlaintextAddress,
        InetSocketAddress outboundAddress,
        InetSocketAddress socks5Address,
        InetSocketAddress adminAddress,
        InetSocketAddress statsAddress,
        InetSocketAddress readinessAddress,
        Duration connectionTerminationDeadline,
        Duration secretTtl,
        CaMode caMode,
        Optional<Path> caDirectory,
        Optional<Path> caRootOutput,
        List<StaticSvidFiles> staticSvids,
        List<TrustBundleFile> trustBundles,
        String logLevel,
        AccessLogFormat accessLogFormat,
        boolean dnsCapture,
        int workerThreads,
        boolean socks5Enabled,
        Map<String, String> origins) {

    /** Checks that no component is null and copies the collections. */
    public ProxyConfig {
        requireNonNull(localXdsPath, "localXdsPath");
        requireNonNull(clusterId, "clusterId");
        requireNonNull(clusterDomain, "clusterDomain");
        requireNonNull(trustDomain, "trustDomain");
        requireNonNull(nodeName, "nodeName");
        requireNonNull(network, "network");
        requireNonNull(inboundAddress, "inboundAddress");
        requireNonNull(inboundPlaintextAddress, "inboundPlaintextAddress");
        requireNonNull(outboundAddress, "outboundAddress");
        requireNonNull(socks5Address, "socks5Address");
        requireNonNull(adminAddress, "adminAddress");
        requireNonNull(statsAddress, "statsAddress");
        requireNonNull(readinessAddress, "readinessAddress");
        requireNonNull(connectionTerminationDeadline, "connectionTerminationDeadline");
        requireNonNull(secretTtl, "secretTtl");
        requireNonNull(caMode, "caMode");
        requireNonNull(caDirectory, "caDirectory");
        requireNonNull(caRootOutput, "caRootOutput");
        staticSvids = List.copyOf(requireNonNull(staticSvids, "staticSvids"));
        trustBundles = List.copyOf(requireNonNull(trustBundles, "trustBundles"));
        requireNonNull(logLevel, "logLevel");
        requireNonNull(accessLogFormat, "accessLogFormat");
        origins = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(requireNonNull(origins, "origins")));
    }

    /**
     * Returns the effective settings, one per line, as printed at start:
     * {@code admin-address = 127.0.0.1:15000 (default)}.
     */
    public List<String> describe() {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("local-xds-path", localXdsPath.map(Path::toString).orElse("(none)"));
        values.put("cluster-id", clusterId);
        values.put("cluster-domain", clusterDomain);
        values.put("trust-domain", trustDomain.getName());
        values.put("node-name", nodeName.isEmpty() ? "(any)" : nodeName);
        values.put("network", network.isEmpty() ? "(default)" : network);
        values.put("inbound-address", format(inboundAddress));
        values.put("inbound-plaintext-address", format(inboundPlaintextAddress));
        values.put("outbound-address", format(outboundAddress));
        values.put("socks5-address", format(socks5Address));
        values.put("enable-socks5", socks5Enabled);
        values.put("admin-address", format(adminAddress));
        values.put("stats-address", format(statsAddress));
        values.put("readiness-address", format(readinessAddress));
        values.put("connection-termination-deadline", connectionTerminationDeadline.toMillis() + "ms");
        values.put("secret-ttl", secretTtl.toSeconds() + "s");
        values.put("ca-mode", caMode.flagValue());
        values.put("ca-dir", caDirectory.map(Path::toString).orElse("(none)"));
        values.put("ca-root-out", caRootOutput.map(Path::toString).orElse("(none)"));
        values.put("svid", staticSvids.isEmpty() ? "(none)" : staticSvids.stream()
                .map(s -> s.identity() + "=" + s.certificateChain() + "," + s.privateKey())
                .reduce((a, b) -> a + " " + b).orElse(""));
        values.put("trust-bundle", trustBundles.isEmpty() ? "(none)" : trustBundles.stream()
                .map(b -> b.trustDomain().getName() + "=" + b.pemFile())
                .reduce((a, b) -> a + " " + b).orElse(""));
        values.put("log-level", logLevel);
        values.put("access-log-format", accessLogFormat.name().toLowerCase(java.util.Locale.ROOT));
        values.put("dns-capture", dnsCapture);
        values.put("worker-threads", workerThreads);
        return values.entrySet().stream()
                .map(e -> e.getKey() + " = " + e.getValue() + " (" + origins.getOrDefault(e.getKey(), "default") + ")")
                .toList();
    }

    /** Formats a socket address as {@code ip:port}, IPv6 in brackets. */
    public static String format(InetSocketAddress address) {
        requireNonNull(address, "address");
        String host = address.getAddress() == null ? address.getHostString() // unresolved: the name as given
                : address.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
