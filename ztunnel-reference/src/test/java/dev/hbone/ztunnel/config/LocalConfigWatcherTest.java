package dev.hbone.ztunnel.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class LocalConfigWatcherTest {

    private static final String ONE = "workloads:\n- {uid: a, namespace: ns, workloadIps: [\"10.0.0.1\"]}\n";
    private static final String TWO = ONE + "- {uid: b, namespace: ns, workloadIps: [\"10.0.0.2\"]}\n";
    private static final String BAD = "workloads:\n- {uid: a, namespace: ns, workloadIps: [\"10.0.0.300\"]}\n";

    /** Records what the watcher reports. */
    private static final class Recorder implements LocalConfigWatcher.Listener {
        final BlockingQueue<Object> events = new LinkedBlockingQueue<>();

        @Override
        public void onConfig(LocalConfig config) {
            events.add(config);
        }

        @Override
        public void onError(InvalidConfigException error) {
            events.add(error);
        }

        Object next() throws InterruptedException {
            Object e = events.poll(10, TimeUnit.SECONDS);
            assertThat(e).as("no event within 10 s").isNotNull();
            return e;
        }

        void assertQuiet(Duration d) throws InterruptedException {
            assertThat(events.poll(d.toMillis(), TimeUnit.MILLISECONDS)).isNull();
        }
    }

    @Test
    void reloadsOnChangeKeepsPreviousOnErrorAndIgnoresNoOps(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("local.yaml");
        Files.writeString(file, ONE);
        Recorder recorder = new Recorder();
        try (LocalConfigWatcher watcher = LocalConfigWatcher.start(file, recorder, Duration.ofMillis(20))) {
            assertThat(((LocalConfig) recorder.next()).workloads()).hasSize(1);
            assertThat(watcher.current()).isPresent();

            Files.writeString(file, TWO);
            assertThat(((LocalConfig) recorder.next()).workloads()).hasSize(2);
            assertThat(watcher.current().orElseThrow().workloads()).hasSize(2);

            Files.writeString(file, BAD);
            InvalidConfigException error = (InvalidConfigException) recorder.next();
            assertThat(error.errors()).extracting(ConfigError::toString)
                    .containsExactly("local.yaml: workloads[0].workloadIps[0]: \"10.0.0.300\" is not an IP address");
            assertThat(watcher.current().orElseThrow().workloads()).hasSize(2);

            // Same content again (and a touch): nothing to report.
            Files.writeString(file, BAD);
            Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis()));
            recorder.assertQuiet(Duration.ofMillis(500));

            // An editor's write-to-temp-then-rename is seen as well.
            Path tmp = dir.resolve(".local.yaml.swp");
            Files.writeString(tmp, ONE);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            assertThat(((LocalConfig) recorder.next()).workloads()).hasSize(1);

            // Other files in the directory are ignored.
            Files.writeString(dir.resolve("other.yaml"), BAD);
            recorder.assertQuiet(Duration.ofMillis(300));

            Files.delete(file);
            assertThat(((InvalidConfigException) recorder.next()).getMessage()).contains("the file does not exist");
            assertThat(watcher.current().orElseThrow().workloads()).hasSize(1);

            Files.writeString(file, TWO);
            assertThat(((LocalConfig) recorder.next()).workloads()).hasSize(2);
        }
    }

    @Test
    void badFileAtStartIsReportedAndNothingIsCurrent(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("local.yaml");
        Files.writeString(file, BAD);
        Recorder recorder = new Recorder();
        try (LocalConfigWatcher watcher = LocalConfigWatcher.start(file, recorder, Duration.ofMillis(20))) {
            assertThat(recorder.next()).isInstanceOf(InvalidConfigException.class);
            assertThat(watcher.current()).isEmpty();
            Files.writeString(file, ONE);
            assertThat(recorder.next()).isInstanceOf(LocalConfig.class);
            assertThat(watcher.current()).isPresent();
        }
    }

    @Test
    void truncateThenWriteIsOneReloadButAnEmptiedFileCounts(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("local.yaml");
        Files.writeString(file, ONE);
        Recorder recorder = new Recorder();
        try (LocalConfigWatcher watcher = LocalConfigWatcher.start(file, recorder, Duration.ofMillis(100))) {
            recorder.next();
            // An editor that truncates, then writes a little later (after the settle time, within the confirmation).
            Files.write(file, new byte[0]);
            Thread.sleep(150);
            Files.writeString(file, TWO);
            assertThat(((LocalConfig) recorder.next()).workloads()).hasSize(2);
            recorder.assertQuiet(Duration.ofMillis(400));
            // Emptied on purpose: an empty configuration.
            Files.write(file, new byte[0]);
            assertThat(recorder.next()).isEqualTo(LocalConfig.EMPTY);
        }
    }

    @Test
    void followsAKubernetesConfigMapSymlinkSwap(@TempDir Path dir) throws Exception {
        // A mounted ConfigMap: local.yaml -> ..data/local.yaml, ..data -> ..<timestamp>; an update writes a new
        // timestamped directory and renames a new ..data symlink over the old one.
        Path v1 = Files.createDirectory(dir.resolve("..2026_11_21_v1"));
        Files.writeString(v1.resolve("local.yaml"), ONE);
        Files.createSymbolicLink(dir.resolve("..data"), v1.getFileName());
        Path file = Files.createSymbolicLink(dir.resolve("local.yaml"), Path.of("..data", "local.yaml"));
        Recorder recorder = new Recorder();
        try (LocalConfigWatcher watcher = LocalConfigWatcher.start(file, recorder, Duration.ofMillis(20))) {
            assertThat(((LocalConfig) recorder.next()).workloads()).hasSize(1);
            Path v2 = Files.createDirectory(dir.resolve("..2026_11_21_v2"));
            Files.writeString(v2.resolve("local.yaml"), TWO);
            Path tmp = Files.createSymbolicLink(dir.resolve("..data_tmp"), v2.getFileName());
            Files.move(tmp, dir.resolve("..data"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            assertThat(((LocalConfig) recorder.next()).workloads()).hasSize(2);
        }
    }

    @Test
    void noEventsAfterClose(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("local.yaml");
        Files.writeString(file, ONE);
        Recorder recorder = new Recorder();
        LocalConfigWatcher watcher = LocalConfigWatcher.start(file, recorder, Duration.ofMillis(20));
        recorder.next();
        watcher.close();
        Files.writeString(file, TWO);
        recorder.assertQuiet(Duration.ofMillis(300));
    }
}
