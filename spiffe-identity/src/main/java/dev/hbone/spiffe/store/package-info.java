/**
 * The node's identity store: one X.509-SVID per workload identity, from a pluggable source, renewed at half its
 * lifetime with back-off on failure, with listeners.
 */
package dev.hbone.spiffe.store;
