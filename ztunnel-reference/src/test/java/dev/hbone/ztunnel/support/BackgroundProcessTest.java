package dev.hbone.ztunnel.support;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The leak check every proxy process of the end-to-end tests gets when it is closed. */
class BackgroundProcessTest {
    @Test
    void aProcessThatReportedANettyLeakFailsItsClose() throws Exception {
        BackgroundProcess p = BackgroundProcess.start("leaky", List.of("sh", "-c",
                "echo 'ERROR io.netty.util.ResourceLeakDetector - LEAK: ByteBuf.release() was not called'"));
        p.awaitExit(Duration.ofSeconds(10));
        assertThatThrownBy(p::close).isInstanceOf(AssertionError.class)
                .hasMessageContaining("leaky reported 1 Netty buffer leak(s)");
    }

    @Test
    void aCleanProcessClosesQuietly() throws Exception {
        BackgroundProcess p = BackgroundProcess.start("clean", List.of("sh", "-c", "echo started; sleep 30"));
        p.awaitLine(l -> l.equals("started"), "started", Duration.ofSeconds(10));
        assertThatCode(p::close).doesNotThrowAnyException();
    }
}
