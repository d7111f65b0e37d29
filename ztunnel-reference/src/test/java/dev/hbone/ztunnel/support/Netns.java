package dev.hbone.ztunnel.support;

import java.util.ArrayList;
import java.util.List;

/**
 * A Linux network namespace created for one test ({@code ip netns add}), deleted on {@link #close()} with its
 * interfaces. Needs root.
 */
public final class Netns implements AutoCloseable {
    private final String name;

    private Netns(String name) {
        this.name = name;
    }

    /** Creates namespace {@code name} with its loopback up. */
    public static Netns create(String name) {
        Commands.run("ip", "netns", "add", name);
        Netns ns = new Netns(name);
        try {
            ns.run("ip", "link", "set", "lo", "up");
        } catch (RuntimeException e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    /** The namespace's name. */
    public String name() {
        return name;
    }

    /** Runs {@code command} inside the namespace to completion and returns its output (see {@link Commands#run}). */
    public String run(String... command) {
        return Commands.run(wrap(List.of(command)));
    }

    /** Returns {@code command} prefixed to run inside the namespace ({@code ip netns exec NAME ...}). */
    public List<String> wrap(List<String> command) {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", name));
        all.addAll(command);
        return all;
    }

    /** Deletes the namespace (and the interfaces in it); never throws. */
    @Override
    public void close() {
        try {
            Commands.run("ip", "netns", "del", name);
        } catch (RuntimeException e) {
            System.err.println("cleanup: " + e.getMessage());
        }
    }

    /**
     * Joins two namespaces with a veth pair and addresses both ends.
     *
     * @param a one end's namespace, {@code aIf} its interface name (at most 15 characters), {@code aCidr} its address
     */
    public static void link(Netns a, String aIf, String aCidr, Netns b, String bIf, String bCidr) {
        Commands.run("ip", "link", "add", aIf, "netns", a.name, "type", "veth", "peer", "name", bIf, "netns", b.name);
        a.run("ip", "addr", "add", aCidr, "dev", aIf);
        b.run("ip", "addr", "add", bCidr, "dev", bIf);
        a.run("ip", "link", "set", aIf, "up");
        b.run("ip", "link", "set", bIf, "up");
    }

    /** Adds an IPv6 address without duplicate address detection (usable at once). */
    public void addIpv6(String dev, String cidr) {
        run("ip", "-6", "addr", "add", cidr, "dev", dev, "nodad");
    }

    @Override
    public String toString() {
        return name;
    }
}
