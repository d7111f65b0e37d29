package dev.hbone.ztunnel.accesslog;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.hbone.ztunnel.cli.AccessLogFormat;
import dev.hbone.ztunnel.metrics.Reporter;
import dev.hbone.ztunnel.metrics.ResponseFlag;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class AccessLogTest {
    private final Logger access = (Logger) LoggerFactory.getLogger(AccessLog.LOGGER_NAME);
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    @BeforeEach
    void capture() {
        appender.start();
        access.addAppender(appender);
        access.setLevel(Level.INFO);
    }

    @AfterEach
    void release() {
        access.detachAppender(appender);
        access.setLevel(null);
    }

    private static ConnectionRecord inbound(String authz, ResponseFlag flag, String error) {
        return new ConnectionRecord(Reporter.DESTINATION, new InetSocketAddress("127.0.0.1", 40000),
                new InetSocketAddress("127.0.0.2", 8080), "sleep", "default",
                "spiffe://cluster.local/ns/default/sa/sleep", "echo.default.svc.cluster.local", "echo", "default",
                "spiffe://cluster.local/ns/default/sa/echo", 12, 5, Duration.ofMillis(3), authz, flag, error);
    }

    @Test
    void textLineIsZtunnelLike() {
        new AccessLog(AccessLogFormat.TEXT).log(inbound("allow reason=allow-matched policy=default/allow rule=0",
                ResponseFlag.NONE, null));
        assertThat(appender.list).singleElement().satisfies(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.INFO);
            assertThat(e.getFormattedMessage()).matches("\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z\tinfo\taccess\t.*");
            assertThat(e.getFormattedMessage().substring(e.getFormattedMessage().indexOf("connection")))
                    .isEqualTo("connection complete\t"
                    + "src.addr=127.0.0.1:40000 src.workload=sleep src.namespace=default"
                    + " src.identity=\"spiffe://cluster.local/ns/default/sa/sleep\""
                    + " dst.addr=127.0.0.2:8080 dst.service=echo.default.svc.cluster.local dst.workload=echo"
                    + " dst.namespace=default dst.identity=\"spiffe://cluster.local/ns/default/sa/echo\""
                    + " direction=inbound bytes_sent=12 bytes_recv=5 duration=3ms"
                    + " authz=\"allow reason=allow-matched policy=default/allow rule=0\" response_flags=-");
        });
    }

    @Test
    void failuresAreWarningsWithFlagAndError() {
        new AccessLog(AccessLogFormat.TEXT).log(new ConnectionRecord(Reporter.SOURCE,
                new InetSocketAddress("127.0.0.1", 1), new InetSocketAddress("10.0.0.9", 80), null, null, null, null,
                null, null, null, 0, 0, Duration.ofNanos(250_000), "deny reason=deny-matched policy=ns/deny rule=1",
                ResponseFlag.DENY, "policy says \"no\""));
        assertThat(appender.list).singleElement().satisfies(e -> {
            assertThat(e.getLevel()).isEqualTo(Level.WARN);
            assertThat(e.getFormattedMessage()).contains("\twarn\taccess\t");
            assertThat(e.getFormattedMessage().substring(e.getFormattedMessage().indexOf("connection")))
                    .isEqualTo("connection complete\tsrc.addr=127.0.0.1:1"
                    + " dst.addr=10.0.0.9:80 direction=outbound bytes_sent=0 bytes_recv=0 duration=250us"
                    + " authz=\"deny reason=deny-matched policy=ns/deny rule=1\" response_flags=DENY"
                    + " error=\"policy says \\\"no\\\"\"");
        });
    }

    @Test
    void jsonLineIsOneObjectWithEscapedStrings() {
        new AccessLog(AccessLogFormat.JSON).log(inbound("allow reason=allow-matched", ResponseFlag.TLS_FAILURE,
                "bad \"cert\"\n\\ \u0001 \u2028 end"));
        assertThat(appender.list).singleElement().satisfies(e -> assertThat(e.getFormattedMessage())
                .matches("\\{\"level\":\"warn\",\"time\":\"[0-9T:.-]+Z\",\"scope\":\"access\",\"message\":.*"));
        String line = new AccessLog(AccessLogFormat.JSON).line(inbound("allow reason=allow-matched",
                ResponseFlag.TLS_FAILURE, "bad \"cert\"\n\\ \u0001 \u2028 end"),
                java.time.Instant.parse("2026-11-22T00:15:20.081Z"), "warn");
        assertThat(line).isEqualTo(
                "{\"level\":\"warn\",\"time\":\"2026-11-22T00:15:20.081Z\",\"scope\":\"access\","
                        + "\"message\":\"connection complete\",\"src.addr\":\"127.0.0.1:40000\",\"src.workload\":\"sleep\","
                        + "\"src.namespace\":\"default\","
                        + "\"src.identity\":\"spiffe://cluster.local/ns/default/sa/sleep\","
                        + "\"dst.addr\":\"127.0.0.2:8080\",\"dst.service\":\"echo.default.svc.cluster.local\","
                        + "\"dst.workload\":\"echo\",\"dst.namespace\":\"default\","
                        + "\"dst.identity\":\"spiffe://cluster.local/ns/default/sa/echo\",\"direction\":\"inbound\","
                        + "\"bytes_sent\":12,\"bytes_recv\":5,\"duration\":\"3ms\","
                        + "\"authz\":\"allow reason=allow-matched\",\"response_flags\":\"TLS_FAILURE\","
                        + "\"error\":\"bad \\\"cert\\\"\\n\\\\ \\u0001 \\u2028 end\"}");
    }

    @Test
    void nothingIsFormattedWhenTheAccessLoggerIsOff() {
        access.setLevel(Level.OFF);
        new AccessLog(AccessLogFormat.JSON).log(inbound("", ResponseFlag.NONE, ""));
        assertThat(appender.list).isEmpty();
    }

    @Test
    void ipv6AddressesAreBracketed() {
        String line = new AccessLog(AccessLogFormat.TEXT).format(new ConnectionRecord(Reporter.SOURCE,
                new InetSocketAddress("::1", 5), new InetSocketAddress("::1", 6), "", "", "", "", "", "", "", 1, 2,
                Duration.ofMillis(12), "", ResponseFlag.NONE, ""));
        assertThat(line).contains("src.addr=[0:0:0:0:0:0:0:1]:5", "duration=12ms").doesNotContain("authz");
    }
}
