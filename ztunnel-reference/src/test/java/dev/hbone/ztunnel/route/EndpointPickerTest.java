package dev.hbone.ztunnel.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class EndpointPickerTest {

    @Test
    void weightedRandomFollowsTheWeights() {
        EndpointPicker picker = EndpointPicker.weightedRandom(new SplittableRandom(7));
        int[] counts = new int[3];
        for (int i = 0; i < 10_000; i++) {
            counts[picker.pick(new long[] {1, 0, 3})]++;
        }
        assertThat(counts[1]).isZero();
        assertThat(counts[0]).isBetween(2_200, 2_800);
        assertThat(counts[2]).isBetween(7_200, 7_800);
    }

    @Test
    void weightedRandomWithNoWeightChoosesNothing() {
        assertThat(EndpointPicker.weightedRandom().pick(new long[] {0, 0})).isEqualTo(-1);
        assertThat(EndpointPicker.weightedRandom().pick(new long[] {5})).isZero();
        assertThatThrownBy(() -> EndpointPicker.weightedRandom().pick(new long[] {-1}))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void roundRobinSkipsZeroWeights() {
        EndpointPicker picker = EndpointPicker.roundRobin();
        assertThat(picker.pick(new long[] {1, 0, 2})).isEqualTo(0);
        assertThat(picker.pick(new long[] {1, 0, 2})).isEqualTo(2);
        assertThat(picker.pick(new long[] {1, 0, 2})).isEqualTo(0);
        assertThat(picker.pick(new long[] {0, 0})).isEqualTo(-1);
    }
}
