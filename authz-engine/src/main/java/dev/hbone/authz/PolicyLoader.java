package dev.hbone.authz;

import static java.util.Objects.requireNonNull;

import dev.hbone.authz.internal.ResourceReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Reads policies from YAML as users write it: {@code security.istio.io/v1} and {@code v1beta1}
 * AuthorizationPolicy and PeerAuthentication, multi-document files, kubectl {@code kind: List}, and ztunnel's
 * local configuration ({@code policies:} list; its {@code workloads} and {@code services} are skipped). Unknown
 * keys are refused. A bad document never stops the others: each refusal becomes a {@link LoadError}; the loader
 * never throws for bad content.
 */
public final class PolicyLoader {
    private final ResourceReader reader = new ResourceReader();

    /** Creates a loader. */
    public PolicyLoader() {
    }

    /**
     * Loads a file, or every {@code .yaml}/{@code .yml}/{@code .json} file under a directory (recursively, in
     * path order). A resource defined twice is refused the second time, across files too. Throws
     * UncheckedIOException if the files cannot be read.
     */
    public LoadResult load(Path path) {
        requireNonNull(path, "path");
        List<Path> files = new ArrayList<>();
        if (Files.isDirectory(path)) {
            try (Stream<Path> s = Files.walk(path)) {
                s.filter(Files::isRegularFile).filter(p -> {
                    String n = p.getFileName().toString();
                    return n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json");
                }).sorted().forEach(files::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        } else {
            files.add(path);
        }
        PolicySet set = PolicySet.empty();
        List<LoadError> errors = new ArrayList<>();
        int docs = 0;
        Map<String, String> seen = new HashMap<>();
        for (Path f : files) {
            String text;
            try {
                text = Files.readString(f, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (RuntimeException e) {
                errors.add(new LoadError(path.relativize(f).toString(), 1, "", "not UTF-8 text"));
                continue;
            }
            String name = Files.isDirectory(path) ? path.relativize(f).toString() : f.getFileName().toString();
            LoadResult r = reader.read(name, text, seen);
            set = set.plus(r.policies());
            errors.addAll(r.errors());
            docs += r.documents();
        }
        return new LoadResult(set, errors, docs);
    }

    /** Loads YAML text; {@code name} is used in errors. */
    public LoadResult loadString(String name, String yaml) {
        requireNonNull(name, "name");
        requireNonNull(yaml, "yaml");
        return reader.read(name, yaml);
    }
}
