package dev.hbone.examples;

import dev.hbone.netty.NettyHboneClient;
import dev.hbone.netty.NettyHboneServer;
import dev.hbone.netty.TcpForwarder;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;

import static org.assertj.core.api.Assertions.assertThat;

/** Keeps the example honest: the echo answers through a real HBONE tunnel. */
class EchoDemoTest {
    @Test
    void echoesThroughHbone() throws Exception {
        try (Mesh mesh = Mesh.inMemory();
             EchoUpstream echo = new EchoUpstream(new InetSocketAddress("127.0.0.1", 0));
             NettyHboneServer server = NettyHboneServer.builder().bind(new InetSocketAddress("127.0.0.1", 0))
                                                       .tls(mesh.tls).identity(Mesh.ECHO)
                                                       .handler(TcpForwarder.builder().build()).start();
             NettyHboneClient client = NettyHboneClient.builder().tls(mesh.tls).build()) {
            assertThat(EchoClient.send(client, server.localAddress(), "127.0.0.1:" + echo.address().getPort(), "hi"))
                    .isEqualTo("hi");
        }
    }
}
