package dev.hbone.authz.cli;

import dev.hbone.authz.CompileOptions;
import dev.hbone.authz.CompileWarning;
import dev.hbone.authz.CompiledPolicies;
import dev.hbone.authz.ConnectionAttributes;
import dev.hbone.authz.Decision;
import dev.hbone.authz.Destination;
import dev.hbone.authz.EnforcementPoint;
import dev.hbone.authz.LoadError;
import dev.hbone.authz.LoadResult;
import dev.hbone.authz.PolicyLoader;
import dev.hbone.authz.RequestAttributes;
import dev.hbone.authz.WaypointIdentity;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code AuthzCheck check --policies DIR ...}: loads policies, evaluates one connection (or request) and prints
 * the decision with its explanation. Exit code 0 = allowed, 1 = denied, 2 = usage or I/O error.
 */
@Command(name = "authz", mixinStandardHelpOptions = true, version = "hbone-java authz 0.1.0",
        description = "Istio authorization policies: check a connection or request.",
        subcommands = {AuthzCheck.Check.class})
public final class AuthzCheck implements Callable<Integer> {
    @Spec
    CommandLine.Model.CommandSpec spec;

    /** Runs the command line and exits with its code. */
    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs the command line with the given output streams; returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new AuthzCheck());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExitCodeExceptionMapper(e -> 2);
        cl.setParameterExceptionHandler((ex, a) -> {
            err.println(ex.getMessage());
            ex.getCommandLine().usage(err);
            return 2;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getOut());
        return 2;
    }

    /** The {@code check} subcommand. */
    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "May the source reach the destination on this port, and why?")
    static final class Check implements Callable<Integer> {
        @Spec
        CommandLine.Model.CommandSpec spec;

        @Option(names = "--policies", required = true, description = "YAML file or directory of policies")
        Path policies;

        @Option(names = "--root-namespace", defaultValue = "istio-system", description = "Istio root namespace")
        String rootNamespace;

        @Option(names = "--enforcement-point", defaultValue = "ZTUNNEL",
                description = "ZTUNNEL (L4), WAYPOINT or SIDECAR (L7); default ${DEFAULT-VALUE}")
        EnforcementPoint enforcementPoint;

        @Option(names = "--fail-closed", description = "at L4, let DENY rules whose L7 parts were removed match")
        boolean failClosed;

        @Option(names = "--source-principal", description = "peer identity, e.g. cluster.local/ns/a/sa/b (omit: plaintext)")
        String sourcePrincipal;

        @Option(names = "--source-namespace", description = "overrides the namespace taken from the principal")
        String sourceNamespace;

        @Option(names = "--source-ip", description = "source IP")
        String sourceIp;

        @Option(names = "--dest-namespace", required = true, description = "destination namespace")
        String destNamespace;

        @Option(names = "--dest-labels", split = ",", description = "destination labels k=v[,k=v]")
        Map<String, String> destLabels = new LinkedHashMap<>();

        @Option(names = "--dest-ip", description = "destination IP")
        String destIp;

        @Option(names = "--dest-port", required = true, description = "destination port")
        int destPort;

        @Option(names = "--dest-service", split = ",", description = "destination service name(s) (waypoint targetRefs)")
        List<String> destServices = new ArrayList<>();

        @Option(names = "--waypoint", description = "waypoint Gateway name in the destination namespace")
        String waypoint;

        @Option(names = "--implicit-waypoint-allow", paramLabel = "NS/NAME=PRINCIPAL[,PRINCIPAL]",
                description = "model istiod's PILOT_AUTO_ALLOW_WAYPOINT_POLICY=true: a waypoint serving the destination"
                        + " and its instances' identities, repeatable")
        List<String> implicitWaypoints = new ArrayList<>();

        @Option(names = "--method", description = "HTTP method (L7)")
        String method;

        @Option(names = "--path", description = "HTTP path (L7)")
        String path;

        @Option(names = "--host", description = "HTTP host (L7)")
        String host;

        @Option(names = "--header", description = "HTTP header name=value (L7), repeatable")
        Map<String, String> headers = new LinkedHashMap<>();

        @Option(names = "--request-principal", description = "JWT iss/sub (L7)")
        String requestPrincipal;

        @Option(names = "--log-line", description = "print only the one-line access-log form")
        boolean logLine;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            LoadResult loaded = new PolicyLoader().load(policies);
            for (LoadError e : loaded.errors()) {
                err.println("refused: " + e);
            }
            CompileOptions options = new CompileOptions(rootNamespace, enforcementPoint,
                    failClosed ? CompileOptions.L4Conversion.FAIL_CLOSED : CompileOptions.L4Conversion.ISTIO_COMPATIBLE,
                    !implicitWaypoints.isEmpty());
            List<WaypointIdentity> wps = new ArrayList<>();
            for (String w : implicitWaypoints) {
                int slash = w.indexOf('/');
                int eq = w.indexOf('=');
                if (slash <= 0 || eq < slash + 2 || eq == w.length() - 1) {
                    err.println("--implicit-waypoint-allow: expected NS/NAME=PRINCIPAL[,PRINCIPAL], got " + w);
                    return 2;
                }
                wps.add(new WaypointIdentity(w.substring(0, slash), w.substring(slash + 1, eq),
                        List.of(w.substring(eq + 1).split(","))));
            }
            CompiledPolicies compiled = loaded.policies().compile(options);
            Destination.Builder db = Destination.builder(destNamespace).labels(destLabels).services(destServices)
                    .waypointIdentities(wps);
            if (waypoint != null) {
                db.waypoint(waypoint);
            }
            ConnectionAttributes.Builder cb = ConnectionAttributes.builder().destinationPort(destPort);
            if (sourcePrincipal != null) {
                cb.sourcePrincipal(sourcePrincipal);
            }
            if (sourceNamespace != null) {
                cb.sourceNamespace(sourceNamespace);
            }
            if (sourceIp != null) {
                cb.sourceIp(sourceIp);
            }
            if (destIp != null) {
                cb.destinationIp(destIp);
            }
            ConnectionAttributes conn = cb.build();
            Decision d;
            if (method != null || path != null || host != null || !headers.isEmpty() || requestPrincipal != null) {
                RequestAttributes.Builder rb = RequestAttributes.builder(conn);
                if (method != null) {
                    rb.method(method);
                }
                if (path != null) {
                    rb.path(path);
                }
                if (host != null) {
                    rb.host(host);
                }
                headers.forEach(rb::header);
                if (requestPrincipal != null) {
                    rb.requestPrincipal(requestPrincipal);
                }
                d = compiled.evaluate(db.build(), rb.build());
            } else {
                d = compiled.evaluate(db.build(), conn);
            }
            if (logLine) {
                out.println(d.toLogString());
            } else {
                out.println(conn + " to " + db.build() + " at " + enforcementPoint + ":");
                out.print(d.explain());
                Destination dest = db.build();
                for (CompileWarning w : compiled.warningsFor(dest)) {
                    if (w.severity() == CompileWarning.Severity.WARNING && !d.warnings().contains(w)) {
                        out.println("  in scope: " + w);
                    }
                }
            }
            out.flush();
            return d.allowed() ? 0 : 1;
        }
    }
}
