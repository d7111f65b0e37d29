package dev.hbone.testsupport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;

/**
 * Records every leak Netty's leak detectors report in this JVM, so that a test can fail on it instead of a line in a
 * log nobody reads. {@link #install()} replaces Netty's {@link ResourceLeakDetectorFactory} with one whose detectors
 * keep each report (and still log it); it must run before Netty creates its first detector, which
 * {@link NettyLeakCheck} (registered for every test class by JUnit's extension auto-detection) does, and checks.
 */
public final class NettyLeaks {
    private static final List<String> reports = new ArrayList<>();
    private static boolean installed;

    private NettyLeaks() { }

    /** Installs the recording factory once per JVM. */
    public static synchronized void install() {
        if (!installed) {
            ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
            installed = true;
        }
    }

    /**
     * Whether the detector of every {@link ByteBuf} is a recording one. False if Netty's buffers were initialised
     * before {@link #install()}: their leaks would only be logged.
     */
    public static boolean byteBufDetectorRecords() {
        try {
            Field f = Class.forName("io.netty.buffer.AbstractByteBuf").getDeclaredField("leakDetector");
            f.setAccessible(true);
            return f.get(null) instanceof RecordingDetector;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("cannot inspect Netty's ByteBuf leak detector: " + e, e);
        }
    }

    /**
     * Makes pending reports visible: runs the garbage collector a few times, and after each run allocates and
     * releases a buffer, which is when Netty's detector looks at the buffers collected without a release.
     */
    public static void collect() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                // Collected buffers are queued by the JVM's reference handler thread, asynchronously; nothing to
                // await, so give it a moment.
                Thread.sleep(15);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            Unpooled.buffer(1).release();
            PooledByteBufAllocator.DEFAULT.buffer(1).release();
            PooledByteBufAllocator.DEFAULT.directBuffer(1).release();
        }
    }

    /** Returns and forgets the reports recorded so far. */
    public static synchronized List<String> drain() {
        List<String> out = List.copyOf(reports);
        reports.clear();
        return out;
    }

    private static synchronized void record(String report) {
        reports.add(report);
    }

    private static final class RecordingFactory extends ResourceLeakDetectorFactory {
        @Override
        @SuppressWarnings("deprecation")
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
                                                                    long maxActive) {
            return new RecordingDetector<>(resource, samplingInterval);
        }

        @Override
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval) {
            return new RecordingDetector<>(resource, samplingInterval);
        }
    }

    private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
        RecordingDetector(Class<?> resourceType, int samplingInterval) {
            super(resourceType, samplingInterval);
        }

        @Override
        protected boolean needReport() {
            return true;
        }

        @Override
        protected void reportTracedLeak(String resourceType, String records) {
            record("LEAK: " + resourceType + ".release() was not called before it was garbage-collected." + records);
            super.reportTracedLeak(resourceType, records);
        }

        @Override
        protected void reportUntracedLeak(String resourceType) {
            record("LEAK: " + resourceType + ".release() was not called before it was garbage-collected"
                   + " (no access records: run with -Dio.netty.leakDetection.level=paranoid)");
            super.reportUntracedLeak(resourceType);
        }
    }
}
