package dev.hbone.ztunnel.state;

/** Whether a workload has its own IPs ({@code Standard}) or shares the node's ({@code HostNetwork}). */
public enum NetworkMode {
    /** The workload's IPs are its own and identify it. */
    STANDARD("Standard"),
    /** The workload uses the host's network: its IPs do not identify it, so it is not indexed by address. */
    HOST_NETWORK("HostNetwork");

    private final String configName;

    NetworkMode(String configName) {
        this.configName = configName;
    }

    /** Returns the spelling used in the configuration file. */
    public String configName() {
        return configName;
    }
}
