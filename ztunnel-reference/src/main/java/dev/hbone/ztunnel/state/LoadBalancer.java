package dev.hbone.ztunnel.state;

import java.util.List;
import java.util.Objects;

/**
 * A service's load-balancing settings.
 *
 * @param routingPreferences the locality scopes to prefer, in order (network, region, zone, ...)
 * @param mode how the preferences are applied
 * @param healthPolicy whether unhealthy endpoints are used
 */
public record LoadBalancer(List<Scope> routingPreferences, Mode mode, HealthPolicy healthPolicy) {

    /** Validates and copies the components. */
    public LoadBalancer {
        routingPreferences = List.copyOf(Objects.requireNonNull(routingPreferences, "routingPreferences"));
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(healthPolicy, "healthPolicy");
    }

    /** How routing preferences are applied. */
    public enum Mode {
        /** Preferences are ignored: any endpoint. */
        STANDARD("Standard"),
        /** Only endpoints matching every preference; none matching is a failure. */
        STRICT("Strict"),
        /** Endpoints matching the most leading preferences. */
        FAILOVER("Failover"),
        /** No endpoint selection: the connection goes to the address the client dialled. */
        PASSTHROUGH("Passthrough");

        private final String configName;

        Mode(String configName) {
            this.configName = configName;
        }

        /** Returns the spelling used in the configuration file. */
        public String configName() {
            return configName;
        }
    }

    /** Whether unhealthy endpoints are load-balanced to. */
    public enum HealthPolicy {
        /** Only healthy endpoints (the default). */
        ONLY_HEALTHY("OnlyHealthy"),
        /** All endpoints. */
        ALLOW_ALL("AllowAll");

        private final String configName;

        HealthPolicy(String configName) {
            this.configName = configName;
        }

        /** Returns the spelling used in the configuration file. */
        public String configName() {
            return configName;
        }
    }

    /** A locality attribute the source and the endpoint should share. */
    public enum Scope {
        /** Same region. */
        REGION("Region"),
        /** Same zone. */
        ZONE("Zone"),
        /** Same subzone. */
        SUBZONE("Subzone"),
        /** Same node. */
        NODE("Node"),
        /** Same cluster. */
        CLUSTER("Cluster"),
        /** Same network. */
        NETWORK("Network");

        private final String configName;

        Scope(String configName) {
            this.configName = configName;
        }

        /** Returns the spelling used in the configuration file. */
        public String configName() {
            return configName;
        }
    }
}
