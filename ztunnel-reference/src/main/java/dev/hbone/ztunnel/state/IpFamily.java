package dev.hbone.ztunnel.state;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;

/** Which IP families a service's endpoints may be reached on. */
public enum IpFamily {
    /** IPv4 and IPv6. */
    DUAL("Dual"),
    /** IPv4 only. */
    IPV4("IPv4"),
    /** IPv6 only. */
    IPV6("IPv6");

    private final String configName;

    IpFamily(String configName) {
        this.configName = configName;
    }

    /** Returns the spelling used in the configuration file. */
    public String configName() {
        return configName;
    }

    /** Returns true when an endpoint address of this family may be used. */
    public boolean accepts(InetAddress address) {
        switch (this) {
            case IPV4:
                return address instanceof Inet4Address;
            case IPV6:
                return address instanceof Inet6Address;
            default:
                return true;
        }
    }
}
