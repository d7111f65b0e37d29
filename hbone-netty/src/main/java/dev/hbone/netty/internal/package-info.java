/** Implementation of hbone-netty. Not API: anything here may change without notice. */
package dev.hbone.netty.internal;
