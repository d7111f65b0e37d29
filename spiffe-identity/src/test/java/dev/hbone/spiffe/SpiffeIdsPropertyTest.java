package dev.hbone.spiffe;

import static org.assertj.core.api.Assertions.assertThat;

import io.spiffe.spiffeid.SpiffeId;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Seeded random inputs: {@link SpiffeIds#parse} either returns an ID that prints back exactly as its input, or
 * throws {@link InvalidSpiffeIdException}, never anything else, and agrees with an independent regular expression
 * of the specification's grammar.
 */
class SpiffeIdsPropertyTest {
    private static final Pattern GRAMMAR = Pattern.compile(
            "spiffe://[a-z0-9._-]{1,255}(/(?!\\.{1,2}(?:/|$))[A-Za-z0-9._-]+)+");
    private static final String ALPHABET = "spiffe:/SPIFE.abcxyzXYZ019-_%@?#:/../. \u00e9";

    @Test
    void parseAgreesWithTheGrammar() {
        Random random = new Random(20261121L);
        int valid = 0;
        for (int i = 0; i < 50_000; i++) {
            String input = candidate(random);
            boolean expected = GRAMMAR.matcher(input).matches() && input.length() <= SpiffeIds.MAX_ID_LENGTH;
            try {
                SpiffeId id = SpiffeIds.parse(input);
                assertThat(expected).as("accepted %s", input).isTrue();
                assertThat(id.toString()).isEqualTo(input);
                valid++;
            } catch (InvalidSpiffeIdException e) {
                assertThat(expected).as("refused %s (%s)", input, e.rule()).isFalse();
            }
        }
        assertThat(valid).as("the generator also produces valid IDs").isGreaterThan(1000);
    }

    private static String candidate(Random random) {
        StringBuilder sb = new StringBuilder();
        if (random.nextInt(10) > 0) {
            sb.append("spiffe://");
        }
        int tdLength = random.nextInt(12);
        for (int i = 0; i < tdLength; i++) {
            sb.append(random.nextInt(8) == 0 ? pick(random) : (char) ('a' + random.nextInt(26)));
        }
        int segments = random.nextInt(4);
        for (int s = 0; s < segments; s++) {
            sb.append('/');
            int length = random.nextInt(6);
            for (int i = 0; i < length; i++) {
                sb.append(random.nextInt(6) == 0 ? pick(random) : (char) ('A' + random.nextInt(26)));
            }
        }
        return sb.toString();
    }

    private static char pick(Random random) {
        return ALPHABET.charAt(random.nextInt(ALPHABET.length()));
    }
}
