package dev.hbone.ztunnel.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Decoding what getsockopt(SO_ORIGINAL_DST) writes; the call itself is exercised by NamespaceMeshIT. */
class SoOriginalDstTest {
    private static ByteBuffer sockaddr(int size, short family) {
        ByteBuffer b = ByteBuffer.allocate(size);
        b.order(ByteOrder.nativeOrder()).putShort(0, family); // sa_family: host order
        return b.order(ByteOrder.BIG_ENDIAN);                  // port and address: network order
    }

    @Test
    void decodesSockaddrIn() {
        ByteBuffer b = sockaddr(16, (short) 2);
        b.putShort(2, (short) 8080);
        b.put(4, (byte) 10).put(5, (byte) 251).put(6, (byte) 2).put(7, (byte) 2);
        assertThat(SoOriginalDst.decode(b.array())).isEqualTo(new InetSocketAddress("10.251.2.2", 8080));
    }

    @Test
    void decodesSockaddrIn6WithAHighPort() {
        ByteBuffer b = sockaddr(28, (short) 10);
        b.putShort(2, (short) 65000);
        b.put(8, (byte) 0xfd).put(23, (byte) 7);
        assertThat(SoOriginalDst.decode(b.array())).isEqualTo(new InetSocketAddress("fd00::7", 65000));
    }

    @Test
    void refusesAnUnknownFamilyNamingIt() {
        assertThatThrownBy(() -> SoOriginalDst.decode(sockaddr(16, (short) 1).array()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("address family 1");
    }

    @Test
    void aNonSocketDescriptorIsAnErrorNamingTheErrno() {
        if (!SoOriginalDst.isAvailable()) {
            return; // not Linux: the call is not possible (covered by isAvailable)
        }
        assertThatThrownBy(() -> SoOriginalDst.of(0, false)) // stdin is not a socket: ENOTSOCK (88)
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("SO_ORIGINAL_DST")
                .hasMessageContaining("errno");
    }
}
