package dev.hbone.ztunnel.support;

import dev.hbone.spiffe.ca.CertificateAuthority;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import io.spiffe.svid.x509svid.X509Svid;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Launches the shaded proxy ({@code target/ztunnel.jar}) as a process, and the files it needs. */
public final class Ztunnel {

    private Ztunnel() {
    }

    /** The shaded jar, built by {@code package} before failsafe runs. */
    public static Path jar() {
        Path jar = Path.of("target", "ztunnel.jar").toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("missing " + jar + " (mvn package builds it)");
        }
        return jar;
    }

    /**
     * Starts a proxy: {@code java -jar ztunnel.jar ARGS}, inside {@code netns} when not null. Small heap, C1 only:
     * several run at once on a loaded 2-core machine. Paranoid leak detection: {@link BackgroundProcess#close()} fails
     * on a leak report.
     */
    public static BackgroundProcess start(String name, Netns netns, List<String> args, Map<String, String> env)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx160m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss512k",
                "-Dio.netty.leakDetection.level=paranoid", "-jar", jar().toString()));
        cmd.addAll(args);
        return BackgroundProcess.start(name, netns == null ? cmd : netns.wrap(cmd), env);
    }

    /** Waits for the three "X listening on IP:PORT" lines and returns the ports by endpoint name. */
    public static Map<String, Integer> endpointPorts(BackgroundProcess proxy, Duration timeout)
            throws InterruptedException {
        Map<String, Integer> ports = new java.util.HashMap<>();
        for (String endpoint : List.of("admin", "stats", "readiness")) {
            Matcher m = proxy.awaitLine(Pattern.compile(endpoint + " listening on ([0-9.]+):(\\d+)"), timeout);
            ports.put(endpoint, Integer.parseInt(m.group(2)));
        }
        return ports;
    }

    /** GETs {@code url}; returns the status and body ({@code status + "\n" + body}). */
    public static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Polls {@code http://host:port/healthz/ready} until 200 (or fails after {@code timeout}). */
    public static void awaitReady(BackgroundProcess proxy, String host, int port, Duration timeout)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = get("http://" + host + ":" + port + "/healthz/ready");
            if (r.statusCode() == 200) {
                return;
            }
            last = r.statusCode() + " " + r.body();
            Thread.sleep(100);
        }
        throw new AssertionError(proxy + " not ready after " + timeout + ": " + last + "\n" + proxy.output());
    }

    /** Creates an Istio plug-in CA directory ({@code --ca-mode pem --ca-dir DIR}) and returns the CA. */
    public static CertificateAuthority caDir(Path dir, String trustDomain) throws IOException {
        Files.createDirectories(dir);
        CertificateAuthority ca = CertificateAuthority.builder(TrustDomain.parse(trustDomain)).build();
        ca.save(dir);
        return ca;
    }

    /**
     * Issues a certificate for {@code id} and writes {@code PREFIX-cert.pem} (chain) and {@code PREFIX-key.pem}
     * (PKCS#8) into {@code dir}, for peers outside the proxy (the Python h2 peer).
     */
    public static void writeSvid(CertificateAuthority ca, String id, Path dir, String prefix) throws IOException {
        X509Svid svid = ca.issue(SpiffeId.parse(id), Duration.ofHours(1));
        StringBuilder chain = new StringBuilder();
        for (X509Certificate c : svid.getChain()) {
            try {
                chain.append(pem("CERTIFICATE", c.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IOException(e);
            }
        }
        Files.writeString(dir.resolve(prefix + "-cert.pem"), chain);
        Files.writeString(dir.resolve(prefix + "-key.pem"), pem("PRIVATE KEY", svid.getPrivateKey().getEncoded()));
    }

    /** PEM text of one object. */
    public static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /** The sum of the Prometheus samples of {@code name} whose line contains every one of {@code parts}; 0 if none. */
    public static double metric(String scrape, String name, String... parts) {
        double sum = 0;
        for (String line : scrape.split("\n")) {
            if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) {
                continue;
            }
            boolean all = true;
            for (String p : parts) {
                all &= line.contains(p);
            }
            if (all) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }
}
