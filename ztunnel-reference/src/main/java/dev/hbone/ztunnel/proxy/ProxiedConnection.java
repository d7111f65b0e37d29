package dev.hbone.ztunnel.proxy;

import dev.hbone.authz.Decision;
import dev.hbone.ztunnel.accesslog.AccessLog;
import dev.hbone.ztunnel.accesslog.ConnectionRecord;
import dev.hbone.ztunnel.internal.ByteCounter;
import dev.hbone.ztunnel.metrics.ConnectionLabels;
import dev.hbone.ztunnel.metrics.ConnectionTelemetry;
import dev.hbone.ztunnel.metrics.ProxyMetrics;
import dev.hbone.ztunnel.metrics.Reporter;
import dev.hbone.ztunnel.metrics.ResponseFlag;
import dev.hbone.ztunnel.metrics.SecurityPolicy;
import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * The telemetry of one proxied connection: counted as opened when created, and once complete, its bytes, its
 * close (with the response flag) and its access-log line. Which way the counted channel's bytes go depends on the
 * side: outbound counts the client's socket, inbound the application's.
 */
final class ProxiedConnection {
    private final Reporter direction;
    private final long startNanos = System.nanoTime();
    private final InetSocketAddress source;
    private final InetSocketAddress destination;
    private final Workload sourceWorkload;
    private final String sourceIdentity;
    private final Service service;
    private final Workload destinationWorkload;
    private final ConnectionTelemetry telemetry;
    private final AccessLog accessLog;
    private final ConnectionTracker tracker;
    // A field and an updater, not an AtomicBoolean: one object less per open connection.
    private static final AtomicIntegerFieldUpdater<ProxiedConnection> DONE =
            AtomicIntegerFieldUpdater.newUpdater(ProxiedConnection.class, "done");
    private volatile int done;
    private volatile ByteCounter counter;
    private volatile String authorization = "";
    private volatile Decision decision;
    private volatile ResponseFlag pendingFlag = ResponseFlag.NONE;
    private volatile String pendingError = "";

    ProxiedConnection(Reporter direction, InetSocketAddress source, InetSocketAddress destination,
            Workload sourceWorkload, String sourceIdentity, Service service, Workload destinationWorkload,
            SecurityPolicy security, ProxyMetrics metrics, AccessLog accessLog, ConnectionTracker tracker) {
        this.direction = direction;
        this.source = source;
        this.destination = destination;
        this.sourceWorkload = sourceWorkload;
        this.sourceIdentity = sourceIdentity; // null: the source workload's, spelled out when logged
        this.service = service;
        this.destinationWorkload = destinationWorkload;
        ConnectionLabels labels = ConnectionLabels.of(direction, sourceWorkload, destinationWorkload, service, security);
        if (sourceWorkload == null && sourceIdentity != null) {
            labels = labels.withSourcePrincipal(sourceIdentity);
        }
        this.telemetry = metrics.opened(labels);
        this.accessLog = accessLog;
        this.tracker = tracker;
        tracker.opened();
    }

    /** The socket whose bytes are the connection's payload; they are reported to the metrics as they flow. */
    void countOn(ByteCounter counter) {
        this.counter = counter;
        if (direction == Reporter.SOURCE) {
            counter.reportTo((read, written) -> telemetry.bytes(read, written));
        } else {
            counter.reportTo((read, written) -> telemetry.bytes(written, read));
        }
    }

    /** The authorization decision's log form. */
    void authorization(String decision) {
        this.authorization = decision;
        this.decision = null;
    }

    /** The authorization decision, put in its log form only when the access log is written. */
    void authorization(Decision decision) {
        this.decision = decision;
    }

    private String authorizationText() {
        Decision d = decision;
        return d != null ? d.toLogString() : authorization;
    }

    /** Marks why the connection will end when it closes (e.g. a policy change), if it is not complete yet. */
    void closingBecause(ResponseFlag flag, String error) {
        this.pendingFlag = flag;
        this.pendingError = error;
    }

    /** Completes normally, or with the flag set by {@link #closingBecause}. */
    void complete() {
        complete(pendingFlag, pendingError);
    }

    /** Completes once: metrics, access log, drain accounting. */
    void complete(ResponseFlag flag, String error) {
        if (!DONE.compareAndSet(this, 0, 1)) {
            return;
        }
        long clientToServer = 0;
        long serverToClient = 0;
        ByteCounter c = counter;
        if (c != null) {
            if (direction == Reporter.SOURCE) {
                clientToServer = c.read();
                serverToClient = c.written();
            } else {
                clientToServer = c.written();
                serverToClient = c.read();
            }
        }
        if (c != null) {
            c.report(); // what the live reports have not counted yet
        }
        telemetry.closed(flag);
        accessLog.log(new ConnectionRecord(direction, source, destination,
                sourceWorkload == null ? "" : sourceWorkload.workloadName(),
                sourceWorkload == null ? "" : sourceWorkload.namespace(),
                sourceIdentity != null ? sourceIdentity
                        : sourceWorkload != null ? sourceWorkload.identity().toSpiffeUri() : "",
                service == null ? "" : service.hostname(),
                destinationWorkload == null ? "" : destinationWorkload.workloadName(),
                destinationWorkload == null ? "" : destinationWorkload.namespace(),
                destinationWorkload == null ? "" : destinationWorkload.identity().toSpiffeUri(),
                serverToClient, clientToServer, Duration.ofNanos(System.nanoTime() - startNanos), authorizationText(),
                flag, error));
        tracker.closed();
    }
}
