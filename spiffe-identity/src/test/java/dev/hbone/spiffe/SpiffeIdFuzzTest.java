package dev.hbone.spiffe;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Coverage-guided fuzzing (Jazzer) of the SPIFFE ID parsers, which read peer certificates' URI SANs, policy
 * principals and configuration. The only documented failure is {@link InvalidSpiffeIdException} naming a rule; an
 * accepted ID prints back as exactly the input and parses again to the same ID.
 *
 * <p>{@code mvn verify} replays the committed inputs under
 * {@code src/test/resources/dev/hbone/spiffe/SpiffeIdFuzzTestInputs/<method>/}; {@code JAZZER_FUZZ=1} fuzzes (see
 * ztunnel-reference/HARDENING.md).
 */
class SpiffeIdFuzzTest {
    @FuzzTest(maxDuration = "2m")
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        SpiffeId id;
        try {
            id = SpiffeIds.parse(text);
        } catch (InvalidSpiffeIdException e) {
            check(e.rule() != null && e.getMessage() != null && !e.getMessage().isBlank(), "refusal without a rule", text);
            check(!SpiffeIds.isValid(text), "isValid disagrees with parse", text);
            return;
        }
        check(id.toString().equals(text), "printed form differs from the input: " + id, text);
        check(SpiffeIds.parse(id.toString()).equals(id), "does not round-trip", text);
        check(SpiffeIds.isValid(text), "isValid disagrees with parse", text);
        Optional<KubernetesIdentity> k8s = SpiffeIds.kubernetesParts(id);
        if (k8s.isPresent()) {
            KubernetesIdentity k = k8s.get();
            check(SpiffeIds.kubernetes(k.trustDomain().getName(), k.namespace(), k.serviceAccount()).equals(id)
                  && k.toSpiffeId().equals(id), "Kubernetes parts do not rebuild the ID", text);
        }
    }

    @FuzzTest(maxDuration = "2m")
    void trustDomain(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        TrustDomain td;
        try {
            td = SpiffeIds.trustDomain(text);
        } catch (InvalidSpiffeIdException e) {
            check(e.rule() != null && e.getMessage() != null, "refusal without a rule", text);
            return;
        }
        check(SpiffeIds.trustDomain(td.getName()).equals(td) && SpiffeIds.trustDomain(("spiffe://" + td.getName())).equals(td),
              "trust domain does not round-trip: " + td, text);
        check(text.equals(td.getName()) || text.equals(("spiffe://" + td.getName())), "accepted a different spelling", text);
    }

    private static void check(boolean ok, String what, String input) {
        if (!ok) {
            throw new AssertionError(what + " for input " + quote(input));
        }
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().limit(300).forEach(c -> {
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
                sb.append((char) c);
            } else {
                sb.append(String.format("\\u{%x}", c));
            }
        });
        return sb.append(s.length() > 300 ? "...\"" : "\"").toString();
    }
}
