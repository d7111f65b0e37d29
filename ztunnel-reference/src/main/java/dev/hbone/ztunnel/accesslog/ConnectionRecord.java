package dev.hbone.ztunnel.accesslog;

import static java.util.Objects.requireNonNull;

import dev.hbone.ztunnel.metrics.Reporter;
import dev.hbone.ztunnel.metrics.ResponseFlag;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * What the access log says about one finished connection. String fields may be empty when unknown (they are
 * then left out of the line).
 *
 * @param direction {@link Reporter#SOURCE} for outbound, {@link Reporter#DESTINATION} for inbound
 * @param sourceAddress the client's address
 * @param destinationAddress the address dialled (or the workload reached)
 * @param sourceWorkload the client's workload name
 * @param sourceNamespace the client's namespace
 * @param sourceIdentity the client's SPIFFE ID
 * @param destinationService the service hostname, when a service was dialled
 * @param destinationWorkload the server's workload name
 * @param destinationNamespace the server's namespace
 * @param destinationIdentity the server's SPIFFE ID
 * @param bytesSent bytes sent to the client (server → client)
 * @param bytesReceived bytes received from the client (client → server)
 * @param duration how long the connection lasted
 * @param authorization the authorization decision's one-line form ({@code Decision.toLogString()}), or empty
 * @param responseFlag why it failed, or {@link ResponseFlag#NONE}
 * @param error a short failure description, or empty
 */
public record ConnectionRecord(
        Reporter direction,
        InetSocketAddress sourceAddress,
        InetSocketAddress destinationAddress,
        String sourceWorkload,
        String sourceNamespace,
        String sourceIdentity,
        String destinationService,
        String destinationWorkload,
        String destinationNamespace,
        String destinationIdentity,
        long bytesSent,
        long bytesReceived,
        Duration duration,
        String authorization,
        ResponseFlag responseFlag,
        String error) {

    /** Checks required components and turns null strings into empty ones. */
    public ConnectionRecord {
        requireNonNull(direction, "direction");
        requireNonNull(sourceAddress, "sourceAddress");
        requireNonNull(destinationAddress, "destinationAddress");
        requireNonNull(duration, "duration");
        requireNonNull(responseFlag, "responseFlag");
        sourceWorkload = nz(sourceWorkload);
        sourceNamespace = nz(sourceNamespace);
        sourceIdentity = nz(sourceIdentity);
        destinationService = nz(destinationService);
        destinationWorkload = nz(destinationWorkload);
        destinationNamespace = nz(destinationNamespace);
        destinationIdentity = nz(destinationIdentity);
        authorization = nz(authorization);
        error = nz(error);
        if (bytesSent < 0 || bytesReceived < 0) {
            throw new IllegalArgumentException("negative byte count: sent " + bytesSent + ", received "
                    + bytesReceived);
        }
    }

    private static String nz(String s) {
        return s == null ? "" : s;
    }
}
