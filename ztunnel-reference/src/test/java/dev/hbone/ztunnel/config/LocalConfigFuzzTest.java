package dev.hbone.ztunnel.config;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hbone.authz.CompileOptions;
import dev.hbone.authz.EnforcementPoint;

/**
 * Coverage-guided fuzzing (Jazzer) of the local configuration file (ztunnel's {@code LOCAL_XDS_PATH} format plus Istio
 * policy documents): bytes → {@link LocalConfig#parse(String, byte[])} → the proxy state and the compiled policies
 * built from an accepted file. The only documented failure is {@link InvalidConfigException} listing at least one
 * error, each with a message; a file that is accepted must also build (no exception from the state or the policy
 * compiler), because the watcher swaps in whatever parses.
 *
 * <p>{@code mvn verify} replays the inputs under
 * {@code src/test/resources/dev/hbone/ztunnel/config/LocalConfigFuzzTestInputs/parse/}.
 */
class LocalConfigFuzzTest {
    @FuzzTest(maxDuration = "2m")
    void parse(byte[] input) {
        LocalConfig config;
        try {
            config = LocalConfig.parse("fuzz.yaml", input);
        } catch (InvalidConfigException e) {
            if (e.errors().isEmpty() || e.getMessage() == null || e.getMessage().isBlank()) {
                throw new AssertionError("refusal without errors", e);
            }
            for (ConfigError error : e.errors()) {
                if (error.toString().isBlank()) {
                    throw new AssertionError("error without a message: " + e.errors());
                }
            }
            return;
        }
        config.toProxyState();
        config.policySet().compile(new CompileOptions(CompileOptions.DEFAULT_ROOT_NAMESPACE, EnforcementPoint.ZTUNNEL,
                                                      CompileOptions.L4Conversion.ISTIO_COMPATIBLE, true));
    }
}
