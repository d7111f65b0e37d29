package dev.hbone.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The loader never throws on arbitrary input: a seeded mutator over every valid document of the conformance
 * table, plus random bytes. Whatever loads must also compile for every enforcement point.
 */
class LoaderFuzzTest {
    private static final String[] TOKENS = {"{", "}", "[", "]", ":", "- ", "\n", "  ", "*", "&a ", "*a", "!!str ",
        "!!binary ", "'", "\"", "#", "---\n", "...\n", "?", ",", "|", ">", "~", "null", "true", "0x1F", "1e9",
        "-1", "99999", "10.0.0.300/8", "::1/129", "{*}", "{**}", "request.headers[", "]", "spiffe://", "\t", "\u0000",
        "\uFFFF", "ports", "principals", "rules", "from", "source", "when", "key", "values", "STRICT",
        "portLevelMtls", "selector", "matchLabels", "targetRefs", "kind: List\nitems:\n", "presence: {}"};

    static List<String> seeds() throws IOException {
        try (InputStream in = LoaderFuzzTest.class.getResourceAsStream("/conformance/cases.yaml")) {
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> all = (List<Map<String, Object>>) new Load(LoadSettings.builder().build())
                    .loadFromString(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            List<String> out = new ArrayList<>();
            for (Map<String, Object> c : all) {
                if (!((String) c.get("policies")).isEmpty()) {
                    out.add((String) c.get("policies"));
                }
            }
            return out;
        }
    }

    @Test
    void mutatedDocumentsNeverCrashTheLoader() throws IOException {
        List<String> seeds = seeds();
        Random random = new Random(20261121L);
        PolicyLoader loader = new PolicyLoader();
        int refused = 0;
        for (int i = 0; i < 6000; i++) {
            String input = mutate(seeds.get(random.nextInt(seeds.size())), random);
            LoadResult r = check(loader, input);
            refused += r.errors().size();
        }
        assertThat(refused).as("the mutator must produce refusals").isGreaterThan(1000);
    }

    @Test
    void randomBytesNeverCrashTheLoader() {
        Random random = new Random(42);
        PolicyLoader loader = new PolicyLoader();
        for (int i = 0; i < 3000; i++) {
            byte[] b = new byte[random.nextInt(300)];
            random.nextBytes(b);
            check(loader, new String(b, StandardCharsets.ISO_8859_1));
            check(loader, new String(b, StandardCharsets.UTF_8));
        }
    }

    @Test
    void hostileYamlIsRefusedNotFatal() {
        PolicyLoader loader = new PolicyLoader();
        StringBuilder deep = new StringBuilder();
        for (int i = 0; i < 5000; i++) {
            deep.append('[');
        }
        check(loader, deep.toString());
        check(loader, "a: &a [*a, *a]\nspec: *a\n");
        StringBuilder laughs = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 12; i++) {
            laughs.append("a").append(i).append(": &a").append(i).append(" [*a").append(i - 1).append(", *a")
                    .append(i - 1).append(", *a").append(i - 1).append(", *a").append(i - 1).append("]\n");
        }
        check(loader, laughs.toString());
    }

    private static LoadResult check(PolicyLoader loader, String input) {
        LoadResult[] out = new LoadResult[1];
        assertThatCode(() -> out[0] = loader.loadString("fuzz.yaml", input)).as(input).doesNotThrowAnyException();
        for (LoadError e : out[0].errors()) {
            assertThat(e.message()).as(input).isNotBlank();
        }
        for (EnforcementPoint ep : EnforcementPoint.values()) {
            assertThatCode(() -> out[0].policies().compile(CompileOptions.ztunnel().withEnforcementPoint(ep)))
                    .as(input).doesNotThrowAnyException();
        }
        return out[0];
    }

    private static String mutate(String s, Random random) {
        StringBuilder sb = new StringBuilder(s);
        int n = 1 + random.nextInt(4);
        for (int i = 0; i < n; i++) {
            int pos = sb.length() == 0 ? 0 : random.nextInt(sb.length());
            switch (random.nextInt(5)) {
                case 0 -> sb.insert(pos, TOKENS[random.nextInt(TOKENS.length)]);
                case 1 -> sb.delete(pos, Math.min(sb.length(), pos + 1 + random.nextInt(8)));
                case 2 -> sb.setCharAt(Math.min(pos, Math.max(0, sb.length() - 1)), (char) (32 + random.nextInt(95)));
                case 3 -> {
                    int from = random.nextInt(Math.max(1, sb.length()));
                    String piece = sb.substring(from, Math.min(sb.length(), from + random.nextInt(40)));
                    sb.insert(pos, piece);
                }
                default -> {
                    // swap two lines: breaks indentation and nesting
                    String[] lines = sb.toString().split("\n", -1);
                    if (lines.length > 1) {
                        int a = random.nextInt(lines.length);
                        int b = random.nextInt(lines.length);
                        String t = lines[a];
                        lines[a] = lines[b];
                        lines[b] = t;
                        sb.setLength(0);
                        sb.append(String.join("\n", lines));
                    }
                }
            }
            if (sb.length() == 0) {
                break;
            }
        }
        return sb.toString();
    }
}
