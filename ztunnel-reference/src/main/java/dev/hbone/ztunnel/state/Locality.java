package dev.hbone.ztunnel.state;

import java.util.Objects;

/**
 * Where a workload runs, for locality-aware load balancing.
 *
 * @param region the region, {@code ""} when unknown
 * @param zone the zone, {@code ""} when unknown
 * @param subzone the subzone, {@code ""} when unknown
 */
public record Locality(String region, String zone, String subzone) {

    /** No locality. */
    public static final Locality UNKNOWN = new Locality("", "", "");

    /** Validates the components. */
    public Locality {
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(zone, "zone");
        Objects.requireNonNull(subzone, "subzone");
    }
}
