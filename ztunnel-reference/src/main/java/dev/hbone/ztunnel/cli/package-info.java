/** The runnable entry point ({@link dev.hbone.ztunnel.cli.ZtunnelMain}) and the settings it produces. */
package dev.hbone.ztunnel.cli;
