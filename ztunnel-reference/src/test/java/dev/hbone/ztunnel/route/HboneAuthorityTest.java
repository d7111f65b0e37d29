package dev.hbone.ztunnel.route;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HboneAuthorityTest {

    @ParameterizedTest
    @CsvSource({
            "10.0.0.1:80, ip, 10.0.0.1:80",
            "10.0.0.1:65535, ip, 10.0.0.1:65535",
            "[fd00::1]:8080, ip, [fd00:0:0:0:0:0:0:1]:8080",
            "[::1]:1, ip, [0:0:0:0:0:0:0:1]:1",
            "[::ffff:10.0.0.1]:80, ip, 10.0.0.1:80",
            "svc.ns.svc.cluster.local:80, host, svc.ns.svc.cluster.local:80",
            "localhost:15008, host, localhost:15008",
            "my_host-1.example:443, host, my_host-1.example:443"})
    void parsesAndFormats(String text, String kind, String formatted) {
        HboneAuthority a = HboneAuthority.parse(text).orElseThrow();
        assertThat(a).isInstanceOf(kind.equals("ip") ? HboneAuthority.IpPort.class : HboneAuthority.HostPort.class);
        assertThat(a).hasToString(formatted);
    }

    @ParameterizedTest
    @CsvSource({"10.0.0.1:80, 10.0.0.1, 80", "[fd00::1]:443, fd00::1, 443"})
    void ipAuthorityHasTheSocketAddress(String text, String ip, int port) throws Exception {
        HboneAuthority.IpPort a = (HboneAuthority.IpPort) HboneAuthority.parse(text).orElseThrow();
        assertThat(a.ip()).isEqualTo(InetAddress.getByName(ip));
        assertThat(a.port()).isEqualTo(port);
        assertThat(a.socketAddress().getPort()).isEqualTo(port);
    }
}
