package dev.hbone.benchmarks.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Runs the end-to-end harness in {@code --quick} mode — the real proxy processes, relays, client and servers, every
 * phase once — so the harness cannot rot. It checks that every figure was produced and the files were written; it
 * asserts nothing about speed (figures from a loaded build machine mean nothing).
 */
class E2eHarnessSmokeTest {

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void quickModeProducesEveryFigure() throws Exception {
        Path work = Path.of("target", "e2e-smoke");
        Path out = work.resolve("e2e-quick.json");
        E2eHarness.Options o = E2eHarness.Options.parse(new String[] {"--quick", "--work", work.toString(),
                                                                      "--out", out.toString()});
        assertThat(o.ztunnelJar).as("the shaded proxy (built by ztunnel-reference's package phase)").isRegularFile();

        Map<String, Object> root = new E2eHarness(o).run();

        List<Map<String, Object>> cells = E2eSummary.list(root, "cells");
        assertThat(cells).hasSize(1);
        Map<String, Object> cell = cells.get(0);
        assertThat(cell.get("error")).as("cell error").isNull();
        assertThat(cell.get("provider")).isNotNull();
        for (Map<String, Object> run : E2eSummary.list(cell, "throughput")) {
            assertThat(E2eHarness.num(run, "MBps")).as("throughput of " + run).isPositive();
        }
        assertThat(E2eSummary.list(cell, "throughput")).extracting(r -> r.get("mode"))
                .contains("direct", "tcp", "tls", "hbone-pooled", "hbone-spread");
        for (Map<String, Object> run : E2eSummary.list(cell, "latency")) {
            assertThat(run.get("complete")).as("every request answered: " + run).isEqualTo(true);
            assertThat(E2eHarness.num(run, "p50us")).isPositive();
        }
        for (Map<String, Object> run : E2eSummary.list(E2eHarness.sub(cell, "connections"), "runs")) {
            assertThat(E2eHarness.num(run, "ok")).as("connections of " + run).isPositive();
            assertThat(E2eHarness.num(run, "failed")).as("failed connections of " + run).isZero();
        }
        Map<String, Object> memory = E2eHarness.sub(cell, "memory");
        assertThat(E2eHarness.num(E2eHarness.sub(memory, "idleTunnels"), "open")).isEqualTo(o.idleTunnels);
        assertThat(E2eHarness.sub(memory, "perTunnel")).containsKeys("proxy-a", "proxy-b");
        // Quick mode measures 2 streams only; the single-stream goals need the full run.
        assertThat(E2eSummary.list(cell, "goals")).hasSize(5)
                .allSatisfy(g -> assertThat(g.get("status")).isIn("met", "missed", "not measured", "not measurable"))
                .filteredOn(g -> String.valueOf(g.get("goal")).contains("heap after GC")
                                 || String.valueOf(g.get("goal")).contains("tunnels per second"))
                .allSatisfy(g -> assertThat(g.get("status")).isIn("met", "missed"));
        // RSS can fall while a few tunnels open (the JVM returns memory): then there is no per-tunnel figure.
        assertThat(E2eSummary.list(cell, "goals"))
                .filteredOn(g -> String.valueOf(g.get("goal")).contains("RSS"))
                .allSatisfy(g -> assertThat(g.get("status")).isIn("met", "missed", "not measurable"));

        assertThat(out).isRegularFile();
        assertThat(E2eHarness.png(out)).isRegularFile();
        assertThat(Files.readString(E2eHarness.md(out))).contains("| goal |");
        assertThat(JsonText.parseObject(Files.readString(out)).get("command")).isNotNull();
    }
}
