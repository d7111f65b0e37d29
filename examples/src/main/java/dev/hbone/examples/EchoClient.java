package dev.hbone.examples;

import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelRequest;
import dev.hbone.netty.NettyHboneClient;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

/**
 * Sends a message through HBONE to the echo service and prints the answer.
 * Usage: {@code EchoClient [ca-dir] [hbone-port] [echo-port] [message]}.
 */
public final class EchoClient {
    private EchoClient() { }

    public static void main(String[] args) throws Exception {
        Path caDir = Path.of(args.length > 0 ? args[0] : "target/example-ca");
        int hbonePort = args.length > 1 ? Integer.parseInt(args[1]) : 15008;
        int echoPort = args.length > 2 ? Integer.parseInt(args[2]) : 9000;
        String message = args.length > 3 ? args[3] : "hello through the mesh";
        try (Mesh mesh = Mesh.open(caDir); NettyHboneClient client = NettyHboneClient.builder().tls(mesh.tls).build()) {
            System.out.println(send(client, new InetSocketAddress("127.0.0.1", hbonePort), "127.0.0.1:" + echoPort,
                                    message));
        }
    }

    /** Opens a tunnel, writes {@code message}, half-closes, and returns everything the far end sent back. */
    static String send(NettyHboneClient client, InetSocketAddress hbone, String authority, String message)
            throws Exception {
        Tunnel tunnel = client.open(TunnelRequest.builder()
                                                 .authority(authority)
                                                 .peerAddress(hbone)
                                                 .sourceIdentity(Mesh.CLIENT)
                                                 .expectedIdentity(Mesh.ECHO)
                                                 .build()).get(10, TimeUnit.SECONDS);
        CompletableFuture<String> answer = new CompletableFuture<>();
        tunnel.inbound().subscribe(new Flow.Subscriber<>() {
            private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            private Flow.Subscription subscription;

            @Override public void onSubscribe(Flow.Subscription s) {
                subscription = s;
                s.request(1);
            }

            @Override public void onNext(ByteBuffer item) {
                bytes.write(item.array(), item.arrayOffset() + item.position(), item.remaining());
                subscription.request(1);
            }

            @Override public void onError(Throwable t) {
                answer.completeExceptionally(t);
            }

            @Override public void onComplete() {
                answer.complete(bytes.toString(StandardCharsets.UTF_8));
            }
        });
        tunnel.write(ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8))).get(10, TimeUnit.SECONDS);
        tunnel.shutdownOutput(); // our FIN; the echo answers and sends its own
        return answer.get(10, TimeUnit.SECONDS);
    }
}
