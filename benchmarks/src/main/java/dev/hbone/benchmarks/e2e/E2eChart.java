package dev.hbone.benchmarks.e2e;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Draws the harness's results as a PNG: one column per JDK × TLS provider; the top row is throughput (MB/s) against
 * the number of streams for each path, the bottom row latency p50 and p99 (µs, log scale) at the fixed request rate.
 * Medians over repeats, from the JSON file alone:
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar dev.hbone.benchmarks.e2e.E2eChart results/e2e-DATE.json [out.png]</pre>
 */
public final class E2eChart {
    private static final int PANEL_W = 430;
    private static final int PANEL_H = 330;
    private static final int MARGIN_L = 70;
    private static final int MARGIN_R = 20;
    private static final int MARGIN_T = 40;
    private static final int MARGIN_B = 50;
    private static final int HEADER = 70;
    private static final int LEGEND = 60;

    private record Series(String mode, String label, Color color, boolean dashed) { }

    private static final List<Series> THROUGHPUT = List.of(
            new Series("direct", "direct", new Color(120, 120, 120), false),
            new Series("tcp", "TCP via proxy A", new Color(31, 119, 180), false),
            new Series("tls", "TLS relay pair", new Color(44, 160, 44), false),
            new Series("hbone-pooled", "HBONE pooled (1 conn)", new Color(214, 39, 40), false),
            new Series("hbone-spread", "HBONE spread (1 conn/stream)", new Color(255, 127, 14), true));
    private static final List<Series> LATENCY = List.of(
            new Series("direct", "direct", new Color(120, 120, 120), false),
            new Series("tcp", "TCP via proxy A", new Color(31, 119, 180), false),
            new Series("tls", "TLS relay pair", new Color(44, 160, 44), false),
            new Series("hbone", "HBONE (2 proxies)", new Color(214, 39, 40), false));

    private E2eChart() { }

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: E2eChart RESULTS.json [OUT.png]  (without OUT.png: also re-derives the goals and"
                               + " rewrites RESULTS.json and RESULTS.md)");
            System.exit(2);
        }
        Path json = Path.of(args[0]);
        Path png = args.length > 1 ? Path.of(args[1]) : E2eHarness.png(json);
        Map<String, Object> root = JsonText.parseObject(Files.readString(json));
        if (args.length == 1) {
            // Re-derive the goals with this version's rules, and the Markdown summary next to the JSON.
            for (Map<String, Object> cell : E2eSummary.list(root, "cells")) {
                if (cell.get("error") == null) {
                    cell.put("goals", E2eSummary.goals(cell));
                }
            }
            Files.writeString(json, JsonText.write(root));
            Files.writeString(E2eHarness.md(json), E2eSummary.markdown(root));
            System.out.println(E2eHarness.md(json));
        }
        render(root, png);
        System.out.println(png);
    }

    static void render(Map<String, Object> root, Path png) throws IOException {
        List<Map<String, Object>> cells = new ArrayList<>();
        for (Map<String, Object> c : E2eSummary.list(root, "cells")) {
            if (c.get("error") == null && c.get("throughput") != null) {
                cells.add(c);
            }
        }
        int cols = Math.max(1, cells.size());
        int width = Math.max(cols * PANEL_W, 1100);
        int height = HEADER + 2 * PANEL_H + LEGEND;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        g.drawString("hbone-java end-to-end: throughput and latency vs streams (medians)", 12, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        Map<String, Object> machine = E2eHarness.sub(root, "machine");
        g.drawString(String.format(Locale.ROOT, "%s · %s · %s cores · load avg at start %s · rate %s rps × %s B",
                                   root.get("date"), machine.get("cpu"), machine.get("cores"),
                                   root.get("loadAverageAtStart"),
                                   E2eHarness.sub(root, "settings").get("latencyRate"),
                                   E2eHarness.sub(root, "settings").get("messageBytes")), 12, 44);
        g.drawString(trim(String.valueOf(root.get("command")), 200), 12, 62);
        for (int i = 0; i < cells.size(); i++) {
            Map<String, Object> cell = cells.get(i);
            String title = "JDK " + cell.get("jdkLabel") + " · " + cell.get("provider");
            throughputPanel(g, i * PANEL_W, HEADER, cell, title);
            latencyPanel(g, i * PANEL_W, HEADER + PANEL_H, cell, title);
        }
        legend(g, HEADER + 2 * PANEL_H + 8, width);
        g.dispose();
        Files.createDirectories(png.toAbsolutePath().getParent());
        ImageIO.write(img, "png", png.toFile());
    }

    private static String trim(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    private static List<Integer> streams(List<Map<String, Object>> runs) {
        return runs.stream().map(r -> ((Number) r.get("streams")).intValue()).distinct().sorted().toList();
    }

    private static void throughputPanel(Graphics2D g, int x0, int y0, Map<String, Object> cell, String title) {
        List<Map<String, Object>> runs = E2eSummary.list(cell, "throughput");
        List<Integer> xs = streams(runs);
        double max = 1;
        for (Map<String, Object> r : runs) {
            max = Math.max(max, E2eHarness.num(r, "MBps"));
        }
        double top = niceCeil(max);
        Frame f = new Frame(x0, y0, xs, 0, top, false);
        f.axes(g, title + " — throughput", "MB/s");
        for (Series s : THROUGHPUT) {
            List<double[]> pts = new ArrayList<>();
            for (int i = 0; i < xs.size(); i++) {
                E2eSummary.Stat st = E2eSummary.stat(runs, E2eSummary.is("mode", s.mode)
                                                            .and(E2eSummary.is("streams", xs.get(i))), "MBps");
                if (st.n() > 0) {
                    pts.add(new double[] {i, st.median()});
                }
            }
            f.line(g, pts, s.color, s.dashed);
        }
    }

    private static void latencyPanel(Graphics2D g, int x0, int y0, Map<String, Object> cell, String title) {
        List<Map<String, Object>> runs = E2eSummary.list(cell, "latency");
        List<Integer> xs = streams(runs);
        double lo = Double.MAX_VALUE;
        double hi = 1;
        for (Map<String, Object> r : runs) {
            lo = Math.min(lo, E2eHarness.num(r, "p50us"));
            hi = Math.max(hi, E2eHarness.num(r, "p99us"));
        }
        double bottom = Math.pow(10, Math.floor(Math.log10(Math.max(1, lo))));
        double top = Math.pow(10, Math.ceil(Math.log10(hi)));
        Frame f = new Frame(x0, y0, xs, bottom, top, true);
        f.axes(g, title + " — latency p50 (solid) / p99 (dashed)", "µs");
        for (Series s : LATENCY) {
            for (String p : List.of("p50us", "p99us")) {
                List<double[]> pts = new ArrayList<>();
                for (int i = 0; i < xs.size(); i++) {
                    E2eSummary.Stat st = E2eSummary.stat(runs, E2eSummary.is("mode", s.mode)
                                                                .and(E2eSummary.is("streams", xs.get(i))), p);
                    if (st.n() > 0) {
                        pts.add(new double[] {i, st.median()});
                    }
                }
                f.line(g, pts, s.color, p.equals("p99us"));
            }
        }
    }

    private static void legend(Graphics2D g, int y, int width) {
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        int x = 14;
        for (Series s : THROUGHPUT) {
            g.setColor(s.color);
            g.setStroke(stroke(s.dashed));
            g.drawLine(x, y + 14, x + 30, y + 14);
            g.fillOval(x + 11, y + 10, 8, 8);
            g.setColor(Color.BLACK);
            g.drawString(s.label, x + 38, y + 19);
            x += 48 + g.getFontMetrics().stringWidth(s.label);
        }
        g.setColor(Color.DARK_GRAY);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.drawString("latency rows: HBONE = client → SOCKS5 → proxy A → HBONE → proxy B → server; "
                     + "streams share the 1000 rps (and share one HBONE connection)", 14, y + 44);
    }

    private static Stroke stroke(boolean dashed) {
        return dashed ? new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[] {7f, 5f}, 0f)
                      : new BasicStroke(2.2f);
    }

    /** Axis frame of one panel. */
    private static final class Frame {
        final int left;
        final int right;
        final int top;
        final int bottom;
        final int x0;
        final int y0;
        final List<Integer> xs;
        final double min;
        final double max;
        final boolean log;

        Frame(int x0, int y0, List<Integer> xs, double min, double max, boolean log) {
            this.x0 = x0;
            this.y0 = y0;
            this.left = x0 + MARGIN_L;
            this.right = x0 + PANEL_W - MARGIN_R;
            this.top = y0 + MARGIN_T;
            this.bottom = y0 + PANEL_H - MARGIN_B;
            this.xs = xs;
            this.min = min;
            this.max = max;
            this.log = log;
        }

        int px(double i) {
            if (xs.size() <= 1) {
                return (left + right) / 2;
            }
            return (int) Math.round(left + 20 + i * (right - left - 40) / (xs.size() - 1));
        }

        int py(double v) {
            double t = log ? (Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))
                           : (v - min) / (max - min);
            return (int) Math.round(bottom - t * (bottom - top));
        }

        void axes(Graphics2D g, String title, String unit) {
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
            g.setColor(Color.BLACK);
            g.drawString(title, x0 + 12, y0 + 22);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            FontMetrics fm = g.getFontMetrics();
            List<Double> ticks = new ArrayList<>();
            if (log) {
                for (double d = min; d <= max * 1.0001; d *= 10) {
                    for (double m : new double[] {1, 2, 5}) {
                        if (d * m <= max * 1.0001) {
                            ticks.add(d * m);
                        }
                    }
                }
            } else {
                double step = niceStep(max / 5);
                for (double v = 0; v <= max * 1.0001; v += step) {
                    ticks.add(v);
                }
            }
            g.setStroke(new BasicStroke(1f));
            for (double t : ticks) {
                int y = py(t);
                g.setColor(new Color(225, 225, 225));
                g.drawLine(left, y, right, y);
                g.setColor(Color.BLACK);
                String label = t >= 1000 && t % 1000 == 0 ? (long) (t / 1000) + "k" : String.format(Locale.ROOT,
                        t == Math.rint(t) ? "%.0f" : "%.1f", t);
                g.drawString(label, left - 6 - fm.stringWidth(label), y + 4);
            }
            g.setColor(Color.BLACK);
            g.drawLine(left, top, left, bottom);
            g.drawLine(left, bottom, right, bottom);
            for (int i = 0; i < xs.size(); i++) {
                int x = px(i);
                g.drawLine(x, bottom, x, bottom + 4);
                String label = Integer.toString(xs.get(i));
                g.drawString(label, x - fm.stringWidth(label) / 2, bottom + 17);
            }
            g.drawString("streams", (left + right) / 2 - fm.stringWidth("streams") / 2, bottom + 33);
            Graphics2D r = (Graphics2D) g.create();
            r.rotate(-Math.PI / 2);
            r.drawString(unit, -(top + bottom) / 2 - fm.stringWidth(unit) / 2, x0 + 16);
            r.dispose();
        }

        void line(Graphics2D g, List<double[]> pts, Color color, boolean dashed) {
            g.setColor(color);
            g.setStroke(stroke(dashed));
            for (int i = 1; i < pts.size(); i++) {
                g.drawLine(px(pts.get(i - 1)[0]), py(pts.get(i - 1)[1]), px(pts.get(i)[0]), py(pts.get(i)[1]));
            }
            for (double[] p : pts) {
                g.fillOval(px(p[0]) - 4, py(p[1]) - 4, 8, 8);
            }
        }
    }

    static double niceCeil(double v) {
        double step = niceStep(v / 5);
        return Math.ceil(v / step) * step;
    }

    static double niceStep(double raw) {
        double mag = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
        double r = raw / mag;
        return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
    }
}
