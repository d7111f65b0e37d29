package dev.hbone.ztunnel.hardening;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The shaded {@code target/ztunnel.jar} run as a process, as an operator would, with its CPU time and resident
 * memory read from {@code /proc} and its metrics from its stats endpoint.
 */
final class ProxyProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("(stats|readiness) listening on ([0-9.]+):(\\d+)");
    private static final long CLOCK_TICKS = 100; // USER_HZ; getconf CLK_TCK on Linux

    private final Process process;
    private final List<String> output = new CopyOnWriteArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private volatile URI stats;
    private volatile URI readiness;

    private ProxyProcess(Process process) {
        this.process = process;
    }

    /** Starts the jar with {@code heap} (e.g. {@code 128m}), JVM options and arguments; waits until ready. */
    static ProxyProcess start(String heap, List<String> jvmArgs, List<String> args, Map<String, String> env)
            throws Exception {
        Path jar = Path.of("target", "ztunnel.jar").toAbsolutePath();
        if (!Files.exists(jar)) {
            throw new IllegalStateException("no " + jar + ": these tests run after `mvn package` (failsafe)");
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heap, "-Xms" + heap, "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError",
                "-XX:TieredStopAtLevel=1"));
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-jar", jar.toString()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        ProxyProcess p = new ProxyProcess(pb.start());
        Thread reader = new Thread(p::readOutput, "ztunnel-output");
        reader.setDaemon(true);
        reader.start();
        try {
            Hardening.await(() -> "stats endpoint; output:\n" + p.output(), 60, () -> (p.stats != null
                    && p.readiness != null) || !p.process.isAlive());
            if (!p.process.isAlive()) {
                throw new IllegalStateException("ztunnel exited: " + p.output());
            }
            Hardening.await(() -> "readiness; output:\n" + p.output(), 60, p::ready);
        } catch (Throwable t) {
            p.close();
            throw t;
        }
        return p;
    }

    private void readOutput() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (output.size() < 20_000) {
                    output.add(line);
                }
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    URI uri = URI.create("http://" + m.group(2) + ":" + m.group(3) + "/");
                    if (m.group(1).equals("stats")) {
                        stats = uri;
                    } else {
                        readiness = uri;
                    }
                }
            }
        } catch (IOException e) {
            // the process ended
        }
    }

    private boolean ready() {
        try {
            return http.send(HttpRequest.newBuilder(readiness.resolve("healthz/ready")).timeout(Duration.ofSeconds(5))
                    .build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String output() {
        return String.join("\n", output);
    }

    List<String> lines() {
        return List.copyOf(output);
    }

    /** User + system CPU time of the whole process so far, in seconds. */
    double cpuSeconds() throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid()), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / (double) CLOCK_TICKS; // utime, stime
    }

    /** Resident set size in KiB. */
    long rssKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmRSS");
    }

    /** Java heap in use after a full GC (jcmd GC.run, then GC.heap_info), in KiB. */
    long heapUsedKib() throws Exception {
        jcmd("GC.run");
        String info = jcmd("GC.heap_info");
        long used = 0;
        boolean found = false;
        for (String line : info.split("\n")) {
            if (line.contains("generation") || line.contains("garbage-first heap")) {
                java.util.regex.Matcher m = Pattern.compile("used (\\d+)K").matcher(line);
                if (m.find()) {
                    used += Long.parseLong(m.group(1));
                    found = true;
                }
            }
        }
        if (!found) {
            throw new IOException("no heap figure in: " + info);
        }
        return used;
    }

    private String jcmd(String command) throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                Long.toString(pid()), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("jcmd " + command + " failed: " + out);
        }
        return out;
    }

    String scrape() throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(stats.resolve("metrics"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        return r.body();
    }

    /** SIGTERM, then waits (up to {@code seconds}); returns whether it exited. */
    boolean terminate(long seconds) throws InterruptedException {
        process.toHandle().destroy();
        return process.waitFor(seconds, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.toHandle().destroy();
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
