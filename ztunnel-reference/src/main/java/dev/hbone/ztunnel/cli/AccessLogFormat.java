package dev.hbone.ztunnel.cli;

/** How "connection complete" lines are written. */
public enum AccessLogFormat {
    /** ztunnel-like {@code key=value} pairs. */
    TEXT,
    /** One JSON object per line. */
    JSON
}
