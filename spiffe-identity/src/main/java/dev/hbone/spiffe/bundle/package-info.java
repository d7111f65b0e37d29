/**
 * Trust bundles: the X.509 authorities of one or several (federated) trust domains, loaded from PEM files or SPIFFE
 * bundle documents, and swappable at run time.
 */
package dev.hbone.spiffe.bundle;
