package dev.hbone.ztunnel.accesslog;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.hbone.ztunnel.cli.AccessLogFormat;
import dev.hbone.ztunnel.cli.ProxyConfig;
import dev.hbone.ztunnel.internal.Json;
import dev.hbone.ztunnel.metrics.ResponseFlag;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one "connection complete" line per connection to the SLF4J logger {@value #LOGGER_NAME} (logback routes
 * it; turn it off with {@code --log-level info,access=off}). Lines are complete in themselves, as ztunnel's
 * ({@code src/telemetry.rs}), so the appender prints the message alone:
 *
 * <pre>
 * 2026-11-22T00:15:20.081Z	info	access	connection complete	src.addr=127.0.0.1:40000 src.workload=sleep ...
 *   direction=inbound bytes_sent=12 bytes_recv=5 duration=3ms authz="allow reason=allow-matched ..." response_flags=-
 * {"level":"info","time":"2026-11-22T00:15:20.081Z","scope":"access","message":"connection complete",...}
 * </pre>
 *
 * Text values are quoted when they hold spaces, quotes, {@code =} or {@code ://}; JSON lines are written by Jackson
 * (RFC 8259 escaping, plus U+2028/U+2029).
 */
public final class AccessLog {
    /** The logger every line goes to. */
    public static final String LOGGER_NAME = "access";

    private static final Logger ACCESS = LoggerFactory.getLogger(LOGGER_NAME);

    private final AccessLogFormat format;

    /**
     * Creates an access log.
     *
     * @param format text or JSON
     */
    public AccessLog(AccessLogFormat format) {
        this.format = requireNonNull(format, "format");
    }

    /** Writes the line of a finished connection (at INFO; WARN when it failed). */
    public void log(ConnectionRecord record) {
        requireNonNull(record, "record");
        if (!ACCESS.isInfoEnabled()) {
            return;
        }
        boolean failed = record.responseFlag() != ResponseFlag.NONE;
        if (failed && !ACCESS.isWarnEnabled()) {
            return;
        }
        String line = line(record, java.time.Instant.now(), failed ? "warn" : "info");
        if (failed) {
            ACCESS.warn(line);
        } else {
            ACCESS.info(line);
        }
    }

    /**
     * Returns the complete line for a record, in this log's format.
     *
     * @param record the connection
     * @param time the time to print
     * @param level {@code info} or {@code warn}
     * @return the line, without a line break
     */
    public String line(ConnectionRecord record, java.time.Instant time, String level) {
        requireNonNull(record, "record");
        requireNonNull(time, "time");
        requireNonNull(level, "level");
        List<Map.Entry<String, Object>> fields = fields(record);
        String timestamp = java.time.format.DateTimeFormatter.ISO_INSTANT.format(
                time.truncatedTo(java.time.temporal.ChronoUnit.MICROS));
        if (format == AccessLogFormat.JSON) {
            return json(level, timestamp, fields);
        }
        return timestamp + "\t" + level + "\taccess\t" + text(fields);
    }

    /** Returns the message part of the line (no time, level or scope), in this log's format. */
    public String format(ConnectionRecord record) {
        requireNonNull(record, "record");
        List<Map.Entry<String, Object>> fields = fields(record);
        return format == AccessLogFormat.JSON ? json(null, null, fields) : text(fields);
    }

    private static List<Map.Entry<String, Object>> fields(ConnectionRecord r) {
        List<Map.Entry<String, Object>> f = new ArrayList<>();
        f.add(Map.entry("src.addr", ProxyConfig.format(r.sourceAddress())));
        optional(f, "src.workload", r.sourceWorkload());
        optional(f, "src.namespace", r.sourceNamespace());
        optional(f, "src.identity", r.sourceIdentity());
        f.add(Map.entry("dst.addr", ProxyConfig.format(r.destinationAddress())));
        optional(f, "dst.service", r.destinationService());
        optional(f, "dst.workload", r.destinationWorkload());
        optional(f, "dst.namespace", r.destinationNamespace());
        optional(f, "dst.identity", r.destinationIdentity());
        f.add(Map.entry("direction", r.direction().direction()));
        f.add(Map.entry("bytes_sent", r.bytesSent()));
        f.add(Map.entry("bytes_recv", r.bytesReceived()));
        f.add(Map.entry("duration", durationText(r.duration())));
        optional(f, "authz", r.authorization());
        f.add(Map.entry("response_flags", r.responseFlag().labelValue()));
        optional(f, "error", r.error());
        return f;
    }

    private static void optional(List<Map.Entry<String, Object>> f, String key, String value) {
        if (!value.isEmpty()) {
            f.add(Map.entry(key, value));
        }
    }

    private static String durationText(java.time.Duration d) {
        long micros = d.toNanos() / 1_000;
        return micros < 1_000 ? micros + "us" : micros % 1_000 == 0 || micros >= 10_000
                ? (micros / 1_000) + "ms" : String.format(java.util.Locale.ROOT, "%.1fms", micros / 1000.0);
    }

    private static String text(List<Map.Entry<String, Object>> fields) {
        StringBuilder sb = new StringBuilder(256).append("connection complete\t");
        boolean first = true;
        for (Map.Entry<String, Object> e : fields) {
            if (!first) {
                sb.append(' ');
            }
            first = false;
            sb.append(e.getKey()).append('=');
            Object v = e.getValue();
            if (v instanceof Number) {
                sb.append(v);
            } else {
                String s = v.toString();
                if (needsQuotes(s)) {
                    sb.append('"');
                    for (int i = 0; i < s.length(); i++) {
                        char c = s.charAt(i);
                        if (c == '"' || c == '\\') {
                            sb.append('\\').append(c);
                        } else if (c == '\n') {
                            sb.append("\\n");
                        } else if (c == '\r') {
                            sb.append("\\r");
                        } else if (c < 0x20) {
                            sb.append(String.format("\\u%04x", (int) c));
                        } else {
                            sb.append(c);
                        }
                    }
                    sb.append('"');
                } else {
                    sb.append(s);
                }
            }
        }
        return sb.toString();
    }

    private static boolean needsQuotes(String s) {
        if (s.isEmpty()) {
            return true;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == ',') {
                return true;
            }
        }
        return s.contains("://");
    }

    /** One JSON object: level, time and scope (for a whole line; null level: the message part only), the fields. */
    private static String json(String level, String time, List<Map.Entry<String, Object>> fields) {
        StringWriter out = new StringWriter(384);
        try (JsonGenerator g = Json.generator(out)) {
            g.writeStartObject();
            if (level != null) {
                g.writeStringField("level", level);
                g.writeStringField("time", time);
                g.writeStringField("scope", "access");
            }
            g.writeStringField("message", "connection complete");
            for (Map.Entry<String, Object> e : fields) {
                Object v = e.getValue();
                if (v instanceof Long || v instanceof Integer) {
                    g.writeNumberField(e.getKey(), ((Number) v).longValue());
                } else if (v instanceof Number n) {
                    g.writeNumberField(e.getKey(), n.doubleValue());
                } else {
                    g.writeStringField(e.getKey(), v.toString());
                }
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        return out.toString();
    }
}
