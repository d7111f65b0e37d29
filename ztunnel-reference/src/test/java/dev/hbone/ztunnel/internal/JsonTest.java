package dev.hbone.ztunnel.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.spiffe.spiffeid.SpiffeId;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class JsonTest {
    record Listener(InetSocketAddress address, Optional<String> waypoint, Optional<Integer> capacity,
            Duration timeout, SpiffeId identity, Path file, Instant since, List<String> empty) {
    }

    @Test
    void configDumpShapesAreWrittenAsOperatorsReadThem() throws Exception {
        Map<String, Object> dump = new LinkedHashMap<>();
        dump.put("listener", new Listener(new InetSocketAddress(InetAddress.getByName("::1"), 15008),
                Optional.empty(), Optional.of(3), Duration.ofSeconds(10),
                SpiffeId.parse("spiffe://cluster.local/ns/default/sa/echo"), Path.of("/etc/ztunnel/config.yaml"),
                Instant.parse("2026-12-02T00:00:00Z"), List.of()));
        dump.put("ports", Map.of(80, 8080));
        dump.put("address", InetAddress.getByName("127.0.0.2"));
        dump.put("note", "line\u2028separator");
        dump.put("nothing", Map.of());
        assertThat(Json.write(dump)).isEqualTo("""
                {
                  "listener": {
                    "address": "[0:0:0:0:0:0:0:1]:15008",
                    "waypoint": null,
                    "capacity": 3,
                    "timeout": "10000ms",
                    "identity": "spiffe://cluster.local/ns/default/sa/echo",
                    "file": "/etc/ztunnel/config.yaml",
                    "since": "2026-12-02T00:00:00Z",
                    "empty": []
                  },
                  "ports": {
                    "80": 8080
                  },
                  "address": "127.0.0.2",
                  "note": "line\\u2028separator",
                  "nothing": {}
                }
                """);
    }
}
