package dev.hbone.ztunnel.state;

import java.util.Map;
import java.util.Objects;

/**
 * A workload backing a service, with the port mapping it declared for that service.
 *
 * @param service the service
 * @param workload the backing workload
 * @param ports service port → target port, from the workload's {@code services} entry
 */
public record Endpoint(NamespacedHostname service, Workload workload, Map<Integer, Integer> ports) {

    /** Validates and copies the components. */
    public Endpoint {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(workload, "workload");
        ports = Map.copyOf(Objects.requireNonNull(ports, "ports"));
    }
}
