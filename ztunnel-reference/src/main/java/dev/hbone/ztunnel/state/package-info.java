/**
 * The proxy's view of the mesh: workloads, services and their endpoints, as an immutable
 * {@link dev.hbone.ztunnel.state.ProxyState} snapshot with the indexes routing needs, swapped
 * atomically through a {@link dev.hbone.ztunnel.state.ProxyStateHolder} when the configuration changes.
 *
 * <p>The model follows ztunnel's ({@code src/state/workload.rs}, {@code src/state/service.rs}):
 * same fields, same defaults, same lookup precedence.
 */
package dev.hbone.ztunnel.state;
