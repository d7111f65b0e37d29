package dev.hbone.ztunnel.route;

import java.util.Objects;
import java.util.Set;

/**
 * What routing needs to know about the proxy itself.
 *
 * @param network the network this proxy runs in ({@code ""} by default, ztunnel's {@code NETWORK})
 * @param node the node this proxy serves (ztunnel's {@code NODE_NAME}); {@code ""} serves workloads of any node
 * @param hbonePort the port peers' proxies accept HBONE on (15008)
 * @param illegalPorts the proxy's own capture ports, which workloads may not target: ztunnel refuses
 *     15001, 15006 and 15008 (and 15080 when SOCKS5 is on)
 * @param localhostAppTunnel whether a PROXY-protocol application tunnel is reached on loopback
 *     (ztunnel's {@code LOCALHOST_APP_TUNNEL}, on by default)
 */
public record ProxySettings(String network, String node, int hbonePort, Set<Integer> illegalPorts,
        boolean localhostAppTunnel) {

    /** ztunnel's HBONE port. */
    public static final int HBONE_PORT = 15008;
    /** ztunnel's outbound capture port. */
    public static final int OUTBOUND_PORT = 15001;
    /** ztunnel's inbound plaintext port. */
    public static final int INBOUND_PLAINTEXT_PORT = 15006;
    /** ztunnel's SOCKS5 port (when enabled). */
    public static final int SOCKS5_PORT = 15080;

    /** Validates and copies the components. */
    public ProxySettings {
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(node, "node");
        if (hbonePort < 1 || hbonePort > 65535) {
            throw new IllegalArgumentException("hbonePort out of range: " + hbonePort);
        }
        illegalPorts = Set.copyOf(Objects.requireNonNull(illegalPorts, "illegalPorts"));
    }

    /**
     * ztunnel's defaults: network {@code ""}, any node, HBONE on 15008, illegal ports 15001/15006/15008, loopback
     * application tunnels.
     */
    public static ProxySettings defaults() {
        return new ProxySettings("", "", HBONE_PORT, Set.of(OUTBOUND_PORT, INBOUND_PLAINTEXT_PORT, HBONE_PORT), true);
    }

    /** Returns a copy in another network. */
    public ProxySettings withNetwork(String network) {
        return new ProxySettings(network, node, hbonePort, illegalPorts, localhostAppTunnel);
    }

    /** Returns a copy serving only the workloads of {@code node} ({@code ""}: any node). */
    public ProxySettings withNode(String node) {
        return new ProxySettings(network, node, hbonePort, illegalPorts, localhostAppTunnel);
    }

    /** Returns a copy with other illegal ports. */
    public ProxySettings withIllegalPorts(Set<Integer> ports) {
        return new ProxySettings(network, node, hbonePort, ports, localhostAppTunnel);
    }

    /** Returns true when this proxy acts for workloads of {@code workloadNode} (its own node, or any when none is set). */
    public boolean servesNode(String workloadNode) {
        return node.isEmpty() || node.equals(workloadNode);
    }

    /** Returns a copy with the loopback application tunnel switched on or off. */
    public ProxySettings withLocalhostAppTunnel(boolean enabled) {
        return new ProxySettings(network, node, hbonePort, illegalPorts, enabled);
    }
}
