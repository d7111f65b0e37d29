/** Istio's {@code istio_tcp_*} metrics and the proxy's own failure counters (Prometheus). */
package dev.hbone.ztunnel.metrics;
