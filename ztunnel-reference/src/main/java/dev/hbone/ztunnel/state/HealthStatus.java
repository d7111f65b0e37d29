package dev.hbone.ztunnel.state;

/** Whether a workload may receive load-balanced service traffic. */
public enum HealthStatus {
    /** Eligible for load balancing. */
    HEALTHY("Healthy"),
    /** Excluded from load balancing unless the service's health policy is {@code AllowAll}. */
    UNHEALTHY("Unhealthy");

    private final String configName;

    HealthStatus(String configName) {
        this.configName = configName;
    }

    /** Returns the spelling used in the configuration file. */
    public String configName() {
        return configName;
    }
}
