package dev.hbone.testsupport;

import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty reported a leak while it ran: after the class, pending reports are collected
 * ({@link NettyLeaks#collect()}) and any report fails the class with the leak's access records. Registered for every
 * test class of a module that depends on test-support, through JUnit's extension auto-detection (the parent POM
 * turns it on for Surefire and Failsafe). Run the tests with {@code -Dio.netty.leakDetection.level=paranoid} (the
 * parent POM does) so that every buffer is tracked.
 */
public final class NettyLeakCheck implements BeforeAllCallback, AfterAllCallback {
    static {
        NettyLeaks.install();
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (!NettyLeaks.byteBufDetectorRecords()) {
            throw new IllegalStateException("Netty's ByteBuf leak detector was created before test-support's"
                                            + " NettyLeakCheck could install its recorder: leaks would go unnoticed");
        }
        List<String> earlier = NettyLeaks.drain();
        if (!earlier.isEmpty()) {
            throw new AssertionError(earlier.size() + " Netty leak(s) reported before " + context.getDisplayName()
                                     + " started (by an earlier test class in this JVM):\n"
                                     + String.join("\n", earlier));
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        NettyLeaks.collect();
        List<String> leaks = NettyLeaks.drain();
        if (!leaks.isEmpty()) {
            throw new AssertionError(leaks.size() + " Netty leak(s) reported during " + context.getDisplayName()
                                     + ":\n" + String.join("\n", leaks));
        }
    }
}
