/**
 * The node proxy's data path: the inbound HBONE listener (15008), the inbound plaintext listener (15006), the
 * outbound capture listener (15001, TPROXY) and the SOCKS5 listener (15080), started by
 * {@link dev.hbone.ztunnel.proxy.DataPath} and drained by {@link dev.hbone.ztunnel.lifecycle.NodeProxy}.
 */
package dev.hbone.ztunnel.proxy;
