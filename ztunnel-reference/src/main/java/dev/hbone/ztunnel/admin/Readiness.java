package dev.hbone.ztunnel.admin;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * What the proxy still waits for before it is ready ({@code GET /healthz/ready} answers 200 only when nothing is
 * pending): named one-off tasks ({@code "config"}, {@code "listeners"}) and dynamic sources (e.g. identities whose
 * certificate is not issued yet).
 */
public final class Readiness {
    private final Set<String> tasks = ConcurrentHashMap.newKeySet();
    private final List<Supplier<? extends Iterable<String>>> sources = new CopyOnWriteArrayList<>();

    /** Creates a readiness tracker with nothing pending. */
    public Readiness() {
    }

    /** Adds a pending task; {@link #complete(String)} removes it. */
    public void register(String task) {
        tasks.add(requireNonNull(task, "task"));
    }

    /** Marks a task done. */
    public void complete(String task) {
        tasks.remove(requireNonNull(task, "task"));
    }

    /** Adds a source of pending items (each item reported as {@code prefix + item}). */
    public void addSource(String prefix, Supplier<? extends Iterable<String>> source) {
        requireNonNull(prefix, "prefix");
        requireNonNull(source, "source");
        sources.add(() -> {
            List<String> out = new java.util.ArrayList<>();
            for (String s : source.get()) {
                out.add(prefix + s);
            }
            return out;
        });
    }

    /** Returns everything pending, sorted. */
    public Set<String> pending() {
        Set<String> all = new TreeSet<>(tasks);
        for (Supplier<? extends Iterable<String>> s : sources) {
            s.get().forEach(all::add);
        }
        return all;
    }

    /** Returns whether nothing is pending. */
    public boolean isReady() {
        return pending().isEmpty();
    }
}
