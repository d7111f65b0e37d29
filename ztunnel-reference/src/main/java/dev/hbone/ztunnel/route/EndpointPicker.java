package dev.hbone.ztunnel.route;

import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;

/**
 * Chooses one endpoint among the eligible ones. ztunnel picks at random, weighted by each workload's
 * {@code capacity}; tests inject a deterministic generator.
 */
@FunctionalInterface
public interface EndpointPicker {

    /**
     * Chooses a candidate.
     *
     * @param weights one non-negative weight per candidate (the workloads' capacities), never empty
     * @return the chosen index, or -1 when no candidate can be chosen (all weights 0)
     */
    int pick(long[] weights);

    /** Weighted random with the thread's own generator (the default). */
    static EndpointPicker weightedRandom() {
        return weights -> weightedIndex(weights, ThreadLocalRandom.current());
    }

    /** Weighted random with the given generator (seed it for reproducible choices). */
    static EndpointPicker weightedRandom(RandomGenerator random) {
        Objects.requireNonNull(random, "random");
        return weights -> weightedIndex(weights, random);
    }

    /** Round robin over the candidates with a non-zero weight, in configuration order. */
    static EndpointPicker roundRobin() {
        AtomicLong next = new AtomicLong();
        return weights -> {
            int eligible = 0;
            for (long w : weights) {
                if (w > 0) {
                    eligible++;
                }
            }
            if (eligible == 0) {
                return -1;
            }
            long turn = Math.floorMod(next.getAndIncrement(), (long) eligible);
            for (int i = 0; i < weights.length; i++) {
                if (weights[i] > 0 && turn-- == 0) {
                    return i;
                }
            }
            return -1;
        };
    }

    private static int weightedIndex(long[] weights, RandomGenerator random) {
        long total = 0;
        for (long w : weights) {
            if (w < 0) {
                throw new IllegalArgumentException("negative weight " + w);
            }
            total += w;
        }
        if (total <= 0) {
            return -1; // ztunnel's choose_weighted fails when every weight is 0
        }
        long r = random.nextLong(total);
        for (int i = 0; i < weights.length; i++) {
            r -= weights[i];
            if (r < 0) {
                return i;
            }
        }
        return weights.length - 1;
    }
}
