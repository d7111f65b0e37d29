package dev.hbone.ztunnel.config;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads the local configuration file when it changes. It watches the file's directory (so an editor's
 * write-and-rename and a Kubernetes ConfigMap's symlink swap are both seen), reads the file after each burst
 * of events, and ignores events that leave its content unchanged (SHA-256 of the bytes).
 *
 * <p>A valid file is delivered to {@link Listener#onConfig}; a bad or missing file to {@link Listener#onError},
 * and the previous configuration stays {@link #current() current}.
 *
 * <pre>{@code
 * ProxyStateHolder state = new ProxyStateHolder();
 * LocalConfigWatcher watcher = LocalConfigWatcher.start(path, new LocalConfigWatcher.Listener() {
 *     public void onConfig(LocalConfig config) { state.replace(config.toProxyState()); }
 *     public void onError(InvalidConfigException error) { log.warn("{}", error.getMessage()); }
 * });
 * }</pre>
 */
public final class LocalConfigWatcher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LocalConfigWatcher.class);

    /** Quiet time after the last event before the file is read, so one save is one reload. */
    public static final Duration DEFAULT_SETTLE_TIME = Duration.ofMillis(50);

    /** Receives the outcome of each (re)load. Called on the watcher's thread; keep it short. */
    public interface Listener {
        /** A new, valid configuration (its content differs from the previous one). */
        void onConfig(LocalConfig config);

        /** The file changed but was refused; the previous configuration is still current. */
        void onError(InvalidConfigException error);
    }

    private final Path file;
    private final Listener listener;
    private final Duration settleTime;
    private final WatchService watchService;
    private final Thread thread;
    private final AtomicReference<LocalConfig> current = new AtomicReference<>();
    private volatile byte[] lastDigest;
    private volatile boolean closed;

    private LocalConfigWatcher(Path file, Listener listener, Duration settleTime) throws IOException {
        this.file = file.toAbsolutePath();
        this.listener = listener;
        this.settleTime = settleTime;
        Path dir = this.file.getParent();
        this.watchService = dir.getFileSystem().newWatchService();
        dir.register(watchService, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                StandardWatchEventKinds.ENTRY_DELETE);
        this.thread = new Thread(this::run, "local-config-watcher");
        this.thread.setDaemon(true);
    }

    /**
     * Loads the file and starts watching it. The first load's outcome is delivered to the listener before
     * this returns; an invalid or missing file at start is reported there too, and {@link #current()} is
     * empty until a valid version appears.
     *
     * @throws IOException when the directory cannot be watched
     */
    public static LocalConfigWatcher start(Path file, Listener listener) throws IOException {
        return start(file, listener, DEFAULT_SETTLE_TIME);
    }

    /**
     * Like {@link #start(Path, Listener)} with a custom settle time (the quiet time after the last change
     * event before the file is read).
     *
     * @throws IOException when the directory cannot be watched
     */
    public static LocalConfigWatcher start(Path file, Listener listener, Duration settleTime) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(settleTime, "settleTime");
        LocalConfigWatcher watcher = new LocalConfigWatcher(file, listener, settleTime);
        watcher.reload();
        watcher.thread.start();
        return watcher;
    }

    /** Returns the last valid configuration, or empty when none was ever loaded. */
    public Optional<LocalConfig> current() {
        return Optional.ofNullable(current.get());
    }

    /** Returns the watched file. */
    public Path file() {
        return file;
    }

    private void run() {
        try {
            while (!closed) {
                WatchKey key = watchService.take();
                boolean relevant = drain(key);
                // Collect the rest of the burst (write, truncate, rename...) before reading.
                WatchKey more;
                while ((more = watchService.poll(settleTime.toMillis(), TimeUnit.MILLISECONDS)) != null) {
                    relevant |= drain(more);
                }
                if (relevant) {
                    reload();
                }
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            // closing
        } catch (RuntimeException e) {
            log.error("configuration watcher for {} stopped", file, e);
        }
    }

    private boolean drain(WatchKey key) {
        boolean relevant = false;
        for (var event : key.pollEvents()) {
            Object context = event.context();
            // OVERFLOW has no context; a ConfigMap swaps a "..data" symlink, not the file itself.
            if (context == null || !(context instanceof Path) || file.getFileName().equals(context)
                    || context.toString().startsWith("..")) {
                relevant = true;
            }
        }
        key.reset();
        return relevant;
    }

    /** Reads the file now and delivers the outcome if its content changed. Called at start and on events. */
    synchronized void reload() {
        if (closed) {
            return;
        }
        String source = file.getFileName().toString();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
            if (bytes.length == 0 && lastDigest != null) {
                // Editors truncate before they write: an empty file counts only if it is still empty a moment later,
                // or the proxy would drop every workload in between.
                sleepQuietly(settleTime.multipliedBy(2));
                bytes = Files.readAllBytes(file);
            }
        } catch (NoSuchFileException e) {
            if (lastDigest != null && Arrays.equals(lastDigest, new byte[0])) {
                return; // already reported missing
            }
            lastDigest = new byte[0];
            report(new InvalidConfigException(List.of(new ConfigError(source, "", "the file does not exist ("
                    + file + "); keeping the previous configuration"))));
            return;
        } catch (IOException e) {
            lastDigest = null;
            report(new InvalidConfigException(List.of(new ConfigError(source, "", "cannot read " + file + ": " + e))));
            return;
        }
        byte[] digest = sha256(bytes);
        if (lastDigest != null && Arrays.equals(lastDigest, digest)) {
            return; // touched, or rewritten with the same content
        }
        lastDigest = digest;
        LocalConfig config;
        try {
            config = LocalConfig.parse(source, bytes);
        } catch (InvalidConfigException e) {
            report(e);
            return;
        }
        current.set(config);
        log.info("loaded {}: {} workloads, {} services, {} policies", file, config.workloads().size(),
                config.services().size(), config.policies().size());
        try {
            listener.onConfig(config);
        } catch (RuntimeException e) {
            log.error("configuration listener failed", e);
        }
    }

    private static void sleepQuietly(Duration duration) {
        try {
            Thread.sleep(Math.max(1, duration.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void report(InvalidConfigException error) {
        log.warn("refused configuration, keeping the previous one: {}", error.getMessage());
        try {
            listener.onError(error);
        } catch (RuntimeException e) {
            log.error("configuration listener failed", e);
        }
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is mandatory in every JDK", e);
        }
    }

    /** Stops watching; no listener call starts after this returns. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true; // waits for a reload in progress; none starts after this
        }
        try {
            watchService.close();
        } catch (IOException e) {
            log.debug("closing watch service", e);
        }
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
