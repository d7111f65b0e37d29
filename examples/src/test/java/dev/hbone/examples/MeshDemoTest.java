package dev.hbone.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The README's main job: every scenario of the mesh demo must end the way its policies and certificates say. */
class MeshDemoTest {
    @Test
    void everyConnectionEndsAsPoliciesAndCertificatesSay() throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        boolean ok;
        try (PrintStream out = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            System.setOut(out);
            ok = MeshDemo.run();
        } finally {
            System.setOut(original);
        }
        String printed = captured.toString(StandardCharsets.UTF_8);
        original.print(printed);
        assertThat(ok).as("demo verdict").isTrue();
        assertThat(printed)
                .contains("allow reason=allow-matched policy=bookinfo/reviews-viewer rule=0")
                .contains("1048576 bytes sent, 1048576 echoed back")
                .contains("(intact)")
                .contains("deny reason=deny-matched policy=istio-system/deny-untrusted rule=0")
                .contains("deny reason=no-allow-matched candidates=bookinfo/reviews-viewer")
                .containsPattern("TLS REFUSED +UNEXPECTED_IDENTITY")
                .containsPattern("TLS REFUSED +UNTRUSTED_CHAIN")
                .doesNotContain("UNEXPECTED: the tunnel was opened");
    }
}
