/** Start and stop of the node proxy: {@link dev.hbone.ztunnel.lifecycle.NodeProxy}, draining, reloads. */
package dev.hbone.ztunnel.lifecycle;
