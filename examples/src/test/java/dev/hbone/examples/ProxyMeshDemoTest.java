package dev.hbone.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code ./demo}: every scenario of the node-proxy mesh demo must end the way its configuration says. */
class ProxyMeshDemoTest {
    @Test
    void everyScenarioEndsAsTheConfigurationSays() throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        boolean ok;
        try (PrintStream out = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            System.setOut(out);
            ok = ProxyMeshDemo.run();
        } finally {
            System.setOut(original);
        }
        String printed = captured.toString(StandardCharsets.UTF_8);
        original.print(printed);
        assertThat(ok).as("demo verdict").isTrue();
        String[] scenarios = printed.split("\n-- ");
        assertThat(scenarios).hasSizeGreaterThanOrEqualTo(7);
        // [1] allowed through the service name, identities on both ends, every byte
        assertThat(scenario(scenarios, "[1]"))
                .contains("65536 bytes sent, 65536 echoed back (intact)")
                .contains("node-1     outbound  productpage [spiffe://cluster.local/ns/bookinfo/sa/productpage]")
                .contains("-> reviews-v1 [spiffe://cluster.local/ns/bookinfo/sa/reviews] 127.10.0.52:9080 via "
                        + "reviews.bookinfo.svc.cluster.local")
                .contains("authz: allow reason=allow-matched policy=bookinfo/reviews-viewer rule=0")
                .contains("client->server 65536 B, server->client 65536 B, response_flags=-")
                .contains("verdict    as expected");
        // [2] the DENY policy, [3] and [4] no ALLOW match (principal, port), each refused to the client
        assertThat(scenario(scenarios, "[2]"))
                .contains("SOCKS5 reply 5")
                .contains("[spiffe://cluster.local/ns/untrusted/sa/scanner]")
                .contains("authz: deny reason=deny-matched policy=istio-system/deny-untrusted rule=0")
                .contains("verdict    as expected");
        assertThat(scenario(scenarios, "[3]"))
                .contains("[spiffe://cluster.local/ns/bookinfo/sa/ratings]")
                .contains("authz: deny reason=no-allow-matched candidates=bookinfo/reviews-viewer")
                .contains("verdict    as expected");
        assertThat(scenario(scenarios, "[4]"))
                .contains("127.0.0.52:9090")
                .contains("authz: deny reason=no-allow-matched candidates=bookinfo/reviews-viewer")
                .contains("verdict    as expected");
        // [5] plaintext refused by PeerAuthentication STRICT
        assertThat(scenario(scenarios, "[5]"))
                .contains("[no identity (plaintext)] 127.0.0.59")
                .contains("authz: deny reason=peer-authn-strict policy=istio-system/default")
                .contains("verdict    as expected");
        assertThat(printed)
                .containsPattern("node-2 +reporter=destination productpage +-> reviews-v1 +mutual_tls "
                        + "response_flags=- +1")
                .containsPattern("node-2 +reporter=destination unknown +-> reviews-v1 +unknown +response_flags=DENY")
                .doesNotContain("UNEXPECTED")
                .contains("every connection ended as the policies say (exit 0)");
    }

    @Test
    void accessLogFieldsAreParsedWithQuotedValues() {
        Map<String, String> f = ProxyMeshDemo.fields("connection complete\tsrc.addr=1.2.3.4:5 "
                + "src.identity=\"spiffe://td/ns/a/sa/b\" authz=\"deny reason=x policy=a/b\" bytes_sent=3 "
                + "error=\"say \\\"no\\\"\"");
        assertThat(f).containsEntry("src.addr", "1.2.3.4:5").containsEntry("src.identity", "spiffe://td/ns/a/sa/b")
                .containsEntry("authz", "deny reason=x policy=a/b").containsEntry("bytes_sent", "3")
                .containsEntry("error", "say \"no\"");
    }

    private static String scenario(String[] sections, String tag) {
        for (String s : sections) {
            if (s.startsWith(tag)) {
                return s;
            }
        }
        throw new AssertionError("no scenario " + tag);
    }
}
