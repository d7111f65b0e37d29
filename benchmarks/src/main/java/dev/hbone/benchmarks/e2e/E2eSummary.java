package dev.hbone.benchmarks.e2e;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Reads the harness's result tree: medians over repeats (with their spread), the ratios measured in the same run,
 * the goals, and a Markdown summary.
 */
final class E2eSummary {
    static final double GOAL_THROUGHPUT_RATIO = 0.45;
    static final double GOAL_ADDED_P50_US = 100;
    static final double GOAL_TUNNELS_PER_SECOND = 2500;
    static final double GOAL_IDLE_BYTES = 4096;

    private E2eSummary() { }

    /** Median, minimum and maximum of the values of {@code key} in the runs {@code filter} accepts. */
    record Stat(double median, double min, double max, int n) {
        static final Stat NONE = new Stat(Double.NaN, Double.NaN, Double.NaN, 0);

        /** Half the range as a fraction of the median: how far repeats strayed. */
        double spread() {
            return n < 2 || median == 0 ? 0 : (max - min) / 2 / Math.abs(median);
        }

        String format(String pattern) {
            if (n == 0) {
                return "—";
            }
            String m = String.format(Locale.ROOT, pattern, median);
            return n < 2 ? m : m + String.format(Locale.ROOT, " ±%.0f%%", spread() * 100);
        }
    }

    static Stat stat(List<Map<String, Object>> runs, Predicate<Map<String, Object>> filter, String key) {
        List<Double> v = new ArrayList<>();
        for (Map<String, Object> r : runs) {
            if (filter.test(r)) {
                double d = E2eHarness.num(r, key);
                if (!Double.isNaN(d)) {
                    v.add(d);
                }
            }
        }
        return of(v);
    }

    static Stat of(List<Double> v) {
        if (v.isEmpty()) {
            return Stat.NONE;
        }
        List<Double> s = new ArrayList<>(v);
        s.sort(Double::compare);
        int n = s.size();
        double median = n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
        return new Stat(median, s.get(0), s.get(n - 1), n);
    }

    static Predicate<Map<String, Object>> is(String field, Object value) {
        return r -> {
            Object v = r.get(field);
            if (v instanceof Number a && value instanceof Number b) {
                return a.doubleValue() == b.doubleValue();
            }
            return value.equals(v);
        };
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(Map<String, Object> m, String key) {
        Object v = m.get(key);
        return v instanceof List<?> l ? (List<Map<String, Object>>) l : List.of();
    }

    /** Ratio of {@code a} to {@code b} per repeat (measured back to back), then the median. */
    static Stat pairedRatio(List<Map<String, Object>> runs, String modeA, String modeB, int streams, String key) {
        List<Double> v = new ArrayList<>();
        for (Map<String, Object> a : runs) {
            if (!is("mode", modeA).test(a) || !is("streams", streams).test(a)) {
                continue;
            }
            for (Map<String, Object> b : runs) {
                if (is("mode", modeB).test(b) && is("streams", streams).test(b) && a.get("repeat").equals(
                        b.get("repeat"))) {
                    v.add(E2eHarness.num(a, key) / E2eHarness.num(b, key));
                }
            }
        }
        return of(v);
    }

    /** Difference of {@code a} and {@code b} per repeat, then the median. */
    static Stat pairedDifference(List<Map<String, Object>> runs, String modeA, String modeB, int streams,
                                 String key) {
        List<Double> v = new ArrayList<>();
        for (Map<String, Object> a : runs) {
            if (!is("mode", modeA).test(a) || !is("streams", streams).test(a)) {
                continue;
            }
            for (Map<String, Object> b : runs) {
                if (is("mode", modeB).test(b) && is("streams", streams).test(b) && a.get("repeat").equals(
                        b.get("repeat"))) {
                    v.add(E2eHarness.num(a, key) - E2eHarness.num(b, key));
                }
            }
        }
        return of(v);
    }

    /** Where one cell stands against the four goals. Never a pass that was not measured. */
    static List<Map<String, Object>> goals(Map<String, Object> cell) {
        List<Map<String, Object>> goals = new ArrayList<>();
        List<Map<String, Object>> tput = list(cell, "throughput");
        Stat ratio = pairedRatio(tput, "hbone-pooled", "tcp", 1, "MBps");
        goals.add(goal("single-stream HBONE throughput / plain TCP through the same proxy", ratio.median(),
                       GOAL_THROUGHPUT_RATIO, true, "ratio"));
        Stat added = pairedDifference(list(cell, "latency"), "hbone", "direct", 1, "p50us");
        goals.add(goal("added p50 latency of the two-proxy HBONE path over direct, 1000 rps × 1 KB", added.median(),
                       GOAL_ADDED_P50_US, false, "µs"));
        Map<String, Object> conn = cell.get("connections") instanceof Map<?, ?> c ? castMap(c) : Map.of();
        Stat tunnels = stat(list(conn, "runs"), is("kind", "hbone-new-identity"), "perSecond");
        Map<String, Object> g = goal("new mTLS tunnels per second, distinct identities (goal set for BoringSSL)",
                                     tunnels.median(), GOAL_TUNNELS_PER_SECOND, true, "/s");
        if (!"OPENSSL".equals(cell.get("provider"))) {
            g.put("note", "goal is for BoringSSL; reported for comparison");
        }
        goals.add(g);
        Map<String, Object> memory = cell.get("memory") instanceof Map<?, ?> m ? castMap(m) : Map.of();
        Map<String, Object> per = memory.get("perTunnel") instanceof Map<?, ?> p ? castMap(p) : Map.of();
        double heap = Double.NaN;
        double rss = Double.NaN;
        for (Object v : per.values()) {
            Map<String, Object> one = castMap((Map<?, ?>) v);
            heap = Double.isNaN(heap) ? E2eHarness.num(one, "idleHeapBytesPerTunnel")
                                      : Math.max(heap, E2eHarness.num(one, "idleHeapBytesPerTunnel"));
            rss = Double.isNaN(rss) ? E2eHarness.num(one, "idleRssBytesPerTunnel")
                                    : Math.max(rss, E2eHarness.num(one, "idleRssBytesPerTunnel"));
        }
        goals.add(goal("memory per idle tunnel, heap after GC (the larger proxy)", heap, GOAL_IDLE_BYTES, false,
                       "bytes"));
        goals.add(goal("memory per idle tunnel, RSS (the larger proxy)", rss, GOAL_IDLE_BYTES, false, "bytes"));
        return goals;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> castMap(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }

    private static Map<String, Object> goal(String what, double measured, double target, boolean atLeast,
                                            String unit) {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("goal", what);
        g.put("target", (atLeast ? "≥ " : "≤ ") + fmt(target) + " " + unit);
        g.put("measured", Double.isNaN(measured) ? null : measured);
        g.put("unit", unit);
        if (Double.isNaN(measured)) {
            g.put("status", "not measured");
        } else if (!atLeast && measured < 0) {
            // RSS can fall while tunnels open (the JVM hands heap regions back to the OS): no per-tunnel figure.
            g.put("status", "not measurable");
            g.put("note", "fell during the phase (the JVM returned memory to the OS)");
        } else {
            boolean met = atLeast ? measured >= target : measured <= target;
            g.put("status", met ? "met" : "missed");
            if (!met) {
                g.put("missedBy", atLeast ? String.format(Locale.ROOT, "%.0f%% below", (1 - measured / target) * 100)
                                          : String.format(Locale.ROOT, "%.0f%% above", (measured / target - 1) * 100));
            }
        }
        return g;
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    // --- Markdown --------------------------------------------------------------------------------------------------

    static String markdown(Map<String, Object> root) {
        StringBuilder md = new StringBuilder();
        md.append("## End-to-end run ").append(root.get("date")).append("\n\n");
        md.append("- Command: `").append(root.get("command")).append("`\n");
        Map<String, Object> machine = castMap((Map<?, ?>) root.get("machine"));
        md.append("- Machine: ").append(machine.get("cpu")).append(", ").append(machine.get("cores"))
          .append(" cores, kernel ").append(machine.get("kernel")).append("\n");
        md.append("- Load average at start / end: ").append(root.get("loadAverageAtStart")).append(" / ")
          .append(root.get("loadAverageAtEnd")).append("\n");
        md.append("- Load client and servers: ").append(root.get("harnessJdk")).append("\n");
        md.append("- Medians of ").append(castMap((Map<?, ?>) root.get("settings")).get("repeats"))
          .append(" repeats; ±N% is half the range of the repeats.\n\n");
        for (Map<String, Object> cell : list(root, "cells")) {
            md.append("### JDK ").append(cell.get("jdkLabel")).append(" (").append(cell.get("jdk")).append("), ")
              .append(cell.get("provider")).append("\n\n");
            if (cell.get("error") != null) {
                md.append("**failed**: ").append(cell.get("error")).append("\n\n");
                continue;
            }
            md.append("Load average at start: ").append(cell.get("loadAverageAtStart")).append("\n\n");
            if (cell.get("throughput") != null) {
                throughput(md, cell);
            }
            if (cell.get("latency") != null) {
                latency(md, cell);
            }
            if (cell.get("connections") != null) {
                connections(md, cell);
            }
            if (cell.get("memory") != null) {
                memory(md, cell);
            }
            md.append("| goal | target | measured | status |\n|---|---|---|---|\n");
            for (Map<String, Object> g : list(cell, "goals")) {
                double v = E2eHarness.num(g, "measured");
                md.append("| ").append(g.get("goal")).append(" | ").append(g.get("target")).append(" | ")
                  .append(Double.isNaN(v) ? "—" : String.format(Locale.ROOT, v < 10 ? "%.2f" : "%.0f", v))
                  .append(' ').append(g.get("unit")).append(" | ").append(g.get("status"))
                  .append(g.get("missedBy") != null ? " (" + g.get("missedBy") + ")" : "")
                  .append(g.get("note") != null ? "; " + g.get("note") : "").append(" |\n");
            }
            md.append('\n');
        }
        return md.toString();
    }

    private static List<Integer> streams(List<Map<String, Object>> runs) {
        return runs.stream().map(r -> ((Number) r.get("streams")).intValue()).distinct().sorted().toList();
    }

    private static void throughput(StringBuilder md, Map<String, Object> cell) {
        List<Map<String, Object>> runs = list(cell, "throughput");
        md.append("Throughput, MB/s (10⁶ bytes/s at the receiving server) and proxy CPU seconds per GB:\n\n");
        md.append("| streams | direct | tcp (proxy A) | tls relay | hbone pooled | hbone spread | hbone/tcp "
                  + "| hbone/tls | CPU s/GB tcp | tls | hbone |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (int n : streams(runs)) {
            Predicate<Map<String, Object>> sn = is("streams", n);
            md.append("| ").append(n);
            for (String mode : List.of("direct", "tcp", "tls", "hbone-pooled", "hbone-spread")) {
                md.append(" | ").append(stat(runs, sn.and(is("mode", mode)), "MBps").format("%.0f"));
            }
            md.append(" | ").append(pairedRatio(runs, "hbone-pooled", "tcp", n, "MBps").format("%.2f"));
            md.append(" | ").append(pairedRatio(runs, "hbone-pooled", "tls", n, "MBps").format("%.2f"));
            for (String mode : List.of("tcp", "tls", "hbone-pooled")) {
                md.append(" | ").append(stat(runs, sn.and(is("mode", mode)), "proxyCpuSecondsPerGB").format("%.2f"));
            }
            md.append(" |\n");
        }
        md.append('\n');
    }

    private static void latency(StringBuilder md, Map<String, Object> cell) {
        List<Map<String, Object>> runs = list(cell, "latency");
        md.append("Latency at a fixed rate (1 KB request, 1 KB echo), µs from the intended send time; "
                  + "\"added\" = minus direct, same repeat:\n\n");
        md.append("| streams | mode | p50 | p90 | p99 | added p50 | added p90 | added p99 |\n"
                  + "|---|---|---|---|---|---|---|---|\n");
        for (int n : streams(runs)) {
            for (String mode : List.of("direct", "tcp", "tls", "hbone")) {
                Predicate<Map<String, Object>> f = is("streams", n).and(is("mode", mode));
                md.append("| ").append(n).append(" | ").append(mode);
                for (String p : List.of("p50us", "p90us", "p99us")) {
                    md.append(" | ").append(stat(runs, f, p).format("%.0f"));
                }
                for (String p : List.of("p50us", "p90us", "p99us")) {
                    md.append(" | ").append(mode.equals("direct") ? "—"
                                                                   : pairedDifference(runs, mode, "direct", n, p)
                                                                           .format("%.0f"));
                }
                md.append(" |\n");
            }
        }
        md.append('\n');
    }

    private static void connections(StringBuilder md, Map<String, Object> cell) {
        Map<String, Object> conn = castMap((Map<?, ?>) cell.get("connections"));
        List<Map<String, Object>> runs = list(conn, "runs");
        md.append("Connections (each one established end to end, then closed):\n\n"
                  + "| kind | per second | p50 ms | p99 ms | proxy CPU ms each | failed |\n|---|---|---|---|---|---|\n");
        for (String kind : List.of("direct", "tcp", "hbone-warm", "hbone-new-identity")) {
            Predicate<Map<String, Object>> f = is("kind", kind);
            md.append("| ").append(kind).append(" | ").append(stat(runs, f, "perSecond").format("%.0f"))
              .append(" | ").append(stat(runs, f, "p50ms").format("%.2f"))
              .append(" | ").append(stat(runs, f, "p99ms").format("%.2f"))
              .append(" | ").append(stat(runs, f, "proxyCpuMsPerConnection").format("%.2f"))
              .append(" | ").append(stat(runs, f, "failed").format("%.0f")).append(" |\n");
        }
        md.append('\n');
    }

    private static void memory(StringBuilder md, Map<String, Object> cell) {
        Map<String, Object> mem = castMap((Map<?, ?>) cell.get("memory"));
        Map<String, Object> opened = castMap((Map<?, ?>) mem.get("idleTunnels"));
        md.append(String.format(Locale.ROOT, "Memory: %.0f idle tunnels opened in %.1f s (%s upstream connections at "
                                             + "the server), %s of them then active:%n%n",
                                E2eHarness.num(opened, "open"), E2eHarness.num(opened, "seconds"),
                                mem.get("upstreamConnectionsAtServer"), mem.get("activeTunnels")));
        md.append("| proxy | heap after GC MiB before → idle → active | RSS MiB before → idle → active | fds idle "
                  + "| heap B/idle tunnel | RSS B/idle tunnel | extra heap B/active | extra RSS B/active |\n"
                  + "|---|---|---|---|---|---|---|---|\n");
        Map<String, Object> per = castMap((Map<?, ?>) mem.get("perTunnel"));
        for (String p : per.keySet()) {
            Map<String, Object> b = castMap((Map<?, ?>) castMap((Map<?, ?>) mem.get("before")).get(p));
            Map<String, Object> i = castMap((Map<?, ?>) castMap((Map<?, ?>) mem.get("idle")).get(p));
            Map<String, Object> a = castMap((Map<?, ?>) castMap((Map<?, ?>) mem.get("active")).get(p));
            Map<String, Object> x = castMap((Map<?, ?>) per.get(p));
            md.append(String.format(Locale.ROOT, "| %s | %.0f → %.0f → %.0f | %.0f → %.0f → %.0f | %.0f | %.0f | %.0f "
                                                 + "| %.0f | %.0f |%n", p,
                                    E2eHarness.num(b, "heapAfterGcKiB") / 1024, E2eHarness.num(i, "heapAfterGcKiB") / 1024,
                                    E2eHarness.num(a, "heapAfterGcKiB") / 1024, E2eHarness.num(b, "rssKiB") / 1024,
                                    E2eHarness.num(i, "rssKiB") / 1024, E2eHarness.num(a, "rssKiB") / 1024,
                                    E2eHarness.num(i, "fds"),
                                    E2eHarness.num(x, "idleHeapBytesPerTunnel"), E2eHarness.num(x, "idleRssBytesPerTunnel"),
                                    E2eHarness.num(x, "activeExtraHeapBytesPerTunnel"),
                                    E2eHarness.num(x, "activeExtraRssBytesPerTunnel")));
        }
        md.append('\n');
    }
}
