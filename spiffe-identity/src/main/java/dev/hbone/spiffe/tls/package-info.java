/**
 * JSSE integration, for the JDK provider and Netty's OpenSSL/BoringSSL provider alike: a key manager presenting the
 * SVID of the identity each connection acts for, and a trust manager enforcing the SPIFFE X.509-SVID rules and the
 * expected peer identities. Connections are described by {@link dev.hbone.spiffe.tls.HandshakeBindings}.
 */
package dev.hbone.spiffe.tls;
