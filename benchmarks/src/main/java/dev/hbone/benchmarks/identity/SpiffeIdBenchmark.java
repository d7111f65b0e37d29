package dev.hbone.benchmarks.identity;

import dev.hbone.spiffe.InvalidSpiffeIdException;
import dev.hbone.spiffe.KubernetesIdentity;
import dev.hbone.spiffe.SpiffeIds;
import io.spiffe.spiffeid.SpiffeId;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * SPIFFE ID parsing: the strict {@link SpiffeIds#parse} (valid Kubernetes ID, and a refused one, whose cost is the
 * exception), java-spiffe's own {@code SpiffeId.parse} as a baseline, and splitting the Kubernetes parts.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class SpiffeIdBenchmark {
    private final String valid = "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage";
    private final String invalid = "spiffe://cluster.local/ns/bookinfo/sa/../productpage";
    private final SpiffeId parsed = SpiffeIds.parse(valid);

    @Benchmark
    public SpiffeId parseValid() {
        return SpiffeIds.parse(valid);
    }

    @Benchmark
    public Object parseInvalid() {
        try {
            return SpiffeIds.parse(invalid);
        } catch (InvalidSpiffeIdException e) {
            return e.rule();
        }
    }

    @Benchmark
    public SpiffeId javaSpiffeParseBaseline() {
        return SpiffeId.parse(valid);
    }

    @Benchmark
    public Optional<KubernetesIdentity> kubernetesParts() {
        return SpiffeIds.kubernetesParts(parsed);
    }
}
