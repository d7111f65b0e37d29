/** Admin (15000), stats (15020) and readiness (15021) HTTP endpoints. */
package dev.hbone.ztunnel.admin;
