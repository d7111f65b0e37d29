package dev.hbone.benchmarks.e2e;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The harness's JSON, by Jackson: the results file (indented, measured values rounded to what they can tell), and the
 * one-line {@code RESULT}/{@code DONE} replies of the load client, read back as maps.
 */
final class JsonText {
    private static final ObjectMapper MAPPER =
            JsonMapper.builder().enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN).build();
    private static final ObjectWriter INDENTED = MAPPER.writer(new DefaultPrettyPrinter(
            Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                    .withObjectEmptySeparator("")
                    .withArrayEmptySeparator(""))
            .withObjectIndenter(new DefaultIndenter("  ", "\n"))
            .withArrayIndenter(new DefaultIndenter("  ", "\n")));
    private static final TypeReference<LinkedHashMap<String, Object>> OBJECT = new TypeReference<>() { };

    private JsonText() { }

    /** Returns {@code value} indented, with a final line break; doubles rounded (see {@link #rounded}). */
    static String write(Object value) {
        try {
            return INDENTED.writeValueAsString(rounded(value)) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write " + value.getClass().getName() + " as JSON", e);
        }
    }

    /** Returns {@code value} as one line of JSON (doubles as they are). */
    static String line(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write " + value.getClass().getName() + " as JSON", e);
        }
    }

    /** Parses a JSON object (strict: anything else is an {@link IllegalArgumentException} naming the problem). */
    static Map<String, Object> parseObject(String text) {
        try {
            return MAPPER.readValue(text, OBJECT);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a JSON object: " + e.getOriginalMessage() + " in: " + text, e);
        }
    }

    /**
     * Whole doubles become integers, others keep 4 significant digits (one decimal from 100 up): the results file
     * reports measurements, not float noise. NaN and infinities become {@code null}.
     */
    static Object rounded(Object v) {
        if (v instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(k, rounded(x)));
            return out;
        }
        if (v instanceof List<?> l) {
            List<Object> out = new ArrayList<>(l.size());
            l.forEach(x -> out.add(rounded(x)));
            return out;
        }
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (!Double.isFinite(d)) {
                return null;
            }
            if (d == Math.rint(d) && Math.abs(d) < 1e15) {
                return (long) d;
            }
            BigDecimal b = BigDecimal.valueOf(d); // from the shortest decimal form, as Formatter rounds
            return Math.abs(d) >= 100 ? b.setScale(1, RoundingMode.HALF_UP)
                    : b.round(new MathContext(4, RoundingMode.HALF_UP)).stripTrailingZeros();
        }
        return v;
    }
}
