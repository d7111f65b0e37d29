package dev.hbone.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;

/**
 * Proves the leak check works: a buffer deliberately dropped without {@code release()} is reported with its hint,
 * and a test class that leaks fails.
 */
class NettyLeakCheckTest {
    @Test
    void theByteBufDetectorRecords() {
        assertThat(NettyLeaks.byteBufDetectorRecords()).isTrue();
    }

    @Test
    void aBufferDroppedWithoutReleaseIsReported() {
        String hint = "deliberate leak " + UUID.randomUUID();
        leak(hint);
        List<String> reports = awaitReport(hint);
        assertThat(reports).anySatisfy(r -> assertThat(r).startsWith("LEAK: ByteBuf.release() was not called")
                                                        .contains(hint)
                                                        .contains(NettyLeakCheckTest.class.getName() + ".leak"));
    }

    @Test
    void aTestClassThatLeaksFails() {
        System.setProperty("leakcheck.selftest", "true");
        try {
            var results = EngineTestKit.engine("junit-jupiter")
                    .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "true")
                    .selectors(selectClass(LeakingTests.class))
                    .execute();
            results.testEvents().assertStatistics(s -> s.succeeded(1).failed(0));
            List<Event> failedContainers = results.containerEvents().failed().list();
            assertThat(failedContainers).singleElement().satisfies(e -> assertThat(
                    e.getPayload(org.junit.platform.engine.TestExecutionResult.class).orElseThrow()
                     .getThrowable().orElseThrow())
                    .isInstanceOf(AssertionError.class)
                    .hasMessageContaining("Netty leak(s) reported during").hasMessageContaining("LeakingTests")
                    .hasMessageContaining(LeakingTests.HINT));
        } finally {
            System.clearProperty("leakcheck.selftest");
        }
    }

    /** Run only by {@link #aTestClassThatLeaksFails} through the test kit. */
    @EnabledIfSystemProperty(named = "leakcheck.selftest", matches = "true")
    static class LeakingTests {
        static final String HINT = "leaked by LeakingTests " + UUID.randomUUID();

        @Test
        void leaks() {
            leak(HINT);
        }
    }

    static void leak(String hint) {
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.heapBuffer(64);
        buf.touch(hint);
        buf.writeLong(42);
        // no release
    }

    /** Collects until a report with {@code hint} shows up (each round runs the GC), up to 30 s. */
    private static List<String> awaitReport(String hint) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        List<String> seen = new java.util.ArrayList<>();
        while (System.nanoTime() < deadline) {
            NettyLeaks.collect();
            seen.addAll(NettyLeaks.drain());
            if (seen.stream().anyMatch(r -> r.contains(hint))) {
                return seen;
            }
        }
        throw new AssertionError("no leak report with '" + hint + "' within 30 s; seen " + seen);
    }
}
