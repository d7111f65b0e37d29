package dev.hbone.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.LoggerFactory;

/**
 * Reads and changes logback levels at run time, with ztunnel's {@code /logging} syntax:
 * {@code level} (the root) or {@code logger:level}, several separated by commas; {@code logger=level} is
 * accepted too (the {@code RUST_LOG} form).
 */
public final class LogLevels {
    private LogLevels() {
    }

    /**
     * Applies levels such as {@code debug}, {@code dev.hbone:debug} or {@code info,access=off}.
     *
     * @param spec the levels
     * @return logger → level applied
     * @throws IllegalArgumentException naming the part that is not a level or a logger:level pair
     */
    public static Map<String, String> apply(String spec) {
        requireNonNull(spec, "spec");
        LoggerContext context = context();
        Map<String, Level> parsed = new LinkedHashMap<>();
        for (String raw : spec.split(",")) {
            String part = raw.trim();
            if (part.isEmpty()) {
                continue;
            }
            int sep = Math.max(part.lastIndexOf(':'), part.lastIndexOf('='));
            String logger = sep < 0 ? Logger.ROOT_LOGGER_NAME : part.substring(0, sep).trim();
            String levelText = (sep < 0 ? part : part.substring(sep + 1)).trim().toUpperCase(Locale.ROOT);
            Level level = Level.toLevel(levelText, null);
            if (level == null || logger.isEmpty() || levelText.equals("ALL")) {
                throw new IllegalArgumentException("invalid level \"" + part
                        + "\": expected LEVEL or LOGGER:LEVEL with LEVEL one of trace, debug, info, warn, error, off");
            }
            parsed.put(logger.equalsIgnoreCase("root") ? Logger.ROOT_LOGGER_NAME : logger, level);
        }
        if (parsed.isEmpty()) {
            throw new IllegalArgumentException("no level given: expected e.g. level=debug or level=dev.hbone:debug");
        }
        Map<String, String> applied = new LinkedHashMap<>();
        parsed.forEach((name, level) -> {
            context.getLogger(name).setLevel(level);
            applied.put(name, level.toString().toLowerCase(Locale.ROOT));
        });
        return applied;
    }

    /** Returns the loggers with an explicit level (the root first) and their levels, lower case. */
    public static Map<String, String> current() {
        Map<String, String> out = new TreeMap<>();
        for (Logger l : context().getLoggerList()) {
            if (l.getLevel() != null) {
                out.put(l.getName(), l.getLevel().toString().toLowerCase(Locale.ROOT));
            }
        }
        Map<String, String> ordered = new LinkedHashMap<>();
        ordered.put(Logger.ROOT_LOGGER_NAME, out.remove(Logger.ROOT_LOGGER_NAME));
        ordered.putAll(out);
        return ordered;
    }

    private static LoggerContext context() {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext c)) {
            throw new IllegalStateException("logging is not logback; levels cannot be changed");
        }
        return c;
    }
}
