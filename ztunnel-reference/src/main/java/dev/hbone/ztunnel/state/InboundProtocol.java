package dev.hbone.ztunnel.state;

/** What a workload accepts: HBONE (it is in the ambient mesh) or plain TCP (default). */
public enum InboundProtocol {
    /** Plain TCP: peers connect to the workload directly, without a tunnel. */
    TCP,
    /** HBONE: peers tunnel to the workload's node proxy on port 15008. */
    HBONE
}
