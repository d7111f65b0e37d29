package dev.hbone.ztunnel.internal;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small HTTP/1.1 server for the admin, metrics and readiness endpoints: exact-path routes, 404 for unknown paths,
 * 405 (with {@code Allow}) for a wrong method, 413 for a body above {@value #MAX_REQUEST_BYTES} bytes. Handlers
 * run on {@code handlerExecutor} (they may block briefly), never on the event loop.
 */
public final class HttpEndpointServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpEndpointServer.class);

    /** Largest request (headers aside) accepted. */
    public static final int MAX_REQUEST_BYTES = 8 * 1024;

    /** A request as handlers see it. */
    public record Request(HttpMethod method, String path, Map<String, List<String>> query, String body) {
        /** Returns the first value of a query parameter, or null. */
        public String param(String name) {
            List<String> v = query.get(name);
            return v == null || v.isEmpty() ? null : v.get(0);
        }
    }

    /** A response. */
    public record Response(int status, String contentType, byte[] body) {
        /** A text/plain response. */
        public static Response text(int status, String text) {
            return new Response(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
        }

        /** An application/json response. */
        public static Response json(int status, String json) {
            return new Response(status, "application/json", json.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** Handles one route. */
    @FunctionalInterface
    public interface Handler {
        /** Returns the response to a request. */
        Response handle(Request request) throws Exception;
    }

    /** A route: the methods it accepts and its handler. */
    public record Route(Set<HttpMethod> methods, Handler handler) {
    }

    private final String name;
    private final Channel channel;

    private HttpEndpointServer(String name, Channel channel) {
        this.name = name;
        this.channel = channel;
    }

    /**
     * Binds and starts serving.
     *
     * @param name a name for logs ("admin", "stats", "readiness")
     * @param address where to listen
     * @param group the event loop group
     * @param handlerExecutor where handlers run
     * @param routes path → route
     * @return the running server
     * @throws InterruptedException if interrupted while binding
     * @throws java.io.IOException naming the address when it cannot be bound
     */
    public static HttpEndpointServer start(String name, InetSocketAddress address, EventLoopGroup group,
            Executor handlerExecutor, Map<String, Route> routes) throws InterruptedException, java.io.IOException {
        Map<String, Route> table = Map.copyOf(routes);
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new ReadTimeoutHandler(30, TimeUnit.SECONDS))
                                .addLast(new HttpServerCodec(4096, 8192, 8192))
                                .addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES))
                                .addLast(new Dispatcher(table, handlerExecutor));
                    }
                });
        io.netty.channel.ChannelFuture f = b.bind(address).await();
        if (!f.isSuccess()) {
            throw new java.io.IOException(name + " endpoint cannot listen on " + format(address) + ": "
                    + f.cause().getMessage(), f.cause());
        }
        HttpEndpointServer server = new HttpEndpointServer(name, f.channel());
        log.info("{} listening on {}", name, format(server.localAddress()));
        return server;
    }

    private static String format(InetSocketAddress a) {
        String h = a.getAddress().getHostAddress();
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    /** Returns the bound address (with the real port when 0 was asked for). */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Stops listening; open requests finish. */
    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        log.debug("{} stopped", name);
    }

    private static final class Dispatcher extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final Map<String, Route> routes;
        private final Executor executor;

        Dispatcher(Map<String, Route> routes, Executor executor) {
            this.routes = routes;
            this.executor = executor;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest msg) {
            boolean keepAlive = HttpUtil.isKeepAlive(msg);
            if (!msg.decoderResult().isSuccess()) {
                send(ctx, Response.text(400, "bad request\n"), false);
                return;
            }
            QueryStringDecoder qs = new QueryStringDecoder(msg.uri());
            Route route = routes.get(qs.path());
            if (route == null) {
                send(ctx, Response.text(404, "not found: " + qs.path() + "\n"), keepAlive);
                return;
            }
            if (!route.methods().contains(msg.method())) {
                FullHttpResponse r = response(Response.text(405, "method " + msg.method() + " not allowed on "
                        + qs.path() + "\n"), keepAlive);
                r.headers().set(HttpHeaderNames.ALLOW, String.join(", ",
                        route.methods().stream().map(HttpMethod::name).sorted().toList()));
                write(ctx, r, keepAlive);
                return;
            }
            Request request = new Request(msg.method(), qs.path(), qs.parameters(),
                    msg.content().toString(StandardCharsets.UTF_8));
            executor.execute(() -> {
                Response response;
                try {
                    response = route.handler().handle(request);
                } catch (IllegalArgumentException e) {
                    response = Response.text(400, e.getMessage() + "\n");
                } catch (Exception e) {
                    log.warn("{} {} failed", request.method(), request.path(), e);
                    response = Response.text(500, "internal error: " + e.getMessage() + "\n");
                }
                Response r = response;
                ctx.channel().eventLoop().execute(() -> send(ctx, r, keepAlive));
            });
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof io.netty.handler.codec.TooLongFrameException) {
                send(ctx, Response.text(413, "request too large\n"), false);
            } else {
                ctx.close();
            }
        }

        private static void send(ChannelHandlerContext ctx, Response r, boolean keepAlive) {
            write(ctx, response(r, keepAlive), keepAlive);
        }

        private static FullHttpResponse response(Response r, boolean keepAlive) {
            ByteBuf body = Unpooled.wrappedBuffer(r.body());
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.valueOf(r.status()), body);
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType())
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
            if (!keepAlive) {
                res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            return res;
        }

        private static void write(ChannelHandlerContext ctx, FullHttpResponse r, boolean keepAlive) {
            if (keepAlive) {
                ctx.writeAndFlush(r);
            } else {
                ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
            }
        }
    }
}
