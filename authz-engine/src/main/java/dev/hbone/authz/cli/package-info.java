/** The {@code authz check} command line: "may X reach Y on port P, and why?" from a directory of YAML. */
package dev.hbone.authz.cli;
