package dev.hbone.ztunnel.metrics;

/**
 * The metrics of one connection, from {@link ProxyMetrics#opened(ConnectionLabels)}: the data path adds bytes as
 * they flow and calls {@link #closed(ResponseFlag)} once. Thread-safe; counter handles are resolved once.
 */
public interface ConnectionTelemetry {
    /**
     * Adds transferred bytes.
     *
     * @param clientToServer bytes from the client to the server ({@code istio_tcp_received_bytes_total})
     * @param serverToClient bytes from the server to the client ({@code istio_tcp_sent_bytes_total})
     */
    void bytes(long clientToServer, long serverToClient);

    /**
     * Counts the close; later calls do nothing.
     *
     * @param flag {@link ResponseFlag#NONE} for a normal end, otherwise why it failed
     */
    void closed(ResponseFlag flag);
}
