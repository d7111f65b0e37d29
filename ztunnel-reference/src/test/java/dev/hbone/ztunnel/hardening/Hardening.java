package dev.hbone.ztunnel.hardening;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Shared helpers of the hardening tests: PEM files, SOCKS5, metric lines, an echo server, waiting. */
final class Hardening {
    private Hardening() {
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    static void writeChain(Path file, List<X509Certificate> chain) throws IOException {
        StringBuilder b = new StringBuilder();
        for (X509Certificate c : chain) {
            try {
                b.append(pem("CERTIFICATE", c.getEncoded()));
            } catch (CertificateEncodingException e) {
                throw new IOException(e);
            }
        }
        Files.writeString(file, b.toString());
    }

    static void writeKey(Path file, PrivateKey key) throws IOException {
        Files.writeString(file, pem("PRIVATE KEY", key.getEncoded()));
    }

    static Socket plain(String from, InetSocketAddress to) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(from, 0));
        s.connect(to, 5000);
        s.setSoTimeout(30_000);
        return s;
    }

    /** A SOCKS5 CONNECT through the listener at {@code socks}; throws with the reply code when refused. */
    static Socket socks5(InetSocketAddress socks, String from, InetSocketAddress to) throws IOException {
        Socket s = plain(from, socks);
        try {
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(s.getInputStream());
            out.write(new byte[] {5, 1, 0});
            byte[] greeting = new byte[2];
            in.readFully(greeting);
            byte[] ip = to.getAddress().getAddress();
            byte[] req = new byte[10];
            req[0] = 5;
            req[1] = 1;
            req[3] = 1;
            System.arraycopy(ip, 0, req, 4, 4);
            req[8] = (byte) (to.getPort() >> 8);
            req[9] = (byte) to.getPort();
            out.write(req);
            byte[] reply = new byte[10];
            in.readFully(reply);
            if (reply[1] != 0) {
                throw new IOException("SOCKS5 reply " + reply[1]);
            }
            return s;
        } catch (IOException e) {
            s.close();
            throw e;
        }
    }

    /** Sum of the samples of {@code name} whose line contains every fragment. */
    static double metric(String scrape, String name, String... fragments) {
        return scrape.lines().filter(l -> l.startsWith(name + "{") || l.startsWith(name + " "))
                .filter(l -> {
                    for (String f : fragments) {
                        if (!l.contains(f)) {
                            return false;
                        }
                    }
                    return true;
                })
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    static void await(String what, long seconds, BooleanSupplier condition) throws InterruptedException {
        await(() -> what, seconds, condition);
    }

    static void await(Supplier<String> what, long seconds, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + seconds + " s waiting for " + what.get());
            }
            Thread.sleep(20); // polling a condition, not timing
        }
    }
}
