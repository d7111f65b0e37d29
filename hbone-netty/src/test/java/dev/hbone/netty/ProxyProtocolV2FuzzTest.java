package dev.hbone.netty;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.hbone.api.ProxyProtocolV2;
import dev.hbone.spiffe.InvalidSpiffeIdException;
import dev.hbone.spiffe.SpiffeIds;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.handler.codec.haproxy.HAProxyTLV;
import io.spiffe.spiffeid.SpiffeId;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Coverage-guided fuzzing (Jazzer) of the PROXY protocol v2 header written toward application tunnels
 * ({@link ProxyProtocolV2#encode}), checked by an implementation we did not write: Netty's
 * {@link HAProxyMessageDecoder} must read back exactly the addresses, ports and SPIFFE ID TLV (0xD0) that went in,
 * and consume exactly the header. Input: byte 0 bit 0 = IPv6, then the source and destination address bytes (4 or
 * 16 each, zero-padded), two 16-bit ports, and the rest as the SPIFFE ID (a text that is no valid ID is mapped onto
 * one, so every input reaches the encoder). {@code mvn verify} replays the inputs under
 * {@code src/test/resources/dev/hbone/netty/ProxyProtocolV2FuzzTestInputs/roundTrip/}.
 */
class ProxyProtocolV2FuzzTest {
    @FuzzTest(maxDuration = "2m")
    void roundTrip(byte[] input) throws Exception {
        boolean v6 = input.length > 0 && (input[0] & 1) != 0;
        int addrLen = v6 ? 16 : 4;
        byte[] padded = Arrays.copyOf(input, Math.max(input.length, 1 + 2 * addrLen + 4));
        InetAddress src = InetAddress.getByAddress(Arrays.copyOfRange(padded, 1, 1 + addrLen));
        InetAddress dst = InetAddress.getByAddress(Arrays.copyOfRange(padded, 1 + addrLen, 1 + 2 * addrLen));
        int srcPort = ((padded[1 + 2 * addrLen] & 0xff) << 8) | (padded[2 + 2 * addrLen] & 0xff);
        int dstPort = ((padded[3 + 2 * addrLen] & 0xff) << 8) | (padded[4 + 2 * addrLen] & 0xff);
        String text = new String(padded, 5 + 2 * addrLen, padded.length - 5 - 2 * addrLen, StandardCharsets.UTF_8);
        SpiffeId id = spiffeId(text);
        InetSocketAddress source = new InetSocketAddress(src, srcPort);
        InetSocketAddress destination = new InetSocketAddress(dst, dstPort);
        if (src.getAddress().length != dst.getAddress().length) {
            // An IPv4-mapped IPv6 address comes back from InetAddress as IPv4: families differ, the encoder refuses.
            try {
                ProxyProtocolV2.encode(source, destination, id);
                throw new AssertionError("mixed address families accepted");
            } catch (IllegalArgumentException expected) {
                return;
            }
        }
        ByteBuf header = Unpooled.wrappedBuffer(ProxyProtocolV2.encode(source, destination, id));
        int length = header.readableBytes();
        ByteBuf stream = Unpooled.buffer().writeBytes(header).writeBytes(new byte[] {42}); // the application's first byte
        header.release();
        EmbeddedChannel channel = new EmbeddedChannel(new HAProxyMessageDecoder());
        try {
            channel.writeInbound(stream);
            HAProxyMessage message = channel.readInbound();
            require(message != null, "no PROXY header decoded from " + length + " bytes");
            try {
                require(message.protocolVersion() == HAProxyProtocolVersion.V2
                        && message.command() == HAProxyCommand.PROXY, "version/command");
                require(message.proxiedProtocol() == (src.getAddress().length == 16 ? HAProxyProxiedProtocol.TCP6
                                                                                     : HAProxyProxiedProtocol.TCP4),
                        "protocol " + message.proxiedProtocol());
                require(InetAddress.getByName(message.sourceAddress()).equals(src)
                        && InetAddress.getByName(message.destinationAddress()).equals(dst), "addresses");
                require(message.sourcePort() == srcPort && message.destinationPort() == dstPort, "ports");
                require(message.tlvs().size() == 1, "TLVs " + message.tlvs());
                HAProxyTLV tlv = message.tlvs().get(0);
                require((tlv.typeByteValue() & 0xff) == ProxyProtocolV2.PP2_TYPE_SPIFFE_ID
                        && tlv.content().toString(StandardCharsets.UTF_8).equals(id.toString()), "SPIFFE ID TLV");
            } finally {
                message.release();
            }
            ByteBuf rest = channel.readInbound();
            require(rest != null && rest.readableBytes() == 1 && rest.getByte(rest.readerIndex()) == 42,
                    "the decoder did not stop exactly after the header");
            rest.release();
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    private static SpiffeId spiffeId(String text) {
        try {
            return SpiffeIds.parse(text);
        } catch (InvalidSpiffeIdException e) {
            StringBuilder path = new StringBuilder();
            text.chars().limit(2000).forEach(c -> path.append(Character.isLetterOrDigit(c) && c < 128 ? (char) c : '/'));
            String cleaned = path.toString().replaceAll("/+", "/").replaceAll("^/|/$", "");
            return SpiffeIds.parse("spiffe://cluster.local/" + (cleaned.isEmpty() ? "x" : cleaned));
        }
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }
}
