/** The "connection complete" access log, text or JSON, on the SLF4J logger {@code access}. */
package dev.hbone.ztunnel.accesslog;
