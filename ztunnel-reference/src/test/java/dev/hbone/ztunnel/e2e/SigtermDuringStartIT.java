package dev.hbone.ztunnel.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hbone.ztunnel.support.BackgroundProcess;
import dev.hbone.ztunnel.support.Ztunnel;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM at any moment of start-up — before the JVM handles signals, while settings are read, while listeners
 * bind, right after the start — ends the process with 143 (README: "143 after SIGTERM") without hanging, and a
 * proxy that got as far as starting is drained ("ztunnel stopped"), never abandoned half-started.
 */
@Timeout(180)
class SigtermDuringStartIT {
    private static final String HOST = "127.0.5.24";

    @TempDir
    Path dir;

    @Test
    void sigtermRightAfterLaunchAlwaysEndsTheProcessWith143() throws Exception {
        Path config = dir.resolve("localhost.yaml");
        try (InputStream in = getClass().getResourceAsStream("/examples/localhost.yaml")) {
            Files.copy(in, config, StandardCopyOption.REPLACE_EXISTING);
        }
        List<String> args = List.of("--local-xds-path=" + config, "--admin-address=" + HOST + ":0",
                "--stats-address=" + HOST + ":0", "--readiness-address=" + HOST + ":0",
                "--inbound-address=" + HOST + ":0", "--inbound-plaintext-address=" + HOST + ":0",
                "--outbound-address=" + HOST + ":0", "--connection-termination-deadline=2s");
        // Delays spread over the JVM's and the proxy's start-up; the last one waits for "ztunnel started".
        long[] delaysMillis = {0, 20, 80, 200, 400, 700, 1000, 1500, -1};
        for (long delay : delaysMillis) {
            try (BackgroundProcess proxy = Ztunnel.start("ztunnel-sigterm-" + delay, null, args, Map.of())) {
                if (delay >= 0) {
                    Thread.sleep(delay);
                } else {
                    proxy.awaitLine(Pattern.compile("ztunnel started"), Duration.ofSeconds(60));
                }
                proxy.terminate();
                int code = proxy.awaitExit(Duration.ofSeconds(45));
                String output = proxy.output();
                assertThat(code).as("exit code after SIGTERM %d ms after launch; output:\n%s", delay, output)
                        .isEqualTo(143);
                if (output.contains("ztunnel started")) {
                    assertThat(output).as("a started proxy is drained (SIGTERM after %d ms)", delay)
                            .contains("ztunnel stopped");
                }
                assertThat(output).doesNotContain("Exception in thread", "Shutdown in progress");
            }
        }
    }
}
