package dev.hbone.ztunnel.support;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;

/** A SOCKS5 (RFC 1928) client: CONNECT to an IPv4 literal, no authentication, from a chosen local address. */
public final class Socks5 {
    private Socks5() {
    }

    /**
     * Opens a connection through {@code proxy} to {@code destination}, leaving from {@code source} (the workload's
     * address: the proxy identifies the source workload by it).
     *
     * @return the connected socket, ready for application bytes
     * @throws Socks5Exception with the reply code when the proxy refuses
     */
    public static Socket connect(InetSocketAddress proxy, InetAddress source, InetSocketAddress destination)
            throws IOException {
        Socket s = new Socket();
        try {
            s.setSoTimeout(30_000);
            s.bind(new InetSocketAddress(source, 0));
            s.connect(proxy, 10_000);
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            out.write(new byte[] {5, 1, 0});
            out.flush();
            byte[] method = new byte[2];
            in.readFully(method);
            if (method[0] != 5 || method[1] != 0) {
                throw new IOException("SOCKS5 method selection refused: " + method[0] + "/" + method[1]);
            }
            byte[] ip = ((Inet4Address) destination.getAddress()).getAddress();
            int port = destination.getPort();
            out.write(new byte[] {5, 1, 0, 1, ip[0], ip[1], ip[2], ip[3], (byte) (port >> 8), (byte) port});
            out.flush();
            int version = in.read();
            int reply = in.read();
            if (version != 5 || reply != 0) {
                throw new Socks5Exception(reply);
            }
            in.readFully(new byte[8]); // reserved, address type 1, address, port
            return s;
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** A SOCKS5 refusal: the reply code (-1 when the proxy closed instead of answering). */
    public static final class Socks5Exception extends IOException {
        private final int reply;

        Socks5Exception(int reply) {
            super("SOCKS5 reply " + reply);
            this.reply = reply;
        }

        /** The reply code. */
        public int reply() {
            return reply;
        }
    }
}
