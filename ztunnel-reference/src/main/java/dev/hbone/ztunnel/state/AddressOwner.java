package dev.hbone.ztunnel.state;

/** What an address or a hostname resolves to in the mesh: a {@link Workload} or a {@link Service}. */
public sealed interface AddressOwner permits Workload, Service {
}
