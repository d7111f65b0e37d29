package dev.hbone.ztunnel.proxy;

import dev.hbone.ztunnel.internal.ByteCounter;
import dev.hbone.ztunnel.internal.ReadHold;
import dev.hbone.ztunnel.metrics.Reporter;
import dev.hbone.ztunnel.metrics.ResponseFlag;
import dev.hbone.ztunnel.metrics.SecurityPolicy;
import dev.hbone.ztunnel.state.NetworkAddress;
import dev.hbone.ztunnel.state.ProxyState;
import dev.hbone.ztunnel.state.Service;
import dev.hbone.ztunnel.state.Workload;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.NetUtil;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SOCKS5 (15080, RFC 1928, CONNECT with no authentication): the easy way into the mesh without traffic
 * redirection. The source workload is the local workload owning the client's address; connections from any other
 * address are refused (reply 0x02). A domain name is resolved as ztunnel does: a service hostname of the local
 * configuration gives the service's VIP (on the proxy's network when it has one there; a service in the source
 * workload's namespace first), anything else is looked up in DNS off the event loop; a name that resolves to
 * nothing gets reply 0x04 (host unreachable).
 */
final class Socks5Listener extends TcpListener {
    private static final Logger log = LoggerFactory.getLogger(Socks5Listener.class);

    private final Outbound outbound;
    /** DNS look-ups block: up to 4 threads of their own (gone when idle), never the event loop. */
    private final ThreadPoolExecutor resolver = new ThreadPoolExecutor(4, 4, 30, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(256), r -> {
                Thread t = new Thread(r, "ztunnel-socks5-dns");
                t.setDaemon(true);
                return t;
            });

    Socks5Listener(DataPath dp, InetSocketAddress address) throws IOException {
        super(dp, "SOCKS5", address, false, false);
        this.outbound = new Outbound(dp);
        resolver.allowCoreThreadTimeOut(true);
    }

    @Override
    public void forceClose() {
        super.forceClose();
        resolver.shutdownNow();
    }

    /**
     * Resolves a SOCKS5 domain name: a service hostname of the configuration (its VIP), else DNS.
     *
     * @return the address, or empty when nothing answers to the name
     */
    static Optional<InetAddress> resolveService(ProxyState state, String network, Workload source, String host) {
        String name = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
        List<Service> services = state.servicesByHostname(name);
        if (services.isEmpty()) {
            services = state.servicesByHostname(name.toLowerCase(Locale.ROOT));
        }
        if (services.isEmpty()) {
            return Optional.empty();
        }
        List<Service> ordered = new ArrayList<>(services);
        if (source != null) { // the source's own namespace first, as ztunnel's DNS proxy
            ordered.sort(Comparator.comparing(s -> !s.namespace().equals(source.namespace())));
        }
        for (Service s : ordered) {
            for (NetworkAddress vip : s.vips()) {
                if (vip.network().equals(network)) {
                    return Optional.of(vip.address());
                }
            }
        }
        for (Service s : ordered) {
            if (!s.vips().isEmpty()) {
                return Optional.of(s.vips().get(0).address());
            }
        }
        return Optional.empty();
    }

    @Override
    void accepted(SocketChannel channel, ByteCounter counter, ReadHold hold) {
        channel.pipeline().addLast(new Handshake(counter, hold));
    }

    private static final byte VERSION = 5;
    static final byte SUCCEEDED = 0;
    static final byte GENERAL_FAILURE = 1;
    static final byte NOT_ALLOWED = 2;
    static final byte HOST_UNREACHABLE = 4;
    static final byte CONNECTION_REFUSED = 5;
    static final byte COMMAND_NOT_SUPPORTED = 7;
    static final byte ADDRESS_TYPE_NOT_SUPPORTED = 8;

    private final class Handshake extends ChannelInboundHandlerAdapter {
        private final ByteCounter counter;
        private final ReadHold hold;
        private ByteBuf buffer;
        private boolean greeted;
        private boolean requested;

        Handshake(ByteCounter counter, ReadHold hold) {
            this.counter = counter;
            this.hold = hold;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            if (requested) { // cannot happen: the hold keeps what comes after the request
                ctx.fireChannelRead(msg);
                return;
            }
            if (buffer == null) {
                buffer = ctx.alloc().buffer();
            }
            buffer.writeBytes(in);
            in.release();
            if (!greeted) {
                if (buffer.readableBytes() < 2) {
                    return;
                }
                int n = buffer.getUnsignedByte(buffer.readerIndex() + 1);
                if (buffer.readableBytes() < 2 + n) {
                    return;
                }
                if (buffer.readByte() != VERSION) {
                    ctx.close();
                    return;
                }
                buffer.skipBytes(1);
                boolean noAuth = false;
                for (int i = 0; i < n; i++) {
                    noAuth |= buffer.readByte() == 0;
                }
                if (!noAuth) {
                    ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {VERSION, (byte) 0xFF}))
                            .addListener(ChannelFutureListener.CLOSE);
                    return;
                }
                greeted = true;
                ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {VERSION, 0}));
            }
            if (buffer.readableBytes() < 5) {
                return;
            }
            int start = buffer.readerIndex();
            int atyp = buffer.getUnsignedByte(start + 3);
            int addressLength = switch (atyp) {
                case 1 -> 4;
                case 4 -> 16;
                case 3 -> 1 + buffer.getUnsignedByte(start + 4);
                default -> -1;
            };
            if (addressLength < 0) {
                reply(ctx, ADDRESS_TYPE_NOT_SUPPORTED);
                return;
            }
            if (buffer.readableBytes() < 4 + addressLength + 2) {
                return;
            }
            byte version = buffer.readByte();
            byte command = buffer.readByte();
            buffer.skipBytes(2);
            InetAddress ip = null;
            String host = null;
            try {
                if (atyp == 3) {
                    int len = buffer.readUnsignedByte();
                    host = buffer.readCharSequence(len, StandardCharsets.US_ASCII).toString();
                    byte[] literal = NetUtil.createByteArrayFromIpAddressString(host);
                    if (literal != null) {
                        ip = InetAddress.getByAddress(literal);
                        host = null;
                    }
                } else {
                    byte[] raw = new byte[addressLength];
                    buffer.readBytes(raw);
                    ip = InetAddress.getByAddress(raw);
                }
            } catch (UnknownHostException e) {
                reply(ctx, ADDRESS_TYPE_NOT_SUPPORTED);
                return;
            }
            int port = buffer.readUnsignedShort();
            if (version != VERSION || command != 1) {
                reply(ctx, COMMAND_NOT_SUPPORTED);
                return;
            }
            requested = true;
            hold.hold(); // keeps reading: see ReadHold
            if (host == null) {
                connect(ctx, new InetSocketAddress(ip, port));
            } else {
                resolve(ctx, host, port);
            }
        }

        private void resolve(ChannelHandlerContext ctx, String host, int port) {
            InetSocketAddress client = (InetSocketAddress) ctx.channel().remoteAddress();
            Workload source = dp.outboundRouter().findSource(dp.state(), client.getAddress()).orElse(null);
            Optional<InetAddress> service = host.isEmpty() ? Optional.empty()
                    : resolveService(dp.state(), dp.settings().network(), source, host);
            if (service.isPresent()) {
                log.debug("SOCKS5 {}: {} is a service, VIP {}", client, host, service.get().getHostAddress());
                connect(ctx, new InetSocketAddress(service.get(), port));
                return;
            }
            if (host.isEmpty() || !validHostname(host)) {
                log.info("SOCKS5 connection from {} refused: \"{}\" is not a valid host name", client, host);
                unresolved(client, source, host, port, "\"" + host + "\" is not a host name");
                reply(ctx, HOST_UNREACHABLE);
                return;
            }
            try {
                resolver.execute(() -> {
                    InetAddress ip;
                    String error;
                    try {
                        ip = InetAddress.getByName(host);
                        error = null;
                    } catch (UnknownHostException | SecurityException e) {
                        ip = null;
                        error = e.getMessage();
                    }
                    InetAddress resolved = ip;
                    String why = error;
                    ctx.executor().execute(() -> {
                        if (resolved == null) {
                            log.info("SOCKS5 connection from {} refused: {} does not resolve ({})", client, host,
                                    why);
                            unresolved(client, source, host, port, host + " does not resolve: " + why);
                            reply(ctx, HOST_UNREACHABLE);
                        } else {
                            connect(ctx, new InetSocketAddress(resolved, port));
                        }
                    });
                });
            } catch (RejectedExecutionException e) {
                log.warn("SOCKS5 connection from {} refused: too many DNS look-ups in flight", client);
                reply(ctx, GENERAL_FAILURE);
            }
        }

        private void connect(ChannelHandlerContext ctx, InetSocketAddress destination) {
            InetSocketAddress client = (InetSocketAddress) ctx.channel().remoteAddress();
            Optional<Workload> source = dp.outboundRouter().findSource(dp.state(), client.getAddress());
            if (source.isEmpty()) {
                log.info("SOCKS5 connection from {} refused: no local workload has that address", client);
                reply(ctx, NOT_ALLOWED);
                return;
            }
            outbound.open((DuplexChannel) ctx.channel(), counter, hold, source.get(), destination, tracker)
                    .whenComplete((relay, error) -> ctx.executor().execute(() -> {
                        if (error != null) {
                            reply(ctx, CONNECTION_REFUSED);
                            return;
                        }
                        ctx.writeAndFlush(replyBytes(SUCCEEDED));
                        ByteBuf leftover = buffer;
                        buffer = null;
                        if (!leftover.isReadable()) {
                            leftover.release();
                            leftover = null;
                        }
                        ctx.pipeline().remove(this);
                        relay.accept(leftover);
                    }));
        }

        /** Counts and logs a connection refused because its name does not resolve (flag {@code CONNECT}). */
        private void unresolved(InetSocketAddress client, Workload source, String host, int port, String why) {
            String shown = host.length() > 64 ? host.substring(0, 64) + "..." : host;
            new ProxiedConnection(Reporter.SOURCE, client, InetSocketAddress.createUnresolved(
                    validHostname(shown) && !shown.isEmpty() ? shown : "invalid-name", port), source, null, null,
                    null, SecurityPolicy.UNKNOWN, dp.metrics(), dp.accessLog(), tracker)
                    .complete(ResponseFlag.CONNECT, "SOCKS5: " + why);
        }

        private static boolean validHostname(String host) {
            if (host.length() > 253) {
                return false;
            }
            for (int i = 0; i < host.length(); i++) {
                char ch = host.charAt(i);
                if (!(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-'
                        || ch == '.' || ch == '_')) {
                    return false;
                }
            }
            return true;
        }

        private void reply(ChannelHandlerContext ctx, byte code) {
            ctx.writeAndFlush(replyBytes(code)).addListener(ChannelFutureListener.CLOSE);
        }

        private ByteBuf replyBytes(byte code) {
            return Unpooled.wrappedBuffer(new byte[] {VERSION, code, 0, 1, 0, 0, 0, 0, 0, 0});
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            if (buffer != null) {
                buffer.release();
                buffer = null;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
