package dev.hbone.ztunnel.support;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A process a test runs in the background (a proxy, tcpdump, a tiny app): its output lines (stdout and stderr
 * merged) are collected as they come; {@link #close()} kills it (SIGKILL) if it still runs, and is always safe.
 */
public final class BackgroundProcess implements AutoCloseable {
    private final String name;
    private final Process process;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Thread reader;

    private BackgroundProcess(String name, Process process) {
        this.name = name;
        this.process = process;
        this.reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    lines.add(line);
                    synchronized (lines) {
                        lines.notifyAll();
                    }
                }
            } catch (IOException e) {
                // ended
            } finally {
                synchronized (lines) {
                    lines.notifyAll();
                }
            }
        }, name + "-output");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code command} with extra environment variables. */
    public static BackgroundProcess start(String name, List<String> command, Map<String, String> environment)
            throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(environment);
        return new BackgroundProcess(name, pb.start());
    }

    /** Starts {@code command}. */
    public static BackgroundProcess start(String name, List<String> command) throws IOException {
        return start(name, command, Map.of());
    }

    /** The process. */
    public Process process() {
        return process;
    }

    /** Every line so far. */
    public List<String> lines() {
        return List.copyOf(lines);
    }

    /** Every line so far, joined. */
    public String output() {
        return String.join("\n", lines);
    }

    /**
     * Waits for a line matching {@code pattern} (searching from the first line) and returns its match.
     *
     * @throws AssertionError naming the pattern and the output when the process ends or {@code timeout} passes first
     */
    public Matcher awaitLine(Pattern pattern, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int seen = 0;
        while (true) {
            List<String> now = lines();
            for (int i = seen; i < now.size(); i++) {
                Matcher m = pattern.matcher(now.get(i));
                if (m.find()) {
                    return m;
                }
            }
            seen = now.size();
            long left = deadline - System.nanoTime();
            if (left <= 0 || (!process.isAlive() && !reader.isAlive() && seen == lines.size())) {
                throw new AssertionError(name + ": no line matching /" + pattern + "/ "
                        + (process.isAlive() ? "within " + timeout : "before it exited (" + exitText() + ")")
                        + "; output:\n" + output());
            }
            synchronized (lines) {
                if (lines.size() == seen) {
                    lines.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 200)));
                }
            }
        }
    }

    /** Waits until some line satisfies {@code condition}. */
    public String awaitLine(Predicate<String> condition, String what, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (String l : lines()) {
                if (condition.test(l)) {
                    return l;
                }
            }
            if (System.nanoTime() > deadline || (!process.isAlive() && !reader.isAlive())) {
                throw new AssertionError(name + ": no line " + what + " within " + timeout + "; output:\n" + output());
            }
            synchronized (lines) {
                lines.wait(200);
            }
        }
    }

    private String exitText() {
        try {
            return "exit " + process.exitValue();
        } catch (IllegalThreadStateException e) {
            return "running";
        }
    }

    /** Sends SIGTERM (through the handle, so our end of the output pipe stays open for the last lines). */
    public void terminate() {
        process.toHandle().destroy();
    }

    /**
     * Waits for the process to exit and for its output to be read.
     *
     * @return the exit code
     * @throws AssertionError when it has not exited within {@code timeout}
     */
    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError(name + " still running after " + timeout + "; output:\n" + output());
        }
        reader.join(5_000);
        return process.exitValue();
    }

    /**
     * Kills the process if it still runs and waits (bounded) for it; then fails if it reported a Netty buffer leak
     * (a {@code LEAK:} line: the proxies run with paranoid leak detection, see {@link Ztunnel#start}), so a leak in a
     * proxy process fails the test that ran it, as the test JVM's own leaks do.
     *
     * @throws AssertionError naming the leak reports
     */
    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
            reader.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<String> leaks = lines.stream().filter(l -> l.contains("LEAK:")).toList();
        if (!leaks.isEmpty()) {
            throw new AssertionError(name + " reported " + leaks.size() + " Netty buffer leak(s):\n" + output());
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
