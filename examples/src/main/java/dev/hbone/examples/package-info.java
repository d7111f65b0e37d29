/** Runnable examples of the hbone-java SDK; see examples/README.md. */
package dev.hbone.examples;
