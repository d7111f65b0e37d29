package dev.hbone.ztunnel.hardening;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs {@code src/test/python/h2_abuse.py} with the system Python (python3-h2 is a Debian package for it). Missing
 * python3-h2 skips the caller, except under {@code CI=true}, where it fails.
 */
final class PythonPeer {
    static final String PYTHON = "/usr/bin/python3";
    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\": (\\[[^\\]]*\\]|\"[^\"]*\"|[^,}]+)");

    private PythonPeer() {
    }

    static void requireH2() {
        boolean present;
        try {
            Process p = new ProcessBuilder(PYTHON, "-c", "import h2, hpack").redirectErrorStream(true).start();
            present = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            present = false;
        }
        if (!present) {
            String why = "python3-h2 is not installed for " + PYTHON + " (apt-get install -y python3-h2)";
            if ("true".equals(System.getenv("CI"))) {
                fail(why + ": the hardening tests are mandatory under CI=true");
            }
            Assumptions.abort(why + ": skipping");
        }
    }

    static Path script() {
        return Path.of("src", "test", "python", "h2_abuse.py").toAbsolutePath();
    }

    /** Runs one attack; returns the fields of its JSON result (raw JSON text per value). */
    static Map<String, String> run(List<String> args, long timeoutSeconds) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(PYTHON, script().toString()));
        cmd.addAll(args);
        Path log = java.nio.file.Files.createTempFile("h2-abuse", ".out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                throw new AssertionError("attacker did not finish in " + timeoutSeconds + " s: " + args + ":\n"
                        + java.nio.file.Files.readString(log));
            }
            String text = java.nio.file.Files.readString(log, StandardCharsets.UTF_8);
            String last = text.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b)
                    .orElseThrow(() -> new AssertionError("no result from the attacker " + args + ":\n" + text));
            Map<String, String> fields = new LinkedHashMap<>();
            Matcher m = FIELD.matcher(last);
            while (m.find()) {
                fields.put(m.group(1), m.group(2).trim());
            }
            fields.put("json", last);
            return fields;
        } finally {
            p.destroyForcibly();
            java.nio.file.Files.deleteIfExists(log);
        }
    }
}
