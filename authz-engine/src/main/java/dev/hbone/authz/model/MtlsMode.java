package dev.hbone.authz.model;

/** The mutual-TLS mode of a PeerAuthentication, at workload or port level. */
public enum MtlsMode {
    /** Inherit from the parent (namespace, then mesh); PERMISSIVE when nothing sets it. */
    UNSET,
    /** Plaintext only in sidecar mode; ztunnel treats it like PERMISSIVE (HBONE is always mTLS). */
    DISABLE,
    /** Both plaintext and mTLS are accepted. */
    PERMISSIVE,
    /** Connections without a peer identity (plaintext) are denied. */
    STRICT
}
