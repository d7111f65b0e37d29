package dev.hbone.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class AuthorityTest {
    @Test
    void parsesTheThreeForms() {
        assertThat(Authority.parse("10.0.0.7:8080")).contains(new Authority("10.0.0.7", 8080, true));
        assertThat(Authority.parse("[fd00::7]:443")).contains(new Authority("fd00::7", 443, true));
        assertThat(Authority.parse("Echo.Default.svc.cluster.local:80"))
                .contains(new Authority("echo.default.svc.cluster.local", 80, false));
        assertThat(new Authority("fd00::7", 443, true)).hasToString("[fd00::7]:443");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "foo", "10.0.0.7", "10.0.0.7:", ":80", "10.0.0.7:0", "10.0.0.7:65536", "10.0.0.7:+80",
                            "10.0.0.7:080", "010.0.0.7:80", "10.0.0.256:80", "1.2.3:80", "[fd00::7:80", "fd00::7:80",
                            "[fd00::7%eth0]:80", "[cafe]:80", "user@10.0.0.7:80", "10.0.0.7:80/x", "a..b:80",
                            "-a.b:80", "a-.b:80", "a.b.:80", "a_b:80", "a b:80", "1.2.3.4.5:80"})
    void refusesMalformedAuthorities(String value) {
        assertThat(Authority.parse(value)).isEmpty();
    }
}
