package dev.hbone.netty.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Connections from a fixed source IP (a workload's address) must not run out of local ports when they end in
 * TIME_WAIT on our side: more connections than the ephemeral port range holds, opened and closed (ours first) one
 * after the other from one source IP, all succeed. With {@code bind(ip, 0)} choosing the port at bind time the kernel
 * refuses the bind once every port of the range has a TIME_WAIT ({@code EADDRINUSE} after ~28 000 here).
 */
class SourceAddressPortsTest {
    private static final String SOURCE = "127.0.42.1";
    private static final String SERVER = "127.0.42.2";

    @Test
    void moreConnectionsThanThePortRangeFromOneSourceIp() throws Exception {
        assumeTrue(Transports.isEpoll(), "IP_BIND_ADDRESS_NO_PORT needs the epoll transport");
        // (/proc files report size 0: read them as a stream, not with readString)
        String[] range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim()
                .split("\\s+");
        int ports = Integer.parseInt(range[1]) - Integer.parseInt(range[0]) + 1;
        assumeTrue(ports <= 40_000, "a port range of " + ports + " would make this test long");
        int connections = ports + 2_000;

        EventLoopGroup group = Transports.newGroup(1, "ports-test");
        try (ServerSocket server = new ServerSocket(0, 1024, InetAddress.getByName(SERVER))) {
            // The server closes once it has read our FIN: the TIME_WAIT is ours, on the source IP's port.
            Thread acceptor = new Thread(() -> {
                while (!server.isClosed()) {
                    try (Socket s = server.accept()) {
                        s.getInputStream().readAllBytes();
                    } catch (IOException closed) {
                        // the test is over (or one connection broke: the client side asserts)
                    }
                }
            }, "ports-test-server");
            acceptor.setDaemon(true);
            acceptor.start();
            InetAddress source = InetAddress.getByName(SOURCE);
            int made = 0;
            try {
                for (; made < connections; made++) {
                    Bootstrap b = new Bootstrap().group(group).channel(Transports.socketChannel())
                            .handler(new ChannelInboundHandlerAdapter());
                    var connect = Transports.connect(b, server.getLocalSocketAddress(), source);
                    assertThat(connect.await(10, TimeUnit.SECONDS)).as("connection %d made", made).isTrue();
                    assertThat(connect.cause()).as("connection %d of %d (port range %d)", made, connections, ports)
                                               .isNull();
                    assertThat(((InetSocketAddress) connect.channel().localAddress()).getAddress()).isEqualTo(source);
                    connect.channel().close().sync();
                }
            } finally {
                server.close();
            }
            assertThat(made).isEqualTo(connections);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
