/** Internals of spiffe-identity; not public API, may change without notice. */
package dev.hbone.spiffe.internal;
