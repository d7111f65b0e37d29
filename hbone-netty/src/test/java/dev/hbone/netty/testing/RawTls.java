package dev.hbone.netty.testing;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.security.KeyStore;
import java.security.cert.X509Certificate;

/** A blocking JDK TLS socket with the client's certificate, for byte-level abuse of the server. */
public final class RawTls {
    private RawTls() { }

    public static SSLSocket connect(io.spiffe.svid.x509svid.X509Svid svid, InetSocketAddress server, String... alpn)
            throws Exception {
        return connectWith(svid, server, "TLSv1.3", alpn);
    }

    public static SSLSocket connectWith(io.spiffe.svid.x509svid.X509Svid svid, InetSocketAddress server,
                                        String protocol, String... alpn) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("svid", svid.getPrivateKey(), new char[0], svid.getChainArray());
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
        kmf.init(ks, new char[0]);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(kmf.getKeyManagers(), new TrustManager[] {new X509TrustManager() {
            @Override public void checkClientTrusted(X509Certificate[] c, String a) { }
            @Override public void checkServerTrusted(X509Certificate[] c, String a) { }
            @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
        }}, null);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(server.getAddress(), server.getPort());
        s.setSoTimeout(20_000); // a bound for a broken test, not a timing assertion
        SSLParameters p = s.getSSLParameters();
        p.setProtocols(new String[] {protocol});
        p.setApplicationProtocols(alpn);
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    /** Reads until the peer closes; returns what arrived. */
    public static byte[] readToEnd(InputStream in) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
            }
        } catch (IOException closedHard) {
            // a reset or TLS alert also ends the connection
        }
        return out.toByteArray();
    }

    /** An HTTP/2 frame header + payload. */
    public static byte[] frame(int type, int flags, int streamId, byte[] payload, int declaredLength) {
        byte[] f = new byte[9 + payload.length];
        f[0] = (byte) (declaredLength >>> 16);
        f[1] = (byte) (declaredLength >>> 8);
        f[2] = (byte) declaredLength;
        f[3] = (byte) type;
        f[4] = (byte) flags;
        f[5] = (byte) (streamId >>> 24);
        f[6] = (byte) (streamId >>> 16);
        f[7] = (byte) (streamId >>> 8);
        f[8] = (byte) streamId;
        System.arraycopy(payload, 0, f, 9, payload.length);
        return f;
    }

    /** HPACK: literal header fields without indexing, new names, no Huffman (short strings only). */
    public static byte[] hpack(String... namesAndValues) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            out.write(0);
            for (String s : new String[] {namesAndValues[i], namesAndValues[i + 1]}) {
                byte[] b = s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                out.write(b.length);
                out.write(b, 0, b.length);
            }
        }
        return out.toByteArray();
    }

    /** Finds frames of {@code type} in a server byte stream; returns {streamId, first 4 payload bytes as int}. */
    public static java.util.List<long[]> frames(byte[] data, int type) {
        java.util.List<long[]> found = new java.util.ArrayList<>();
        int i = 0;
        while (i + 9 <= data.length) {
            int len = ((data[i] & 0xff) << 16) | ((data[i + 1] & 0xff) << 8) | (data[i + 2] & 0xff);
            int t = data[i + 3] & 0xff;
            int stream = ((data[i + 5] & 0x7f) << 24) | ((data[i + 6] & 0xff) << 16) | ((data[i + 7] & 0xff) << 8)
                         | (data[i + 8] & 0xff);
            if (t == type && i + 9 + len <= data.length) {
                int p = i + 9;
                long code = type == 7 && len >= 8 ? readInt(data, p + 4) : len >= 4 ? readInt(data, p) : -1;
                found.add(new long[] {stream, code});
            }
            i += 9 + len;
        }
        return found;
    }

    private static long readInt(byte[] d, int p) {
        return ((long) (d[p] & 0xff) << 24) | ((d[p + 1] & 0xff) << 16) | ((d[p + 2] & 0xff) << 8) | (d[p + 3] & 0xff);
    }

    public static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
}
