/** Implementation details of the reference node proxy; not an API, may change at any time. */
package dev.hbone.ztunnel.internal;
