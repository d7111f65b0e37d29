/**
 * The transport-neutral HBONE API: open tunnels ({@link dev.hbone.api.HboneClient}), accept them
 * ({@link dev.hbone.api.HboneServer}, {@link dev.hbone.api.TunnelHandler}), and move bytes through them
 * ({@link dev.hbone.api.Tunnel}) with backpressure. No Netty type appears here; {@code hbone-netty} implements it.
 *
 * <p>HBONE carries one TCP connection as one HTTP/2 {@code CONNECT} stream inside a mutual-TLS 1.3 connection,
 * the way Istio's ambient data plane (ztunnel, waypoints) does. All parameters are non-null unless documented
 * otherwise.
 */
package dev.hbone.api;
