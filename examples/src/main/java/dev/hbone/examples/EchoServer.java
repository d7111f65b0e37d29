package dev.hbone.examples;

import dev.hbone.netty.NettyHboneServer;
import dev.hbone.netty.TcpForwarder;

import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * An echo service behind an HBONE server. Usage: {@code EchoServer [ca-dir] [hbone-port] [echo-port]}
 * (defaults {@code target/example-ca 15008 9000}). Clients CONNECT to {@code 127.0.0.1:<echo-port>}.
 */
public final class EchoServer {
    private EchoServer() { }

    public static void main(String[] args) throws Exception {
        Path caDir = Path.of(args.length > 0 ? args[0] : "target/example-ca");
        int hbonePort = args.length > 1 ? Integer.parseInt(args[1]) : 15008;
        int echoPort = args.length > 2 ? Integer.parseInt(args[2]) : 9000;
        Mesh mesh = Mesh.open(caDir);
        EchoUpstream echo = new EchoUpstream(new InetSocketAddress("127.0.0.1", echoPort));
        NettyHboneServer server = NettyHboneServer.builder()
                .bind(new InetSocketAddress("127.0.0.1", hbonePort))
                .tls(mesh.tls)
                .identity(Mesh.ECHO)
                .handler(TcpForwarder.builder()
                                     // Only our own client identity may reach the echo service: others get 401.
                                     .authorizer(t -> t.info().peerIdentity().equals(Mesh.CLIENT))
                                     .build())
                .listener(new AccessLog())
                .start();
        System.out.printf("HBONE server %s (as %s) -> echo %s; CA in %s%n", server.localAddress(), Mesh.ECHO,
                          echo.address(), caDir.toAbsolutePath());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close(); // GOAWAY, let open tunnels finish, force-close after 5 s
            mesh.close();
        }));
        Thread.currentThread().join();
    }
}
