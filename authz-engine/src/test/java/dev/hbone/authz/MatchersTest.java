package dev.hbone.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hbone.authz.internal.Cidr;
import dev.hbone.authz.internal.Ip;
import dev.hbone.authz.internal.PathMatcher;
import dev.hbone.authz.internal.StringMatcher;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class MatchersTest {

    @ParameterizedTest
    @CsvSource({
        "10.0.0.0/8, 10.255.1.2, true",
        "10.0.0.0/8, 11.0.0.0, false",
        "10.1.2.3, 10.1.2.3, true",
        "10.1.2.3, 10.1.2.4, false",
        "0.0.0.0/0, 1.2.3.4, true",
        "0.0.0.0/0, ::1, false",
        "10.0.0.1/8, 10.9.9.9, true",
        "2001:db8::/32, 2001:db8:ffff::1, true",
        "2001:db8::/32, 2001:db9::1, false",
        "::/0, 2001:db8::1, true",
        "::ffff:10.0.0.0/104, 10.1.1.1, true",
        "fe80::1/128, fe80::1, true",
        "192.168.1.0/24, 192.168.1.255, true",
        "192.168.1.0/24, 192.168.2.0, false",
    })
    void cidr(String cidr, String ip, boolean inside) {
        long[] a = Ip.parse(ip);
        assertThat(Cidr.parse(cidr).contains(a[0], a[1])).isEqualTo(inside);
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.0.0.300/8", "10.0.0/8", "10.0.0.1/33", "10.0.0.1/", "10.0.0.1/08", "01.2.3.4",
        "a.b.c.d", "::1/129", "example.com", "", "1.2.3.4.5", "[::1]", "fe80::1%eth0", "10.0.0.1/-1", "::g"})
    void badCidrs(String s) {
        assertThatThrownBy(() -> Cidr.parse(s)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @CsvSource({
        "/a/{*}/c, /a/b/c, true",
        "/a/{*}/c, /a//c, false",
        "/a/{*}/c, /a/b/x/c, false",
        "/a/{**}, /a, true",
        "/a/{**}, /a/b/c/d, true",
        "/a/{**}, /ab, false",
        "/{*}, /x?y=1, true",
        "/{*}, /, false",
        "/api/*, /api/v1?x, true",
        "*.css, /s/a.css, true",
        "*, /anything, true",
        "/exact, /exact?q, true",
        "/exact, /Exact, false",
    })
    void paths(String pattern, String path, boolean match) {
        assertThat(PathMatcher.of(pattern).matches(path)).isEqualTo(match);
    }

    @ParameterizedTest
    @CsvSource({
        "abc, abc, false, true",
        "abc, ABC, false, false",
        "abc, ABC, true, true",
        "ab*, abzz, false, true",
        "*zz, abzz, false, true",
        "*zz, z, false, false",
        "*, x, false, true",
        "*, '', false, false",
    })
    void strings(String pattern, String value, boolean ignoreCase, boolean match) {
        assertThat(StringMatcher.istio(pattern, ignoreCase).matches(value)).isEqualTo(match);
    }
}
