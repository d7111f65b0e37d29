package dev.hbone.ztunnel.process;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Runs the shaded jar as an operator would: {@code java -jar target/ztunnel.jar ...}, then SIGTERM. */
@Timeout(90)
class ZtunnelProcessIT {
    private static final Pattern LISTENING = Pattern.compile("(admin|stats|readiness) listening on ([0-9.]+):(\\d+)");
    private static final String HOST = "127.0.0.23";

    @TempDir
    Path dir;

    @Test
    void startsServesReadinessAndMetricsAndExitsCleanlyOnSigterm() throws Exception {
        Path jar = Path.of("target", "ztunnel.jar").toAbsolutePath();
        assertThat(jar).as("the shaded jar (mvn package)").exists();
        Path config = dir.resolve("localhost.yaml");
        try (InputStream in = getClass().getResourceAsStream("/examples/localhost.yaml")) {
            Files.copy(in, config, StandardCopyOption.REPLACE_EXISTING);
        }
        Path root = dir.resolve("root-cert.pem");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx128m", "-XX:TieredStopAtLevel=1", "-jar", jar.toString(),
                "--admin-address=" + HOST + ":0", "--stats-address=" + HOST + ":0",
                "--readiness-address=" + HOST + ":0", "--inbound-address=" + HOST + ":0",
                "--inbound-plaintext-address=" + HOST + ":0", "--outbound-address=" + HOST + ":0",
                "--ca-root-out=" + root,
                "--connection-termination-deadline=3s")
                .redirectErrorStream(true);
        pb.environment().put("LOCAL_XDS_PATH", config.toString());
        pb.environment().put("CLUSTER_ID", "process-test");
        Process process = pb.start();
        List<String> output = new CopyOnWriteArrayList<>();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    output.add(line);
                    lines.add(line);
                }
            } catch (java.io.IOException e) {
                // process ended
            }
        }, "ztunnel-output");
        reader.setDaemon(true);
        reader.start();
        try {
            Map<String, Integer> ports = new ConcurrentHashMap<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (ports.size() < 3) {
                String line = lines.poll(100, TimeUnit.MILLISECONDS);
                if (line == null) {
                    assertThat(process.isAlive() && System.nanoTime() < deadline)
                            .as("listening lines; output so far:\n%s", String.join("\n", output)).isTrue();
                    continue;
                }
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    assertThat(m.group(2)).isEqualTo(HOST);
                    ports.put(m.group(1), Integer.parseInt(m.group(3)));
                }
            }
            assertThat(String.join("\n", output)).contains("cluster-id = process-test (CLUSTER_ID)",
                    "admin-address = " + HOST + ":0 (--admin-address)");

            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            int status = 0;
            long readyDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (status != 200 && System.nanoTime() < readyDeadline) {
                status = http.send(HttpRequest.newBuilder(URI.create("http://" + HOST + ":" + ports.get("readiness")
                        + "/healthz/ready")).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode();
                if (status != 200) {
                    Thread.sleep(50);
                }
            }
            assertThat(status).isEqualTo(200);
            assertThat(Files.readString(root)).startsWith("-----BEGIN CERTIFICATE-----");
            HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create("http://" + HOST + ":"
                    + ports.get("stats") + "/metrics")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("istio_build{component=\"ztunnel\"",
                    "istio_local_config_reloads_total 1.0");

            long stopStart = System.nanoTime();
            // SIGTERM. Through the handle: Process.destroy() also closes our end of the output pipe, and we want
            // to read the shutdown lines.
            assertThat(process.toHandle().destroy()).isTrue();
            assertThat(process.waitFor(20, TimeUnit.SECONDS)).as("exited after SIGTERM").isTrue();
            Duration stopTime = Duration.ofNanos(System.nanoTime() - stopStart);
            assertThat(stopTime).isLessThan(Duration.ofSeconds(10));
            // 143 = terminated by SIGTERM after the shutdown hook ran, the JVM's normal SIGTERM exit
            assertThat(process.exitValue()).isIn(0, 143);
            reader.join(5_000);
            assertThat(String.join("\n", output)).contains("SIGTERM: shutting down", "ztunnel stopped");
        } finally {
            process.destroyForcibly();
        }
    }

    @Test
    void invalidSettingExitsWithCode2AndAPreciseMessage() throws Exception {
        Path jar = Path.of("target", "ztunnel.jar").toAbsolutePath();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-jar", jar.toString())
                .redirectErrorStream(true);
        pb.environment().put("TERMINATION_GRACE_PERIOD_SECONDS", "soon");
        Process process = pb.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).isEqualTo(2);
        assertThat(out).contains("ztunnel: invalid setting: TERMINATION_GRACE_PERIOD_SECONDS \"soon\": "
                + "not a whole number of seconds");
    }

    @Test
    void launcherScriptFindsTheJarAndPassesArguments() throws Exception {
        Path script = Path.of("bin", "ztunnel").toAbsolutePath();
        assertThat(Files.isExecutable(script)).isTrue();
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), "--version").redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("JAVA_OPTS", "-XX:TieredStopAtLevel=1");
        Process process = pb.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(out).isZero();
        assertThat(out).startsWith("ztunnel (hbone-java) ");

        ProcessBuilder missing = new ProcessBuilder("bash", script.toString(), "--help").redirectErrorStream(true);
        missing.environment().put("ZTUNNEL_JAR", dir.resolve("nope.jar").toString());
        Process p2 = missing.start();
        String err = new String(p2.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p2.waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(p2.exitValue()).isEqualTo(1);
        assertThat(err).startsWith("ztunnel: cannot find ztunnel.jar");
    }
}
