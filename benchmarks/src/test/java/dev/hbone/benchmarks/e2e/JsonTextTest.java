package dev.hbone.benchmarks.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTextTest {
    @Test
    void replyLinesCarryAnyErrorTextIntact() {
        // Exception messages hold quotes, backslashes and line breaks; the reply must still parse to the same text.
        String error = "java.net.ConnectException: \"refused\" at C:\\path\nnext line\t\u0001";
        Map<String, Object> reply = new LinkedHashMap<>();
        reply.put("ok", 3);
        reply.put("seconds", 1.25);
        reply.put("errors", error);
        String line = JsonText.line(reply);
        assertThat(line).doesNotContain("\n");
        assertThat(JsonText.parseObject(line)).containsEntry("errors", error).containsEntry("ok", 3)
                .containsEntry("seconds", 1.25);
    }

    @Test
    void resultsAreRoundedToWhatTheyCanTell() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("whole", 970.0);
        m.put("large", 1234.5678);
        m.put("small", 0.123456);
        m.put("tiny", 0.000012345);
        m.put("nan", Double.NaN);
        m.put("list", List.of(2.0, 0.5));
        m.put("empty", List.of());
        assertThat(JsonText.write(m)).isEqualTo("""
                {
                  "whole": 970,
                  "large": 1234.6,
                  "small": 0.1235,
                  "tiny": 0.00001235,
                  "nan": null,
                  "list": [
                    2,
                    0.5
                  ],
                  "empty": []
                }
                """);
    }

    @Test
    void somethingOtherThanAnObjectIsRefusedWithTheText() {
        assertThatThrownBy(() -> JsonText.parseObject("RESULT {\"ok\":1}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("RESULT {\"ok\":1}");
        assertThatThrownBy(() -> JsonText.parseObject("[1]")).isInstanceOf(IllegalArgumentException.class);
    }
}
