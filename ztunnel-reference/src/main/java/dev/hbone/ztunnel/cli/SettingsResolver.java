package dev.hbone.ztunnel.cli;

import dev.hbone.spiffe.InvalidSpiffeIdException;
import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.ztunnel.internal.GoDurations;
import dev.hbone.ztunnel.internal.IpAddresses;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** Combines flags, environment and defaults into a {@link ProxyConfig}, naming the source of any bad value. */
final class SettingsResolver {
    private static final Duration DEFAULT_GRACE = Duration.ofSeconds(5);
    private static final Duration DEFAULT_SECRET_TTL = Duration.ofHours(24);

    private final Map<String, String> env;
    private final Map<String, String> origins = new LinkedHashMap<>();

    SettingsResolver(Map<String, String> env) {
        this.env = env;
    }

    /** A raw value and where it came from. */
    private record Raw(String value, String source) {
        boolean isDefault() {
            return source.equals("default");
        }
    }

    private Raw raw(String name, String flagValue, String envName, String defaultValue) {
        Raw raw;
        if (flagValue != null) {
            raw = new Raw(flagValue, "--" + name);
        } else if (envName != null && env.get(envName) != null) {
            raw = new Raw(env.get(envName), envName);
        } else {
            raw = new Raw(defaultValue, "default");
        }
        origins.put(name, raw.source());
        return raw;
    }

    ProxyConfig resolve(ZtunnelMain c) throws InvalidSettingException {
        Raw xds = raw("local-xds-path", c.localXdsPath, "LOCAL_XDS_PATH", null);
        Optional<Path> localXdsPath = xds.value() == null || xds.value().isEmpty()
                ? Optional.empty() : Optional.of(path(xds));
        // ztunnel: ISTIO_META_CLUSTER_ID wins over CLUSTER_ID.
        String clusterId = nonEmpty(env.get("ISTIO_META_CLUSTER_ID") != null && c.clusterId == null
                ? raw("cluster-id", null, "ISTIO_META_CLUSTER_ID", "Kubernetes")
                : raw("cluster-id", c.clusterId, "CLUSTER_ID", "Kubernetes"));
        String clusterDomain = nonEmpty(raw("cluster-domain", c.clusterDomain, "CLUSTER_DOMAIN", "cluster.local"));
        Raw td = raw("trust-domain", c.trustDomain, "TRUST_DOMAIN", "cluster.local");
        TrustDomain trustDomain = trustDomain(td, td.value());
        String nodeName = raw("node-name", c.nodeName, "NODE_NAME", "").value();
        String network = raw("network", c.network, "NETWORK", "").value();

        InetSocketAddress inbound = address(raw("inbound-address", c.inboundAddress, null, "0.0.0.0:15008"));
        InetSocketAddress plaintext = address(raw("inbound-plaintext-address", c.inboundPlaintextAddress, null,
                "0.0.0.0:15006"));
        InetSocketAddress outbound = address(raw("outbound-address", c.outboundAddress, null, "0.0.0.0:15001"));
        InetSocketAddress socks5 = address(raw("socks5-address", c.socks5Address, null, "127.0.0.1:15080"));
        boolean socks5Enabled = bool(raw("enable-socks5", c.enableSocks5, "UNSTABLE_ENABLE_SOCKS5", "false"));
        InetSocketAddress admin = address(raw("admin-address", c.adminAddress, null, "127.0.0.1:15000"));
        InetSocketAddress stats = address(raw("stats-address", c.statsAddress, null, "0.0.0.0:15020"));
        InetSocketAddress readiness = address(raw("readiness-address", c.readinessAddress, null, "0.0.0.0:15021"));
        List<Map.Entry<String, InetSocketAddress>> listeners = new ArrayList<>(List.of(
                Map.entry("inbound-address", inbound), Map.entry("inbound-plaintext-address", plaintext),
                Map.entry("outbound-address", outbound), Map.entry("admin-address", admin),
                Map.entry("stats-address", stats), Map.entry("readiness-address", readiness)));
        if (socks5Enabled) {
            listeners.add(Map.entry("socks5-address", socks5));
        }
        checkDistinct(listeners);

        Duration grace = grace(env.get("CONNECTION_TERMINATION_DEADLINE") != null
                        || c.connectionTerminationDeadline != null
                ? raw("connection-termination-deadline", c.connectionTerminationDeadline,
                        "CONNECTION_TERMINATION_DEADLINE", null)
                : raw("connection-termination-deadline", null, "TERMINATION_GRACE_PERIOD_SECONDS", null));
        Raw ttlRaw = raw("secret-ttl", c.secretTtl, "SECRET_TTL", "24h");
        Duration secretTtl = duration(ttlRaw);
        if (secretTtl.compareTo(Duration.ofMinutes(1)) < 0) {
            throw new InvalidSettingException(ttlRaw.source(), ttlRaw.value(), "must be at least 1m");
        }

        Raw modeRaw = raw("ca-mode", c.caMode, null, "embedded");
        CaMode caMode = switch (modeRaw.value().toLowerCase(Locale.ROOT)) {
            case "embedded" -> CaMode.EMBEDDED;
            case "pem" -> CaMode.PEM;
            case "static" -> CaMode.STATIC;
            default -> throw new InvalidSettingException(modeRaw.source(), modeRaw.value(),
                    "expected one of: embedded, pem, static");
        };
        Raw caDirRaw = raw("ca-dir", c.caDir, null, null);
        Optional<Path> caDir = caDirRaw.value() == null ? Optional.empty() : Optional.of(path(caDirRaw));
        Raw rootOutRaw = raw("ca-root-out", c.caRootOut, null, null);
        Optional<Path> rootOut = rootOutRaw.value() == null ? Optional.empty() : Optional.of(path(rootOutRaw));
        List<StaticSvidFiles> svids = new ArrayList<>();
        for (String s : c.svids) {
            svids.add(svid(s));
        }
        if (!c.svids.isEmpty()) {
            origins.put("svid", "--svid");
        }
        List<TrustBundleFile> bundles = new ArrayList<>();
        for (String b : c.trustBundles) {
            bundles.add(bundle(b));
        }
        if (!c.trustBundles.isEmpty()) {
            origins.put("trust-bundle", "--trust-bundle");
        }
        switch (caMode) {
            case PEM -> {
                if (caDir.isEmpty()) {
                    throw new InvalidSettingException("--ca-mode", "pem", "needs --ca-dir (the CA's PEM files)");
                }
            }
            case STATIC -> {
                if (svids.isEmpty()) {
                    throw new InvalidSettingException("--ca-mode", "static", "needs at least one --svid");
                }
                if (bundles.isEmpty()) {
                    throw new InvalidSettingException("--ca-mode", "static",
                            "needs --trust-bundle TD=PEM (the roots peers' certificates chain to)");
                }
            }
            case EMBEDDED -> { }
        }
        if (caMode != CaMode.PEM && caDir.isPresent()) {
            throw new InvalidSettingException("--ca-dir", caDirRaw.value(), "only used with --ca-mode=pem");
        }
        if (caMode != CaMode.EMBEDDED && rootOut.isPresent()) {
            throw new InvalidSettingException("--ca-root-out", rootOutRaw.value(),
                    "only used with --ca-mode=embedded");
        }
        if (caMode != CaMode.STATIC && !svids.isEmpty()) {
            throw new InvalidSettingException("--svid", c.svids.get(0), "only used with --ca-mode=static");
        }

        Raw levelRaw = raw("log-level", c.logLevel, "RUST_LOG", "info");
        String logLevel = logLevels(levelRaw);
        Raw formatRaw = raw("access-log-format", c.accessLogFormat, "LOG_FORMAT", "text");
        AccessLogFormat format = switch (formatRaw.value().toLowerCase(Locale.ROOT)) {
            case "text", "plain", "" -> AccessLogFormat.TEXT;
            case "json" -> AccessLogFormat.JSON;
            default -> throw new InvalidSettingException(formatRaw.source(), formatRaw.value(),
                    "expected text or json");
        };
        boolean dnsCapture = bool(raw("dns-capture", c.dnsCapture, "ISTIO_META_DNS_CAPTURE", "false"));
        Raw threadsRaw = raw("worker-threads", c.workerThreads, "ZTUNNEL_WORKER_THREADS", "2");
        int threads = threadsRaw.value().trim().endsWith("%") ? percentOfCpus(threadsRaw)
                : integer(threadsRaw, 1, 1024);

        return new ProxyConfig(localXdsPath, clusterId, clusterDomain, trustDomain, nodeName, network,
                inbound, plaintext, outbound, socks5, admin, stats, readiness, grace, secretTtl, caMode, caDir,
                rootOut, svids, bundles, logLevel, format, dnsCapture, threads, socks5Enabled, origins);
    }

    private static String nonEmpty(Raw raw) throws InvalidSettingException {
        if (raw.value().isBlank()) {
            throw new InvalidSettingException(raw.source(), raw.value(), "must not be empty");
        }
        return raw.value();
    }

    private static Path path(Raw raw) throws InvalidSettingException {
        try {
            return Path.of(raw.value());
        } catch (InvalidPathException e) {
            throw new InvalidSettingException(raw.source(), raw.value(), "not a file path: " + e.getReason());
        }
    }

    private static TrustDomain trustDomain(Raw raw, String text) throws InvalidSettingException {
        try {
            return SpiffeIds.trustDomain(text);
        } catch (RuntimeException e) {
            throw new InvalidSettingException(raw.source(), raw.value(), "not a valid trust domain: " + e.getMessage());
        }
    }

    /** Parses {@code ip:port} or {@code [ipv6]:port}; the host must be an IP literal, the port 0..65535. */
    static InetSocketAddress address(Raw raw) throws InvalidSettingException {
        String text = raw.value().trim();
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':') {
                throw new InvalidSettingException(raw.source(), raw.value(), "expected [IPv6]:PORT");
            }
            host = text.substring(1, close);
            port = text.substring(close + 2);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0 || text.indexOf(':') != colon) {
                throw new InvalidSettingException(raw.source(), raw.value(),
                        "expected IP:PORT (IPv6 as [IP]:PORT)");
            }
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
        }
        Optional<InetAddress> ip = IpAddresses.parse(host);
        if (ip.isEmpty()) {
            throw new InvalidSettingException(raw.source(), raw.value(), "\"" + host + "\" is not an IP address");
        }
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new InvalidSettingException(raw.source(), raw.value(), "port \"" + port + "\" is not a number");
        }
        if (p < 0 || p > 65535) {
            throw new InvalidSettingException(raw.source(), raw.value(), "port " + p + " is not in 0..65535");
        }
        return new InetSocketAddress(ip.get(), p);
    }

    private void checkDistinct(List<Map.Entry<String, InetSocketAddress>> addresses)
            throws InvalidSettingException {
        for (int i = 0; i < addresses.size(); i++) {
            for (int j = 0; j < i; j++) {
                InetSocketAddress a = addresses.get(i).getValue();
                InetSocketAddress b = addresses.get(j).getValue();
                if (a.getPort() != 0 && a.getPort() == b.getPort() && overlaps(a.getAddress(), b.getAddress())) {
                    // Blame the value the operator set, not the default it collides with.
                    int culprit = origins.getOrDefault(addresses.get(i).getKey(), "default").equals("default")
                            ? j : i;
                    int other = culprit == i ? j : i;
                    throw new InvalidSettingException(sourceOf(addresses.get(culprit).getKey()),
                            ProxyConfig.format(addresses.get(culprit).getValue()),
                            "same port as " + sourceOf(addresses.get(other).getKey()) + " "
                                    + ProxyConfig.format(addresses.get(other).getValue()));
                }
            }
        }
    }

    private String sourceOf(String name) {
        String s = origins.getOrDefault(name, "default");
        return s.equals("default") ? "--" + name + " (default)" : s;
    }

    private static boolean overlaps(InetAddress a, InetAddress b) {
        return a.equals(b) || a.isAnyLocalAddress() || b.isAnyLocalAddress();
    }

    private static Duration grace(Raw raw) throws InvalidSettingException {
        if (raw.value() == null) {
            return DEFAULT_GRACE;
        }
        if (!raw.source().equals("TERMINATION_GRACE_PERIOD_SECONDS")) {
            return duration(raw);
        }
        // Kubernetes' terminationGracePeriodSeconds, whole seconds. As ztunnel, drain for less than that so the
        // remaining connections are closed by us (cleanly) before Kubernetes' SIGKILL.
        long seconds;
        try {
            seconds = Long.parseLong(raw.value().trim());
        } catch (NumberFormatException e) {
            throw new InvalidSettingException(raw.source(), raw.value(), "not a whole number of seconds");
        }
        if (seconds < 0) {
            throw new InvalidSettingException(raw.source(), raw.value(), "must not be negative");
        }
        return Duration.ofSeconds(Math.max(seconds > 10 ? seconds - 5 : seconds - 1, 1));
    }

    private static Duration duration(Raw raw) throws InvalidSettingException {
        try {
            return GoDurations.parse(raw.value());
        } catch (IllegalArgumentException e) {
            throw new InvalidSettingException(raw.source(), raw.value(), e.getMessage());
        }
    }

    private static boolean bool(Raw raw) throws InvalidSettingException {
        return switch (raw.value().trim().toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no", "" -> false;
            default -> throw new InvalidSettingException(raw.source(), raw.value(), "expected true or false");
        };
    }

    private static int integer(Raw raw, int min, int max) throws InvalidSettingException {
        int v;
        try {
            v = Integer.parseInt(raw.value().trim());
        } catch (NumberFormatException e) {
            throw new InvalidSettingException(raw.source(), raw.value(), "not a whole number");
        }
        if (v < min || v > max) {
            throw new InvalidSettingException(raw.source(), raw.value(), "must be in " + min + ".." + max);
        }
        return v;
    }

    /** ztunnel's {@code P%}: that share of the CPUs, rounded up, at least 1. */
    private static int percentOfCpus(Raw raw) throws InvalidSettingException {
        String text = raw.value().trim();
        double percent;
        try {
            percent = Double.parseDouble(text.substring(0, text.length() - 1));
        } catch (NumberFormatException e) {
            throw new InvalidSettingException(raw.source(), raw.value(), "not a percentage");
        }
        if (!(percent > 0 && percent <= 100)) {
            throw new InvalidSettingException(raw.source(), raw.value(), "percentage must be in (0, 100]");
        }
        return Math.max(1, (int) Math.ceil(Runtime.getRuntime().availableProcessors() * percent / 100.0));
    }

    private static final List<String> LEVELS = List.of("trace", "debug", "info", "warn", "error", "off");

    /** Checks {@code level[,logger=level]...}; returns it lower-cased. */
    private static String logLevels(Raw raw) throws InvalidSettingException {
        String text = raw.value().trim().toLowerCase(Locale.ROOT);
        for (String part : text.split(",")) {
            String level = part.contains("=") ? part.substring(part.indexOf('=') + 1) : part;
            String logger = part.contains("=") ? part.substring(0, part.indexOf('=')) : "root";
            if (!LEVELS.contains(level.trim()) || logger.isBlank()) {
                throw new InvalidSettingException(raw.source(), raw.value(),
                        "\"" + part + "\" is not LEVEL or LOGGER=LEVEL (levels: " + String.join(", ", LEVELS) + ")");
            }
        }
        return text;
    }

    private static StaticSvidFiles svid(String text) throws InvalidSettingException {
        int eq = text.indexOf('=');
        int comma = text.indexOf(',', Math.max(eq, 0));
        if (eq <= 0 || comma < 0 || comma == eq + 1 || comma == text.length() - 1) {
            throw new InvalidSettingException("--svid", text, "expected SPIFFE_ID=CERT_PEM,KEY_PEM");
        }
        SpiffeId id;
        try {
            id = SpiffeIds.parse(text.substring(0, eq));
        } catch (InvalidSpiffeIdException e) {
            throw new InvalidSettingException("--svid", text, "not a SPIFFE ID: " + e.getMessage());
        } catch (RuntimeException e) {
            throw new InvalidSettingException("--svid", text, "not a SPIFFE ID: " + e.getMessage());
        }
        Raw raw = new Raw(text, "--svid");
        return new StaticSvidFiles(id, path(new Raw(text.substring(eq + 1, comma), "--svid")),
                path(new Raw(text.substring(comma + 1), raw.source())));
    }

    private static TrustBundleFile bundle(String text) throws InvalidSettingException {
        int eq = text.indexOf('=');
        if (eq <= 0 || eq == text.length() - 1) {
            throw new InvalidSettingException("--trust-bundle", text, "expected TRUST_DOMAIN=PEM_FILE");
        }
        Raw raw = new Raw(text, "--trust-bundle");
        return new TrustBundleFile(trustDomain(raw, text.substring(0, eq)),
                path(new Raw(text.substring(eq + 1), "--trust-bundle")));
    }
}
