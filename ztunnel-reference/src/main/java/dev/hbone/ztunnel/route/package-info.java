/**
 * The node proxy's routing decisions, as pure functions of a {@link dev.hbone.ztunnel.state.ProxyState}
 * snapshot and the connection at hand: {@link dev.hbone.ztunnel.route.OutboundRouter} decides where a
 * captured outbound connection goes ({@link dev.hbone.ztunnel.route.OutboundRoute}), and
 * {@link dev.hbone.ztunnel.route.InboundRouter} decides what an inbound HBONE CONNECT reaches
 * ({@link dev.hbone.ztunnel.route.InboundDecision}). No I/O happens here; the transport acts on the result.
 *
 * <p>The rules are ztunnel's ({@code src/proxy/outbound.rs} {@code build_request},
 * {@code src/proxy/inbound.rs} {@code build_inbound_request}, {@code src/state.rs} load balancing).
 */
package dev.hbone.ztunnel.route;
