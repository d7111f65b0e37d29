package dev.hbone.authz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.authz.cli.AuthzCheck;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuthzCheckTest {

    @Test
    void answersMayXReachYAndWhy(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("policies.yaml"), """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: allow-curl, namespace: shop}
                spec:
                  selector: {matchLabels: {app: cart}}
                  rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/curl]}}], to: [{operation: {ports: ["8080"]}}]}]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-post, namespace: shop}
                spec:
                  action: DENY
                  rules: [{from: [{source: {namespaces: [evil]}}], to: [{operation: {methods: [POST]}}]}]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: broken, namespace: shop}
                spec: {rules: [{to: [{operation: {ports: ["eighty"]}}]}]}
                """);
        String[] base = {"check", "--policies", dir.toString(), "--source-ip", "10.0.0.1",
            "--dest-namespace", "shop", "--dest-labels", "app=cart,version=v1", "--dest-port", "8080"};

        Result ok = run(concat(base, "--source-principal", "spiffe://cluster.local/ns/shop/sa/curl"));
        assertThat(ok.code).isZero();
        assertThat(ok.out).contains("ALLOW: rule 0 of AuthorizationPolicy shop/allow-curl matched");
        assertThat(ok.out).contains("WARNING shop/deny-post rule 0");
        assertThat(ok.err).contains("refused: policies.yaml doc#3 spec.rules[0].to[0].operation.ports[0]");

        Result denied = run(concat(base, "--source-principal", "cluster.local/ns/shop/sa/other", "--log-line"));
        assertThat(denied.code).isEqualTo(1);
        assertThat(denied.out.strip()).isEqualTo("deny reason=no-allow-matched candidates=shop/allow-curl");

        Result l7 = run(concat(base, "--source-principal", "cluster.local/ns/evil/sa/x", "--enforcement-point",
                "SIDECAR", "--method", "POST", "--path", "/cart", "--log-line"));
        assertThat(l7.code).isEqualTo(1);
        assertThat(l7.out.strip()).isEqualTo("deny reason=deny-matched policy=shop/deny-post rule=0");

        assertThat(run("check").code).isEqualTo(2);

        String wp = "shop/waypoint=cluster.local/ns/shop/sa/waypoint";
        Result viaWaypoint = run(concat(base, "--source-principal", "cluster.local/ns/shop/sa/waypoint",
                "--implicit-waypoint-allow", wp));
        assertThat(viaWaypoint.code).isZero();
        assertThat(viaWaypoint.out)
                .contains("ALLOW: allowed by the implicit waypoint policy shop/istio_allow_waypoint_shop_waypoint");
        Result bypass = run(concat(base, "--source-principal", "cluster.local/ns/shop/sa/other",
                "--implicit-waypoint-allow", wp, "--log-line"));
        assertThat(bypass.out.strip()).isEqualTo(
                "deny reason=no-allow-matched candidates=shop/allow-curl,shop/istio_allow_waypoint_shop_waypoint");
        assertThat(run(concat(base, "--implicit-waypoint-allow", "shop/waypoint")).code).isEqualTo(2);
    }

    record Result(int code, String out, String err) {
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = AuthzCheck.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(code, out.toString(), err.toString());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
