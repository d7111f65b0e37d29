package dev.hbone.examples;

import dev.hbone.netty.NettyHboneClient;
import dev.hbone.netty.NettyHboneServer;
import dev.hbone.netty.TcpForwarder;

import java.net.InetSocketAddress;

/** {@link EchoServer} and {@link EchoClient} in one process, on ephemeral ports: the quickest way to see HBONE work. */
public final class EchoDemo {
    private EchoDemo() { }

    public static void main(String[] args) throws Exception {
        try (Mesh mesh = Mesh.inMemory();
             EchoUpstream echo = new EchoUpstream(new InetSocketAddress("127.0.0.1", 0));
             NettyHboneServer server = NettyHboneServer.builder()
                     .bind(new InetSocketAddress("127.0.0.1", 0))
                     .tls(mesh.tls)
                     .identity(Mesh.ECHO)
                     .handler(TcpForwarder.builder().build())
                     .listener(new AccessLog())
                     .start();
             NettyHboneClient client = NettyHboneClient.builder().tls(mesh.tls).build()) {
            String authority = "127.0.0.1:" + echo.address().getPort();
            for (String message : args.length > 0 ? args : new String[] {"hello", "through", "HBONE"}) {
                System.out.println("echo: " + EchoClient.send(client, server.localAddress(), authority, message));
            }
        }
    }
}
