/** Workload certificates (one per identity the proxy acts for) and trust bundles, via spiffe-identity. */
package dev.hbone.ztunnel.identity;
