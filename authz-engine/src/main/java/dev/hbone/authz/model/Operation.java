package dev.hbone.authz.model;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * {@code rules[].to[].operation}: fields are AND'ed, values of one field are OR'ed. Only {@code ports} and
 * {@code notPorts} are L4; the rest need an HTTP-aware enforcement point.
 *
 * @param hosts      {@code :authority} values, compared case-insensitively (L7)
 * @param notHosts   negated hosts (L7)
 * @param ports      destination ports as strings (L4)
 * @param notPorts   negated ports (L4)
 * @param methods    HTTP methods (L7)
 * @param notMethods negated methods (L7)
 * @param paths      request paths without query; {@code {*}}/{@code {**}} templates allowed (L7)
 * @param notPaths   negated paths (L7)
 */
public record Operation(
        List<String> hosts, List<String> notHosts,
        List<String> ports, List<String> notPorts,
        List<String> methods, List<String> notMethods,
        List<String> paths, List<String> notPaths) {
    /** Copies the lists. */
    public Operation {
        hosts = List.copyOf(requireNonNull(hosts, "hosts"));
        notHosts = List.copyOf(requireNonNull(notHosts, "notHosts"));
        ports = List.copyOf(requireNonNull(ports, "ports"));
        notPorts = List.copyOf(requireNonNull(notPorts, "notPorts"));
        methods = List.copyOf(requireNonNull(methods, "methods"));
        notMethods = List.copyOf(requireNonNull(notMethods, "notMethods"));
        paths = List.copyOf(requireNonNull(paths, "paths"));
        notPaths = List.copyOf(requireNonNull(notPaths, "notPaths"));
    }

    /** Returns true if no field is set (Istio rejects such an operation). */
    public boolean isEmpty() {
        return hosts.isEmpty() && notHosts.isEmpty() && ports.isEmpty() && notPorts.isEmpty()
                && methods.isEmpty() && notMethods.isEmpty() && paths.isEmpty() && notPaths.isEmpty();
    }
}
