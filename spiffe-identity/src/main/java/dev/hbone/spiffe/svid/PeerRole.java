package dev.hbone.spiffe.svid;

/** The TLS role of the party whose X.509-SVID is validated; it decides which extended key usage is required. */
public enum PeerRole {
    /** A TLS client: its leaf must carry the {@code id-kp-clientAuth} extended key usage. */
    CLIENT("1.3.6.1.5.5.7.3.2", "clientAuth"),
    /** A TLS server: its leaf must carry the {@code id-kp-serverAuth} extended key usage. */
    SERVER("1.3.6.1.5.5.7.3.1", "serverAuth");

    private final String ekuOid;
    private final String ekuName;

    PeerRole(String ekuOid, String ekuName) {
        this.ekuOid = ekuOid;
        this.ekuName = ekuName;
    }

    /** Returns the OID of the extended key usage this role requires. */
    public String requiredEkuOid() {
        return ekuOid;
    }

    /** Returns the name of the extended key usage this role requires ({@code serverAuth} or {@code clientAuth}). */
    public String requiredEkuName() {
        return ekuName;
    }
}
