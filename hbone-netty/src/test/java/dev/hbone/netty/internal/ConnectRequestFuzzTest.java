package dev.hbone.netty.internal;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hbone.api.Authority;
import dev.hbone.netty.HboneDefaults;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Coverage-guided fuzzing (Jazzer) of the server's CONNECT handling: the bytes of a HEADERS frame's header block go
 * through the HPACK decoder the server's codec uses (header validation on, HBONE's 64 KiB header list limit) and
 * then through {@link ConnectRequests#check}, HBONE's request rules. Input: first byte's low bit = END_STREAM, the
 * rest the HPACK block.
 *
 * <p>Documented outcomes only: an {@link Http2Exception} from the decoder (the codec turns it into a stream or
 * connection error), then a verdict — never an exception from our rules. An accepted request is a CONNECT without
 * {@code :scheme}/{@code :path} and without END_STREAM whose authority parses again to the same value, and whose
 * regular headers are all in the map handed to the tunnel handler. {@code mvn verify} replays the inputs under
 * {@code src/test/resources/dev/hbone/netty/internal/ConnectRequestFuzzTestInputs/check/}.
 */
class ConnectRequestFuzzTest {
    @FuzzTest(maxDuration = "2m")
    void check(byte[] input) {
        if (input.length == 0) {
            return;
        }
        boolean endOfStream = (input[0] & 1) != 0;
        DefaultHttp2HeadersDecoder decoder =
                new DefaultHttp2HeadersDecoder(true, HboneDefaults.SERVER_MAX_HEADER_LIST_SIZE);
        ByteBuf block = Unpooled.wrappedBuffer(input, 1, input.length - 1);
        Http2Headers headers;
        try {
            headers = decoder.decodeHeaders(1, block);
        } catch (Http2Exception e) {
            return;
        } finally {
            block.release();
        }
        ConnectRequests.Verdict verdict = ConnectRequests.check(headers, endOfStream);
        if (verdict instanceof ConnectRequests.Malformed m) {
            require(!m.reason().isBlank(), "malformed without a reason");
        } else if (verdict instanceof ConnectRequests.Refused r) {
            require(!r.reason().isBlank(), "refused without a reason");
        } else {
            ConnectRequests.Accepted a = (ConnectRequests.Accepted) verdict;
            require(!endOfStream && "CONNECT".contentEquals(headers.method()) && headers.scheme() == null
                    && headers.path() == null, "accepted a request that is not a bare CONNECT: " + headers);
            require(Authority.parse(a.authority().toString()).equals(java.util.Optional.of(a.authority()))
                    && a.authorityText().contentEquals(headers.authority()), "authority does not round-trip: " + a);
            headers.names().stream().filter(n -> n.charAt(0) != ':')
                   .forEach(n -> require(a.headers().containsKey(n.toString()), "header " + n + " lost"));
        }
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    /**
     * Writes the seed inputs (run once, output committed): {@code ./mvnw -B -o -pl hbone-netty -am test
     * -Dtest=ConnectRequestFuzzTest -Dfuzz.writeSeeds=true -Dsurefire.failIfNoSpecifiedTests=false}.
     */
    @Test
    @EnabledIfSystemProperty(named = "fuzz.writeSeeds", matches = "true")
    void writeSeeds() throws Exception {
        Path dir = Files.createDirectories(Path.of("src/test/resources/dev/hbone/netty/internal/ConnectRequestFuzzTestInputs/check"));
        seed(dir, "connect", false, new DefaultHttp2Headers().method("CONNECT").authority("10.0.0.7:8080")
                .add("forwarded", "for=\"10.0.0.1:4000\";host=reviews.default.svc.cluster.local")
                .add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")
                .add("baggage", "k8s.cluster.name=Kubernetes,k8s.namespace.name=default,service.name=reviews"));
        seed(dir, "connect-v6", false, new DefaultHttp2Headers().method("CONNECT").authority("[fd00::7]:15008"));
        seed(dir, "connect-hostname", false, new DefaultHttp2Headers().method("CONNECT")
                .authority("reviews.default.svc.cluster.local:9080").add("x-forwarded-network", "network-1"));
        seed(dir, "connect-end-stream", true, new DefaultHttp2Headers().method("CONNECT").authority("10.0.0.7:80"));
        seed(dir, "connect-with-path", false, new DefaultHttp2Headers().method("CONNECT").authority("10.0.0.7:80")
                .scheme("https").path("/"));
        seed(dir, "get", true, new DefaultHttp2Headers().method("GET").scheme("https").path("/").authority("x:1"));
        seed(dir, "no-method", false, new DefaultHttp2Headers().authority("10.0.0.7:80"));
        seed(dir, "bad-authority", false, new DefaultHttp2Headers().method("CONNECT").authority("u@10.0.0.7:80/x"));
        seed(dir, "no-authority", false, new DefaultHttp2Headers().method("CONNECT"));
    }

    private static void seed(Path dir, String name, boolean endOfStream, Http2Headers headers) throws Exception {
        DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder(Http2HeadersEncoder.NEVER_SENSITIVE, false);
        ByteBuf out = Unpooled.buffer();
        try {
            encoder.encodeHeaders(1, headers, out);
            byte[] block = new byte[out.readableBytes()];
            out.readBytes(block);
            byte[] input = new byte[block.length + 1];
            input[0] = (byte) (endOfStream ? 1 : 0);
            System.arraycopy(block, 0, input, 1, block.length);
            Files.write(dir.resolve(name), input);
        } finally {
            out.release();
        }
    }
}
