package dev.hbone.ztunnel.metrics;

import static java.util.Objects.requireNonNull;

import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import java.util.List;

/**
 * Istio's label set of the {@code istio_tcp_*} metrics for one connection (ztunnel's
 * {@code CommonTrafficLabels}, {@code src/proxy/metrics.rs}), without {@code request_protocol} (always
 * {@code tcp}) and {@code response_flags} (given when the connection closes). Missing values are
 * {@value #UNKNOWN}. Equal label sets share cached counter handles, so build them from the same workloads.
 *
 * @param reporter which proxy reports
 * @param sourceWorkload the source's workload name (e.g. its Deployment)
 * @param sourceCanonicalService the source's canonical service
 * @param sourceCanonicalRevision the source's canonical revision
 * @param sourceWorkloadNamespace the source's namespace
 * @param sourcePrincipal the source's SPIFFE ID
 * @param sourceApp the source's app (its canonical service, as ztunnel)
 * @param sourceVersion the source's version (its canonical revision, as ztunnel)
 * @param sourceCluster the source's cluster
 * @param destinationService the destination service's hostname
 * @param destinationServiceNamespace the destination service's namespace
 * @param destinationServiceName the destination service's name
 * @param destinationWorkload the destination's workload name
 * @param destinationCanonicalService the destination's canonical service
 * @param destinationCanonicalRevision the destination's canonical revision
 * @param destinationWorkloadNamespace the destination's namespace
 * @param destinationPrincipal the destination's SPIFFE ID
 * @param destinationApp the destination's app
 * @param destinationVersion the destination's version
 * @param destinationCluster the destination's cluster
 * @param connectionSecurityPolicy {@code mutual_tls} or {@code unknown}
 */
public record ConnectionLabels(
        Reporter reporter,
        String sourceWorkload,
        String sourceCanonicalService,
        String sourceCanonicalRevision,
        String sourceWorkloadNamespace,
        String sourcePrincipal,
        String sourceApp,
        String sourceVersion,
        String sourceCluster,
        String destinationService,
        String destinationServiceNamespace,
        String destinationServiceName,
        String destinationWorkload,
        String destinationCanonicalService,
        String destinationCanonicalRevision,
        String destinationWorkloadNamespace,
        String destinationPrincipal,
        String destinationApp,
        String destinationVersion,
        String destinationCluster,
        SecurityPolicy connectionSecurityPolicy) {

    /** The value of a label nothing is known about. */
    public static final String UNKNOWN = "unknown";

    /** Istio's label names in ztunnel's order; the Prometheus text output sorts them by name. */
    public static final List<String> LABEL_NAMES = List.of(
            "reporter",
            "source_workload", "source_canonical_service", "source_canonical_revision",
            "source_workload_namespace", "source_principal", "source_app", "source_version", "source_cluster",
            "destination_service", "destination_service_namespace", "destination_service_name",
            "destination_workload", "destination_canonical_service", "destination_canonical_revision",
            "destination_workload_namespace", "destination_principal", "destination_app", "destination_version",
            "destination_cluster",
            "request_protocol", "response_flags", "connection_security_policy");

    /** Replaces null or empty values by {@value #UNKNOWN}. */
    public ConnectionLabels {
        requireNonNull(reporter, "reporter");
        requireNonNull(connectionSecurityPolicy, "connectionSecurityPolicy");
        sourceWorkload = orUnknown(sourceWorkload);
        sourceCanonicalService = orUnknown(sourceCanonicalService);
        sourceCanonicalRevision = orUnknown(sourceCanonicalRevision);
        sourceWorkloadNamespace = orUnknown(sourceWorkloadNamespace);
        sourcePrincipal = orUnknown(sourcePrincipal);
        sourceApp = orUnknown(sourceApp);
        sourceVersion = orUnknown(sourceVersion);
        sourceCluster = orUnknown(sourceCluster);
        destinationService = orUnknown(destinationService);
        destinationServiceNamespace = orUnknown(destinationServiceNamespace);
        destinationServiceName = orUnknown(destinationServiceName);
        destinationWorkload = orUnknown(destinationWorkload);
        destinationCanonicalService = orUnknown(destinationCanonicalService);
        destinationCanonicalRevision = orUnknown(destinationCanonicalRevision);
        destinationWorkloadNamespace = orUnknown(destinationWorkloadNamespace);
        destinationPrincipal = orUnknown(destinationPrincipal);
        destinationApp = orUnknown(destinationApp);
        destinationVersion = orUnknown(destinationVersion);
        destinationCluster = orUnknown(destinationCluster);
    }

    /**
     * Derives the labels from what the proxy knows about the connection, as ztunnel does: workload name,
     * canonical name (also the app), canonical revision (also the version), namespace, identity, cluster.
     *
     * @param reporter which proxy reports
     * @param source the source workload, or null when unknown
     * @param destination the destination workload, or null when unknown
     * @param destinationService the service dialled, or null
     * @param securityPolicy whether the connection is mutual TLS
     * @return the labels
     */
    public static ConnectionLabels of(Reporter reporter, Workload source, Workload destination,
            Service destinationService, SecurityPolicy securityPolicy) {
        requireNonNull(reporter, "reporter");
        requireNonNull(securityPolicy, "securityPolicy");
        return new ConnectionLabels(reporter,
                source == null ? null : source.workloadName(),
                source == null ? null : source.canonicalName(),
                source == null ? null : source.canonicalRevision(),
                source == null ? null : source.namespace(),
                source == null ? null : source.identity().toSpiffeUri(),
                source == null ? null : source.canonicalName(),
                source == null ? null : source.canonicalRevision(),
                source == null ? null : source.clusterId(),
                destinationService == null ? null : destinationService.hostname(),
                destinationService == null ? null : destinationService.namespace(),
                destinationService == null ? null : destinationService.name(),
                destination == null ? null : destination.workloadName(),
                destination == null ? null : destination.canonicalName(),
                destination == null ? null : destination.canonicalRevision(),
                destination == null ? null : destination.namespace(),
                destination == null ? null : destination.identity().toSpiffeUri(),
                destination == null ? null : destination.canonicalName(),
                destination == null ? null : destination.canonicalRevision(),
                destination == null ? null : destination.clusterId(),
                securityPolicy);
    }

    /** Returns a copy with the source principal set (e.g. from the peer certificate of an unknown workload). */
    public ConnectionLabels withSourcePrincipal(String principal) {
        requireNonNull(principal, "principal");
        return new ConnectionLabels(reporter, sourceWorkload, sourceCanonicalService, sourceCanonicalRevision,
                sourceWorkloadNamespace, principal, sourceApp, sourceVersion, sourceCluster, destinationService,
                destinationServiceNamespace, destinationServiceName, destinationWorkload,
                destinationCanonicalService, destinationCanonicalRevision, destinationWorkloadNamespace,
                destinationPrincipal, destinationApp, destinationVersion, destinationCluster,
                connectionSecurityPolicy);
    }

    /** Returns the values in {@link #LABEL_NAMES} order. */
    String[] values(ResponseFlag flag) {
        return new String[] {reporter.labelValue(),
                sourceWorkload, sourceCanonicalService, sourceCanonicalRevision, sourceWorkloadNamespace,
                sourcePrincipal, sourceApp, sourceVersion, sourceCluster,
                destinationService, destinationServiceNamespace, destinationServiceName,
                destinationWorkload, destinationCanonicalService, destinationCanonicalRevision,
                destinationWorkloadNamespace, destinationPrincipal, destinationApp, destinationVersion,
                destinationCluster,
                "tcp", flag.labelValue(), connectionSecurityPolicy.labelValue()};
    }

    private static String orUnknown(String value) {
        return value == null || value.isEmpty() ? UNKNOWN : value;
    }
}
