package dev.hbone.netty;

import dev.hbone.api.TunnelListener;
import dev.hbone.netty.testing.HboneTestEnv;
import dev.hbone.netty.testing.RawH2Client;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The server's keep-alive: a client that stops answering PINGs is closed; one that answers is kept. */
class KeepaliveTest {
    private HboneTestEnv env;
    private NettyHboneServer server;

    @BeforeEach
    void setUp() throws Exception {
        env = new HboneTestEnv();
        server = env.server(TcpForwarder.builder().build(), TunnelListener.NOOP, env.serverId,
                            b -> b.ping(Duration.ofMillis(100), Duration.ofMillis(300)));
    }

    @AfterEach
    void tearDown() throws Exception {
        env.close();
    }

    @Test
    void serverClosesAConnectionWhosePingsGoUnanswered() throws Exception {
        try (RawH2Client mute = RawH2Client.connect(env, server.localAddress(), false)) {
            assertThat(mute.connectionEvents.poll(20, TimeUnit.SECONDS)).isInstanceOf(RawH2Client.Ping.class);
            assertThat(mute.channel().closeFuture().await(20, TimeUnit.SECONDS))
                    .as("closed by the server's keep-alive").isTrue();
        }
    }

    @Test
    void serverKeepsAConnectionThatAnswersPings() throws Exception {
        try (RawH2Client answering = RawH2Client.connect(env, server.localAddress(), true)) {
            // Five PINGs at 100 ms span more than the 300 ms timeout: each was answered, so the connection stays.
            for (int i = 0; i < 5; i++) {
                assertThat(answering.connectionEvents.poll(20, TimeUnit.SECONDS)).isInstanceOf(RawH2Client.Ping.class);
            }
            assertThat(answering.channel().isActive()).isTrue();
            RawH2Client.RawStream s = answering.open(RawH2Client.connect(env.echo.authority()), false, null);
            Object answer = s.next();
            assertThat(answer).isInstanceOf(io.netty.handler.codec.http2.Http2HeadersFrame.class);
        }
    }
}
