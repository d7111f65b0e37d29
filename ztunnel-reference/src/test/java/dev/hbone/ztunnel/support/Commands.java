package dev.hbone.ztunnel.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Assertions;

/** Runs short external commands (ip, iptables, ...) to completion, with a timeout, for end-to-end tests. */
public final class Commands {
    private Commands() {
    }

    /**
     * Runs a command and returns its combined output.
     *
     * @throws IllegalStateException when it fails, times out (30 s) or exits non-zero; the message has the output
     */
    public static String run(String... command) {
        return run(List.of(command));
    }

    /** As {@link #run(String...)}. */
    public static String run(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] out;
            // the output is small: read it all, then wait (the process ends on its own or is killed below)
            Thread killer = new Thread(() -> {
                try {
                    if (!p.waitFor(30, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    p.destroyForcibly();
                }
            }, "command-timeout");
            killer.setDaemon(true);
            killer.start();
            out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + ": timed out");
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + ": exit " + p.exitValue() + ": " + text);
            }
            return text;
        } catch (IOException e) {
            throw new IllegalStateException(String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(String.join(" ", command) + ": interrupted", e);
        }
    }

    /** Returns true when the command runs and exits 0 within 30 s. */
    public static boolean succeeds(String... command) {
        try {
            run(command);
            return true;
        } catch (IllegalStateException e) {
            return false;
        }
    }

    /**
     * Skips the calling test with {@code why}, except under {@code CI=true}, where a missing prerequisite fails it:
     * CI runs as root on Linux with every tool installed, so a skip there would hide a lost test.
     */
    public static void require(boolean present, String why) {
        if (present) {
            return;
        }
        if ("true".equals(System.getenv("CI"))) {
            Assertions.fail(why + " (mandatory under CI=true)");
        }
        Assumptions.abort(why + ": skipped");
    }
}
