package dev.hbone.api;

import io.spiffe.spiffeid.SpiffeId;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class ProxyProtocolV2Test {
    @Test
    void encodesTcp4WithTheSpiffeIdTlv() {
        SpiffeId id = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/client");
        ByteBuffer b = ProxyProtocolV2.encode(new InetSocketAddress("10.0.0.1", 1234),
                                              new InetSocketAddress("10.0.0.2", 80), id);
        byte[] sig = new byte[12];
        b.get(sig);
        assertThat(sig).containsExactly(0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A);
        assertThat(b.get()).isEqualTo((byte) 0x21);
        assertThat(b.get()).isEqualTo((byte) 0x11);
        int len = b.getShort() & 0xFFFF;
        assertThat(len).isEqualTo(b.remaining());
        assertThat(b.getInt()).isEqualTo(0x0A000001);
        assertThat(b.getInt()).isEqualTo(0x0A000002);
        assertThat(b.getShort() & 0xFFFF).isEqualTo(1234);
        assertThat(b.getShort() & 0xFFFF).isEqualTo(80);
        assertThat(b.get() & 0xFF).isEqualTo(0xD0);
        byte[] value = new byte[b.getShort() & 0xFFFF];
        b.get(value);
        assertThat(new String(value, StandardCharsets.UTF_8)).isEqualTo(id.toString());
        assertThat(b.hasRemaining()).isFalse();
    }

    @Test
    void encodesTcp6() {
        ByteBuffer b = ProxyProtocolV2.encode(new InetSocketAddress("fd00::1", 1), new InetSocketAddress("fd00::2", 2),
                                              SpiffeId.parse("spiffe://td/x"));
        assertThat(b.get(13)).isEqualTo((byte) 0x21);
        assertThat(b.getShort(14) & 0xFFFF).isEqualTo(36 + 3 + "spiffe://td/x".length());
    }
}
