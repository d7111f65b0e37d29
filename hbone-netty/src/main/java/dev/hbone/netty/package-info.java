/**
 * HBONE on Netty: {@link dev.hbone.netty.NettyHboneClient} and {@link dev.hbone.netty.NettyHboneServer} implement
 * the {@code dev.hbone.api} interfaces over TLS 1.3 (BoringSSL through netty-tcnative, or the JDK) and HTTP/2.
 * Netty users can take the raw {@link io.netty.handler.codec.http2.Http2StreamChannel} of a tunnel and splice it to
 * another channel without copying ({@link dev.hbone.netty.ChannelSplice}). Internals live in
 * {@code dev.hbone.netty.internal} and are not API.
 */
package dev.hbone.netty;
