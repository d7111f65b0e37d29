package dev.hbone.benchmarks.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One process of the harness (a proxy, a relay, the load client or server): its output is read line by line (kept in
 * a log file and a short tail for error messages), commands go to its stdin, and its CPU time, resident memory and
 * heap after a full GC are read from {@code /proc} and {@code jcmd}.
 */
final class ChildProcess implements AutoCloseable {
    private static final long CLOCK_TICKS = 100; // USER_HZ (getconf CLK_TCK) on Linux
    private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");

    private final String name;
    private final Process process;
    private final Path javaHome;
    private final PrintWriter stdin;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final Deque<String> tail = new ArrayDeque<>();
    private final PrintWriter log;

    private static final java.util.Set<ChildProcess> RUNNING = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Stops every child still running (the harness's shutdown hook). */
    static void closeAll() {
        for (ChildProcess p : List.copyOf(RUNNING)) {
            p.process.destroy();
        }
        for (ChildProcess p : List.copyOf(RUNNING)) {
            try {
                if (!p.process.waitFor(10, TimeUnit.SECONDS)) {
                    p.process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.process.destroyForcibly();
            }
        }
    }

    private ChildProcess(String name, Process process, Path javaHome, Path logFile) throws IOException {
        this.name = name;
        this.process = process;
        this.javaHome = javaHome;
        this.stdin = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        this.log = new PrintWriter(Files.newBufferedWriter(logFile, StandardCharsets.UTF_8), true);
        Thread reader = new Thread(this::readOutput, name + "-output");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code javaHome/bin/java ARGS}, stdout and stderr together into {@code logFile}. */
    static ChildProcess startJava(String name, Path javaHome, List<String> javaArgs, Map<String, String> env,
                                  Path logFile) throws IOException {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(javaHome.resolve("bin").resolve("java").toString());
        cmd.addAll(javaArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Files.writeString(logFile, "");
        ChildProcess p = new ChildProcess(name, pb.start(), javaHome, logFile);
        RUNNING.add(p);
        p.log.println("# " + String.join(" ", cmd));
        return p;
    }

    private void readOutput() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                                                                         StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                log.println(line);
                synchronized (tail) {
                    tail.addLast(line);
                    if (tail.size() > 40) {
                        tail.removeFirst();
                    }
                }
                lines.add(line);
            }
        } catch (IOException e) {
            // the process ended
        } finally {
            lines.add("EOF");
        }
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String tail() {
        synchronized (tail) {
            return String.join("\n", tail);
        }
    }

    /** Waits for an output line matching {@code pattern} (lines before it are skipped). */
    Matcher await(Pattern pattern, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            String line = left <= 0 ? null : lines.poll(left, TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new IllegalStateException(name + ": no line matching " + pattern + " within " + timeout
                                                + "; last output:\n" + tail());
            }
            if (line.equals("EOF") && !process.isAlive()) {
                throw new IllegalStateException(name + " exited (" + process.exitValue() + ") waiting for " + pattern
                                                + "; last output:\n" + tail());
            }
            Matcher m = pattern.matcher(line);
            if (m.find()) {
                return m;
            }
            if (line.startsWith("ERROR ")) {
                throw new IllegalStateException(name + ": " + line);
            }
        }
    }

    /** Sends one command line; returns the rest of the first answer line starting with {@code answer}. */
    String command(String command, String answer, Duration timeout) throws InterruptedException {
        lines.clear();
        stdin.println(command);
        log.println("> " + command);
        Matcher m = await(Pattern.compile("^" + Pattern.quote(answer) + "\\s*(.*)$"), timeout);
        return m.group(1);
    }

    /** User + system CPU seconds of the process so far. */
    double cpuSeconds() throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid()), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / (double) CLOCK_TICKS; // utime, stime
    }

    /** Resident set size, KiB. */
    long rssKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmRSS for " + name);
    }

    /**
     * Java heap in use after a full GC, KiB: one {@code jcmd} run ({@code GC.run} then {@code GC.heap_info}, read from
     * a command file), since each jcmd is a JVM start.
     */
    long heapAfterGcKib(Path scratch) throws IOException, InterruptedException {
        Path commands = scratch.resolve("jcmd-" + pid() + ".txt");
        Files.writeString(commands, "GC.run\nGC.heap_info\n");
        String info = jcmd("-f", commands.toAbsolutePath().toString());
        long used = 0;
        boolean found = false;
        for (String line : info.split("\n")) {
            Matcher m = HEAP_USED.matcher(line);
            if (line.contains("garbage-first heap") && m.find()) {
                return Long.parseLong(m.group(1)); // G1: the whole heap on one line
            }
            if (line.contains("generation") && m.find()) { // Serial/Parallel: young + old
                used += Long.parseLong(m.group(1));
                found = true;
            }
        }
        if (!found) {
            throw new IOException(name + ": no heap figure in " + info);
        }
        return used;
    }

    /** Runs {@code jcmd PID COMMAND} with the process's own JDK (jcmd must match the target's version). */
    String jcmd(String... command) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of(javaHome.resolve("bin").resolve("jcmd").toString(),
                                                             Long.toString(pid())));
        cmd.addAll(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("jcmd " + String.join(" ", command) + " on " + name + " failed: " + out);
        }
        return out;
    }

    /** Asks politely ({@code quit} on stdin, then SIGTERM), then forcibly. */
    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                try {
                    stdin.println("quit");
                    OutputStream o = process.getOutputStream();
                    o.close();
                } catch (IOException ignored) {
                    // already gone
                }
                if (!process.waitFor(2, TimeUnit.SECONDS)) {
                    process.destroy();
                    if (!process.waitFor(15, TimeUnit.SECONDS)) {
                        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                    }
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            RUNNING.remove(this);
            log.close();
        }
    }

    @Override
    public String toString() {
        return name + " (pid " + process.pid() + ")";
    }
}
