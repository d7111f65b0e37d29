package dev.hbone.netty;

import dev.hbone.api.Tunnel;
import io.netty.handler.codec.http2.Http2StreamChannel;

/** A {@link Tunnel} of hbone-netty, which exposes its stream channel (for its event loop, metrics, debugging). */
public interface NettyTunnel extends Tunnel {
    /**
     * The HTTP/2 stream carrying this tunnel; its {@link Http2StreamChannel#parent() parent} is the connection. Do
     * not read or write it directly: use {@link NettyHboneClient#openChannel} for raw access.
     */
    Http2StreamChannel channel();
}
