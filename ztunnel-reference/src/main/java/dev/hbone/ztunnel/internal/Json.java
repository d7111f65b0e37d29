package dev.hbone.ztunnel.internal;

import java.lang.reflect.RecordComponent;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;

/** A small JSON writer for the admin endpoints: maps, collections, records (by component), scalars. */
public final class Json {
    private Json() {
    }

    /** Returns {@code value} as indented JSON. */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder(1024);
        write(sb, value, 0);
        return sb.append('\n').toString();
    }

    private static void write(StringBuilder sb, Object v, int depth) {
        if (v instanceof Optional<?> o) {
            v = o.orElse(null);
        }
        if (v == null) {
            sb.append("null");
        } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short) {
            sb.append(v);
        } else if (v instanceof Number n) {
            double d = n.doubleValue();
            sb.append(Double.isFinite(d) ? n.toString() : "null");
        } else if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                sb.append(first ? "" : ",");
                first = false;
                newline(sb, depth + 1);
                string(sb, String.valueOf(e.getKey()));
                sb.append(": ");
                write(sb, e.getValue(), depth + 1);
            }
            newline(sb, depth);
            sb.append('}');
        } else if (v instanceof Collection<?> c) {
            if (c.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            boolean first = true;
            for (Object e : c) {
                sb.append(first ? "" : ",");
                first = false;
                newline(sb, depth + 1);
                write(sb, e, depth + 1);
            }
            newline(sb, depth);
            sb.append(']');
        } else if (v instanceof Object[] a) {
            write(sb, java.util.Arrays.asList(a), depth);
        } else if (v instanceof Enum<?> e) {
            string(sb, e.toString());
        } else if (v instanceof InetAddress a) {
            string(sb, a.getHostAddress());
        } else if (v instanceof InetSocketAddress a) {
            string(sb, a.getAddress() == null ? a.getHostString() + ":" + a.getPort()
                    : (a.getAddress().getHostAddress().contains(":") ? "[" + a.getAddress().getHostAddress() + "]"
                    : a.getAddress().getHostAddress()) + ":" + a.getPort());
        } else if (v instanceof Duration d) {
            string(sb, d.toMillis() + "ms");
        } else if (v instanceof Instant || v instanceof Path || v instanceof CharSequence) {
            string(sb, v.toString());
        } else if (v.getClass().isRecord()) {
            Map<String, Object> fields = new java.util.LinkedHashMap<>();
            for (RecordComponent rc : v.getClass().getRecordComponents()) {
                try {
                    rc.getAccessor().setAccessible(true);
                    fields.put(rc.getName(), rc.getAccessor().invoke(v));
                } catch (ReflectiveOperationException | RuntimeException e) {
                    fields.put(rc.getName(), "?");
                }
            }
            write(sb, fields, depth);
        } else {
            string(sb, v.toString());
        }
    }

    private static void newline(StringBuilder sb, int depth) {
        sb.append('\n');
        sb.append("  ".repeat(depth));
    }

    /**
     * Appends a JSON string literal (RFC 8259 escaping; other control characters, and U+2028/U+2029 that break
     * JavaScript readers of log lines, as \\uXXXX).
     */
    public static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c == '\u2028' || c == '\u2029') {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
