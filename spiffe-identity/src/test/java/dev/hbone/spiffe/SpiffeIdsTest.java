package dev.hbone.spiffe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.hbone.spiffe.InvalidSpiffeIdException.Rule;
import io.spiffe.spiffeid.SpiffeId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SpiffeIdsTest {

    @ParameterizedTest
    @ValueSource(strings = {
        "spiffe://example.org/workload",
        "spiffe://cluster.local/ns/default/sa/bookinfo-productpage",
        "spiffe://a-b_c.d9/A/b.c/d-e_F/..a/a..",
        "spiffe://x/.../y",
        "spiffe://1.2.3.4/p",
    })
    void acceptsValidIds(String id) {
        SpiffeId parsed = SpiffeIds.parse(id);
        assertThat(parsed.toString()).isEqualTo(id);
        assertThat(SpiffeIds.isValid(id)).isTrue();
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "''|EMPTY",
        "http://example.org/x|WRONG_SCHEME",
        "SPIFFE://example.org/x|WRONG_SCHEME",
        "spiffe:/example.org/x|WRONG_SCHEME",
        "example.org/x|WRONG_SCHEME",
        "spiffe:///x|MISSING_TRUST_DOMAIN",
        "spiffe://|MISSING_TRUST_DOMAIN",
        "spiffe://Example.org/x|BAD_TRUST_DOMAIN_CHAR",
        "spiffe://exa mple.org/x|BAD_TRUST_DOMAIN_CHAR",
        "spiffe://example.org:8080/x|PORT",
        "spiffe://user@example.org/x|USERINFO",
        "spiffe://user:pw@example.org/x|PORT",
        "spiffe://example.org/x?q=1|QUERY",
        "spiffe://example.org?q=1|QUERY",
        "spiffe://example.org/x#frag|FRAGMENT",
        "spiffe://example.org/x%20y|PERCENT_ENCODING",
        "spiffe://ex%41mple.org/x|PERCENT_ENCODING",
        "spiffe://example.org|MISSING_PATH",
        "spiffe://example.org/|TRAILING_SLASH",
        "spiffe://example.org/x/|TRAILING_SLASH",
        "spiffe://example.org//x|EMPTY_SEGMENT",
        "spiffe://example.org/./x|DOT_SEGMENT",
        "spiffe://example.org/x/..|DOT_SEGMENT",
        "spiffe://example.org/x/../y|DOT_SEGMENT",
        "spiffe://example.org/x y|BAD_PATH_CHAR",
        "spiffe://example.org/x$y|BAD_PATH_CHAR",
        "spiffe://example.org/ü|BAD_PATH_CHAR",
    })
    void refusesInvalidIdsNamingTheRule(String id, Rule rule) {
        InvalidSpiffeIdException e = catchThrowableOfType(InvalidSpiffeIdException.class, () -> SpiffeIds.parse(id));
        assertThat(e).as(id).isNotNull();
        assertThat(e.rule()).isEqualTo(rule);
        assertThat(e.value()).isEqualTo(id);
        assertThat(e.getMessage()).startsWith(rule.name());
        assertThat(e).isInstanceOf(io.spiffe.exception.InvalidSpiffeIdException.class);
        assertThat(SpiffeIds.isValid(id)).isFalse();
    }

    @Test
    void enforcesLengthLimits() {
        String prefix = "spiffe://example.org/";
        String longest = prefix + "a".repeat(SpiffeIds.MAX_ID_LENGTH - prefix.length());
        assertThat(SpiffeIds.parse(longest).toString()).hasSize(2048);
        assertThat(catchThrowableOfType(InvalidSpiffeIdException.class, () -> SpiffeIds.parse(longest + "a")).rule())
                .isEqualTo(Rule.TOO_LONG);
        String td = "a".repeat(256);
        assertThat(catchThrowableOfType(InvalidSpiffeIdException.class,
                () -> SpiffeIds.parse("spiffe://" + td + "/x")).rule()).isEqualTo(Rule.TRUST_DOMAIN_TOO_LONG);
        assertThat(SpiffeIds.parse("spiffe://" + "a".repeat(255) + "/x")).isNotNull();
    }

    @Test
    void kubernetesRoundTrip() {
        SpiffeId id = SpiffeIds.kubernetes("cluster.local", "default", "sleep");
        assertThat(id.toString()).isEqualTo("spiffe://cluster.local/ns/default/sa/sleep");
        KubernetesIdentity parts = SpiffeIds.kubernetesParts(id).orElseThrow();
        assertThat(parts.trustDomain().getName()).isEqualTo("cluster.local");
        assertThat(parts.namespace()).isEqualTo("default");
        assertThat(parts.serviceAccount()).isEqualTo("sleep");
        assertThat(parts.toSpiffeId()).isEqualTo(id);
    }

    @Test
    void kubernetesRefusesBadParts() {
        assertThatThrownBy(() -> SpiffeIds.kubernetes("cluster.local", "", "sa"))
                .isInstanceOfSatisfying(InvalidSpiffeIdException.class,
                        e -> assertThat(e.rule()).isEqualTo(Rule.EMPTY_SEGMENT));
        assertThatThrownBy(() -> SpiffeIds.kubernetes("cluster.local", "ns", "a/b"))
                .isInstanceOf(InvalidSpiffeIdException.class);
        assertThatThrownBy(() -> SpiffeIds.kubernetes("Cluster.local", "ns", "sa"))
                .isInstanceOfSatisfying(InvalidSpiffeIdException.class,
                        e -> assertThat(e.rule()).isEqualTo(Rule.BAD_TRUST_DOMAIN_CHAR));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "spiffe://td/ns/a", "spiffe://td/ns/a/sa", "spiffe://td/ns/a/sa/b/c", "spiffe://td/x/ns/a/sa/b",
        "spiffe://td/ns/a/b/sa/c", "spiffe://td/sa/b/ns/a",
    })
    void kubernetesPartsOnlyForTheExactForm(String id) {
        assertThat(SpiffeIds.kubernetesParts(SpiffeIds.parse(id))).isEmpty();
    }

    @Test
    void trustDomains() {
        assertThat(SpiffeIds.trustDomain("example.org").getName()).isEqualTo("example.org");
        assertThat(SpiffeIds.trustDomain("spiffe://example.org").getName()).isEqualTo("example.org");
        assertThat(catchThrowableOfType(InvalidSpiffeIdException.class, () -> SpiffeIds.trustDomain("Ex.org")).rule())
                .isEqualTo(Rule.BAD_TRUST_DOMAIN_CHAR);
        assertThat(catchThrowableOfType(InvalidSpiffeIdException.class, () -> SpiffeIds.trustDomain("ex.org:1")).rule())
                .isEqualTo(Rule.PORT);
        assertThat(catchThrowableOfType(InvalidSpiffeIdException.class, () -> SpiffeIds.trustDomain("")).rule())
                .isEqualTo(Rule.MISSING_TRUST_DOMAIN);
        assertThatThrownBy(() -> SpiffeIds.trustDomain("spiffe://example.org/x"))
                .isInstanceOf(InvalidSpiffeIdException.class);
    }

    @Test
    void nullIsRefusedWithItsName() {
        assertThatThrownBy(() -> SpiffeIds.parse(null)).isInstanceOf(NullPointerException.class).hasMessage("id");
    }
}
