/**
 * A certificate authority (BouncyCastle) for self-managed meshes and tests: roots, an optional intermediate, PKCS#10
 * signing with SPIFFE rules, ECDSA P-256 leaf X.509-SVIDs, PEM persistence.
 */
package dev.hbone.spiffe.ca;
