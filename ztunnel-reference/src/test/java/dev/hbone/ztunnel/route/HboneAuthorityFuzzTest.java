package dev.hbone.ztunnel.route;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hbone.api.Authority;
import dev.hbone.ztunnel.internal.IpAddresses;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;

/**
 * Coverage-guided fuzzing (Jazzer) of the two parsers every CONNECT {@code :authority} goes through: hbone-api's
 * {@link Authority} (the HBONE server's request validation) and the router's {@link HboneAuthority}. Neither may
 * throw (malformed is empty); what each accepts prints back to a form it parses to the same value; and where both
 * accept, they read the same IP (or host name) and port, so the server never admits a CONNECT whose target the
 * router would read differently.
 *
 * <p>{@code mvn verify} replays the inputs under
 * {@code src/test/resources/dev/hbone/ztunnel/route/HboneAuthorityFuzzTestInputs/parse/}.
 */
class HboneAuthorityFuzzTest {
    @FuzzTest(maxDuration = "2m")
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        Optional<Authority> server = Authority.parse(text);
        Optional<HboneAuthority> router = HboneAuthority.parse(text);
        server.ifPresent(a -> check(Authority.parse(a.toString()).equals(server), "Authority does not round-trip: " + a, text));
        router.ifPresent(a -> check(HboneAuthority.parse(a.toString()).equals(router),
                                    "HboneAuthority does not round-trip: " + a, text));
        if (server.isPresent() && server.get().ipLiteral()) {
            Authority a = server.get();
            check(router.isPresent() && router.get() instanceof HboneAuthority.IpPort,
                  "the server accepts an IP authority the router refuses", text);
            HboneAuthority.IpPort ip = (HboneAuthority.IpPort) router.get();
            Optional<InetAddress> serverIp = IpAddresses.parse(a.host());
            check(serverIp.isPresent() && serverIp.get().equals(ip.ip()) && a.port() == ip.port(),
                  "the server and the router read different targets: " + a + " vs " + ip, text);
        }
        if (server.isPresent() && !server.get().ipLiteral() && router.isPresent()) {
            check(router.get() instanceof HboneAuthority.HostPort h
                  && h.hostname().toLowerCase(Locale.ROOT).equals(server.get().host())
                  && h.port() == server.get().port(), "the server and the router read different hosts", text);
        }
    }

    private static void check(boolean ok, String what, String input) {
        if (!ok) {
            throw new AssertionError(what + " (input \"" + input + "\")");
        }
    }
}
