package dev.hbone.examples;

import dev.hbone.api.Tunnel;
import dev.hbone.api.TunnelException;
import dev.hbone.api.TunnelInfo;
import dev.hbone.api.TunnelListener;
import dev.hbone.api.TunnelRequest;
import dev.hbone.api.TunnelStats;
import dev.hbone.authz.CompileOptions;
import dev.hbone.authz.ConnectionAttributes;
import dev.hbone.authz.Decision;
import dev.hbone.authz.Destination;
import dev.hbone.authz.LoadResult;
import dev.hbone.authz.PolicyEvaluator;
import dev.hbone.authz.PolicyLoader;
import dev.hbone.netty.HboneTls;
import dev.hbone.netty.NettyHboneClient;
import dev.hbone.netty.NettyHboneServer;
import dev.hbone.netty.TcpForwarder;
import dev.hbone.spiffe.SpiffeIds;
import dev.hbone.spiffe.bundle.TrustBundles;
import dev.hbone.spiffe.ca.CertificateAuthority;
import dev.hbone.spiffe.store.IdentityStore;
import dev.hbone.spiffe.store.SvidSources;
import io.spiffe.spiffeid.SpiffeId;
import io.spiffe.spiffeid.TrustDomain;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The main job's demo: a small ambient mesh on loopback addresses, in one process, on an embedded configuration.
 *
 * <p>A mesh CA for {@code cluster.local} issues one SVID per workload; {@code reviews} (127.0.0.12) accepts HBONE on
 * port 15008 and forwards to its app on 9080, authorizing every tunnel with Istio {@code AuthorizationPolicy} YAML
 * (one ALLOW, one DENY) through authz-engine. Then it sends traffic and prints what happened to each connection:
 * which identities the mutual TLS proved, which policy allowed or denied it and why, and whether the bytes arrived
 * intact. Run it with {@code ./demo} from the repository root.
 */
public final class MeshDemo {
    private static final String TRUST_DOMAIN = "cluster.local";
    private static final Workload PRODUCTPAGE = new Workload("productpage", "bookinfo", "127.0.0.11");
    private static final Workload REVIEWS = new Workload("reviews", "bookinfo", "127.0.0.12");
    private static final Workload INTRUDER = new Workload("scanner", "untrusted", "127.0.0.13");
    private static final SpiffeId RATINGS = SpiffeIds.kubernetes(TRUST_DOMAIN, "bookinfo", "ratings");
    private static final int APP_PORT = 9080;

    private final Map<String, Decision> decisions = new ConcurrentHashMap<>();
    private final BlockingQueue<String> serverRefusals = new LinkedBlockingQueue<>();
    private final List<String> summary = new ArrayList<>();

    private MeshDemo() { }

    /** Runs the demo; exits non-zero if any connection did not end the way the policies say it must. */
    public static void main(String[] args) throws Exception {
        boolean ok = run();
        System.exit(ok ? 0 : 1);
    }

    /** Runs every scenario; true if each connection ended as the policies and certificates say it must. */
    static boolean run() throws Exception {
        return new MeshDemo().runAll();
    }

    private boolean runAll() throws Exception {
        banner("hbone-java: a small Istio ambient mesh on loopback");
        CertificateAuthority ca = CertificateAuthority.builder(TrustDomain.parse(TRUST_DOMAIN)).build();
        System.out.printf("mesh CA          trust domain %s, root %s%n", TRUST_DOMAIN,
                          ca.bundle().getX509Authorities().iterator().next().getSubjectX500Principal());
        for (Workload w : List.of(PRODUCTPAGE, REVIEWS, INTRUDER)) {
            System.out.printf("workload         %-12s %-10s %s  %s%n", w.name, w.namespace, w.ip, w.identity);
        }

        String policyYaml = resource("demo/policies.yaml");
        LoadResult loaded = new PolicyLoader().loadString("policies.yaml", policyYaml);
        if (!loaded.isClean()) {
            throw new IllegalStateException("embedded policies refused: " + loaded.errors());
        }
        PolicyEvaluator authz = new PolicyEvaluator(CompileOptions.ztunnel());
        authz.update(loaded.policies());
        System.out.println();
        System.out.println("policies (Istio YAML, enforced at L4 the way ztunnel does):");
        policyYaml.lines().filter(l -> !l.isBlank() && !l.startsWith("#")).forEach(l -> System.out.println("  " + l));

        Destination reviewsWorkload = Destination.builder(REVIEWS.namespace).labels(Map.of("app", REVIEWS.name)).build();
        try (IdentityStore store = IdentityStore.builder(SvidSources.localCa(ca, Duration.ofHours(24))).build();
             EchoUpstream app = new EchoUpstream(new InetSocketAddress(REVIEWS.ip, APP_PORT))) {
            HboneTls tls = HboneTls.spiffe(store, TrustBundles.of(ca.bundle()));
            TcpForwarder forwarder = TcpForwarder.builder()
                    .authorizer(tunnel -> {
                        TunnelInfo info = tunnel.info();
                        Decision d = authz.evaluate(reviewsWorkload, ConnectionAttributes.builder()
                                .sourcePrincipal(principal(info.peerIdentity()))
                                .sourceIp(info.remoteAddress().getAddress().getHostAddress())
                                .destinationIp(info.localAddress().getAddress().getHostAddress())
                                .destinationPort(tunnel.authority().port())
                                .build());
                        decisions.put(info.peerIdentity() + " " + tunnel.authority(), d);
                        return d.allowed();
                    })
                    .build();
            try (NettyHboneServer server = startServer(tls, forwarder);
                 NettyHboneClient client = NettyHboneClient.builder().tls(tls).build()) {
                System.out.printf("%nreviews listens  HBONE on %s (TLS provider %s), app on %s%n",
                                  server.localAddress(), tls.provider(), app.address());
                InetSocketAddress hbone = server.localAddress();
                boolean ok = true;

                section("1. productpage -> reviews:9080 over HBONE (allowed by policy)");
                ok &= expectOpen(client, request(PRODUCTPAGE, hbone, APP_PORT, REVIEWS.identity), 1 << 20);

                section("2. scanner (namespace untrusted) -> reviews:9080 (DENY policy)");
                ok &= expectRefused(client, request(INTRUDER, hbone, APP_PORT, REVIEWS.identity), 401);

                section("3. productpage -> reviews:9090, a port no ALLOW rule names");
                ok &= expectRefused(client, request(PRODUCTPAGE, hbone, 9090, REVIEWS.identity), 401);

                section("4. productpage dials reviews but expects to reach ratings (wrong server identity)");
                ok &= expectTlsFailure(client, request(PRODUCTPAGE, hbone, APP_PORT, RATINGS));

                section("5. a workload with a certificate from another trust domain's CA");
                ok &= foreignTrustDomain(ca, hbone);

                banner("summary");
                summary.forEach(System.out::println);
                System.out.println(ok ? "\nevery connection ended as the policies and certificates say it must"
                                      : "\nSOME CONNECTIONS DID NOT END AS EXPECTED");
                return ok;
            }
        }
    }

    private boolean expectOpen(NettyHboneClient client, TunnelRequest request, int bytes) throws Exception {
        byte[] payload = new byte[bytes];
        new Random(7).nextBytes(payload);
        Tunnel tunnel = client.open(request).get(10, TimeUnit.SECONDS);
        TunnelInfo info = tunnel.info();
        CompletableFuture<byte[]> echoed = readAll(tunnel);
        tunnel.write(ByteBuffer.wrap(payload)).get(10, TimeUnit.SECONDS);
        tunnel.shutdownOutput();
        byte[] back = echoed.get(10, TimeUnit.SECONDS);
        TunnelStats stats = tunnel.closeFuture().get(10, TimeUnit.SECONDS);
        boolean intact = MessageDigest.isEqual(sha256(payload), sha256(back));
        Decision d = decisions.get(info.localIdentity() + " " + request.authority());
        System.out.printf("  mTLS             client proved %s%n", info.localIdentity());
        System.out.printf("                   server proved %s (one of the expected identities)%n", info.peerIdentity());
        System.out.printf("  authorization    %s%n", d == null ? "?" : d.toLogString());
        System.out.printf("  CONNECT          %s -> 200, upstream connected%n", request.authority());
        System.out.printf("  payload          %d bytes sent, %d echoed back, sha256 %s %s%n", payload.length,
                          back.length, HexFormat.of().formatHex(sha256(back)).substring(0, 16),
                          intact ? "(intact)" : "(CORRUPTED)");
        System.out.printf("  tunnel closed    %d bytes out, %d in, half-closed both ways, %s%n", stats.bytesSent(),
                          stats.bytesReceived(), stats.failure().map(f -> "failure " + f.reason()).orElse("no error"));
        summary.add(row(request.authority() + " from " + name(request), "ENCRYPTED, ALLOWED", d == null ? "" : d.policy()));
        return intact && stats.failure().isEmpty();
    }

    private boolean expectRefused(NettyHboneClient client, TunnelRequest request, int status) throws Exception {
        try {
            Tunnel t = client.open(request).get(10, TimeUnit.SECONDS);
            t.abort();
            System.out.println("  UNEXPECTED: the tunnel was opened");
            summary.add(row(request.authority() + " from " + name(request), "UNEXPECTEDLY ALLOWED", ""));
            return false;
        } catch (ExecutionException e) {
            TunnelException te = (TunnelException) e.getCause();
            Decision d = decisions.get(request.sourceIdentity() + " " + request.authority());
            System.out.printf("  mTLS             succeeded: the server knows the client is %s%n", request.sourceIdentity());
            System.out.printf("  authorization    %s%n", d == null ? "?" : d.toLogString());
            System.out.printf("  CONNECT          %s -> %s (%s)%n", request.authority(),
                              te.status().isPresent() ? te.status().getAsInt() : "-", te.getMessage());
            summary.add(row(request.authority() + " from " + name(request),
                            "DENIED " + (te.status().isPresent() ? te.status().getAsInt() : "?"),
                            d == null ? "" : d.reason().logName() + (d.policy() == null ? "" : " " + d.policy())));
            return te.reason() == TunnelException.Reason.REFUSED && te.status().orElse(-1) == status;
        }
    }

    private boolean expectTlsFailure(NettyHboneClient client, TunnelRequest request) throws Exception {
        try {
            client.open(request).get(10, TimeUnit.SECONDS).abort();
            System.out.println("  UNEXPECTED: the tunnel was opened");
            return false;
        } catch (ExecutionException e) {
            TunnelException te = (TunnelException) e.getCause();
            System.out.printf("  mTLS             the client refused the server: %s%n", rootMessage(te));
            System.out.println("  CONNECT          never sent: no byte of the application left the client");
            summary.add(row(request.authority() + " from " + name(request), "TLS REFUSED", reasonName(rootMessage(te))));
            serverRefusals.poll(2, TimeUnit.SECONDS); // the server saw the client abort; nothing new to say
            return te.reason() == TunnelException.Reason.TLS_HANDSHAKE;
        }
    }

    private boolean foreignTrustDomain(CertificateAuthority meshCa, InetSocketAddress hbone) throws Exception {
        CertificateAuthority foreignCa = CertificateAuthority.builder(TrustDomain.parse("evil.example")).build();
        SpiffeId foreigner = SpiffeIds.kubernetes("evil.example", "default", "mallory");
        System.out.printf("  client           %s, certificate issued by a CA the mesh does not trust%n", foreigner);
        // The client trusts the mesh's root, so only the server's check of the client can stop it.
        try (IdentityStore store = IdentityStore.builder(SvidSources.localCa(foreignCa, Duration.ofHours(1))).build();
             NettyHboneClient client = NettyHboneClient.builder()
                     .tls(HboneTls.spiffe(store, TrustBundles.of(meshCa.bundle(), foreignCa.bundle())))
                     .build()) {
            TunnelRequest request = TunnelRequest.builder()
                    .authority(REVIEWS.ip + ":" + APP_PORT)
                    .peerAddress(hbone)
                    .sourceIdentity(foreigner)
                    .expectedIdentity(REVIEWS.identity)
                    .timeout(Duration.ofSeconds(5))
                    .build();
            try {
                client.open(request).get(10, TimeUnit.SECONDS).abort();
                System.out.println("  UNEXPECTED: the tunnel was opened");
                return false;
            } catch (ExecutionException e) {
                TunnelException te = (TunnelException) e.getCause();
                String serverSaw = serverRefusals.poll(5, TimeUnit.SECONDS);
                System.out.printf("  client side      the server closed the connection during the handshake (%s)%n",
                                  te.reason());
                System.out.printf("  server side      refused the client certificate: %s%n", serverSaw);
                summary.add(row(request.authority() + " from mallory (evil.example)", "TLS REFUSED",
                                serverSaw == null ? te.reason().toString() : reasonName(serverSaw)));
                return te.reason() == TunnelException.Reason.TLS_HANDSHAKE
                       || te.reason() == TunnelException.Reason.CONNECTION_CLOSED;
            }
        }
    }

    private NettyHboneServer startServer(HboneTls tls, TcpForwarder forwarder) {
        NettyHboneServer.Builder b = NettyHboneServer.builder()
                .tls(tls)
                .identity(REVIEWS.identity)
                .handler(forwarder)
                .listener(new TunnelListener() {
                    @Override
                    public void onFailed(String authority, TunnelException failure) {
                        if (failure.reason() == TunnelException.Reason.TLS_HANDSHAKE) {
                            serverRefusals.add(rootMessage(failure));
                        }
                    }
                });
        try {
            return b.bind(new InetSocketAddress(REVIEWS.ip, 15008)).start();
        } catch (RuntimeException e) {
            if (!(rootCause(e) instanceof BindException)) {
                throw e;
            }
            System.out.println("(port 15008 on " + REVIEWS.ip + " is taken; using an ephemeral port)");
            return b.bind(new InetSocketAddress(REVIEWS.ip, 0)).start();
        }
    }

    private static TunnelRequest request(Workload from, InetSocketAddress hbone, int port, SpiffeId expected)
            throws IOException {
        return TunnelRequest.builder()
                .authority(REVIEWS.ip + ":" + port)
                .peerAddress(hbone)
                .sourceIdentity(from.identity)
                .sourceAddress(InetAddress.getByName(from.ip))
                .expectedIdentity(expected)
                .forwarded(new InetSocketAddress(from.ip, 40000), null)
                .timeout(Duration.ofSeconds(5))
                .build();
    }

    private static CompletableFuture<byte[]> readAll(Tunnel tunnel) {
        CompletableFuture<byte[]> all = new CompletableFuture<>();
        tunnel.inbound().subscribe(new Flow.Subscriber<>() {
            private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            private Flow.Subscription subscription;

            @Override public void onSubscribe(Flow.Subscription s) {
                subscription = s;
                s.request(Long.MAX_VALUE);
            }

            @Override public void onNext(ByteBuffer item) {
                byte[] b = new byte[item.remaining()];
                item.get(b);
                bytes.writeBytes(b);
            }

            @Override public void onError(Throwable t) {
                all.completeExceptionally(t);
            }

            @Override public void onComplete() {
                all.complete(bytes.toByteArray());
            }
        });
        return all;
    }

    private static String row(String connection, String verdict, String why) {
        return String.format("  %-44s %-20s %s", connection, verdict, why);
    }

    /** SVID refusals start with their reason, e.g. {@code UNTRUSTED_CHAIN: ...}. */
    private static String reasonName(String message) {
        int colon = message == null ? -1 : message.indexOf(':');
        return colon > 0 && message.substring(0, colon).matches("[A-Z_]+") ? message.substring(0, colon) : "TLS_HANDSHAKE";
    }

    private static String name(TunnelRequest r) {
        return SpiffeIds.kubernetesParts(r.sourceIdentity()).map(k -> k.serviceAccount()).orElse("?");
    }

    private static String principal(SpiffeId id) {
        return id == null ? null : id.toString().substring("spiffe://".length());
    }

    private static byte[] sha256(byte[] b) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }

    private static Throwable rootCause(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    private static String rootMessage(Throwable t) {
        String m = t.getMessage();
        for (Throwable c = t.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            if (c.getMessage() != null) {
                m = c.getMessage();
            }
        }
        return m;
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = MeshDemo.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing resource " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void banner(String title) {
        System.out.println();
        System.out.println("== " + title + " " + "=".repeat(Math.max(0, 76 - title.length())));
    }

    private static void section(String title) {
        System.out.println();
        System.out.println("-- " + title);
    }

    private record Workload(String name, String namespace, String ip, SpiffeId identity) {
        Workload(String name, String namespace, String ip) {
            this(name, namespace, ip, SpiffeIds.kubernetes(TRUST_DOMAIN, namespace, name));
        }
    }
}
