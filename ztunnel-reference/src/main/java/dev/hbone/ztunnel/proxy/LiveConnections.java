package dev.hbone.ztunnel.proxy;

import dev.hbone.authz.CompiledPolicies;
import dev.hbone.authz.ConnectionAttributes;
import dev.hbone.authz.Destination;
import dev.hbone.authz.PolicyEvaluator;
import dev.hbone.authz.SnapshotListener;
import dev.hbone.ztunnel.metrics.ResponseFlag;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open inbound connections with the inputs their authorization was decided on. When the policies change,
 * each is evaluated again and those now denied are closed (response flag {@code DENY}), as ztunnel does.
 */
final class LiveConnections implements SnapshotListener {
    private static final Logger log = LoggerFactory.getLogger(LiveConnections.class);

    /** One authorized connection; its description is built only if it is logged (every open connection has one). */
    record Entry(Destination destination, ConnectionAttributes attributes, Supplier<String> description,
            ProxiedConnection connection, Runnable close) {
    }

    private final Set<Entry> entries = ConcurrentHashMap.newKeySet();

    void add(Entry entry) {
        entries.add(entry);
    }

    void remove(Entry entry) {
        entries.remove(entry);
    }

    int size() {
        return entries.size();
    }

    @Override
    public void onSnapshotChanged(CompiledPolicies previous, CompiledPolicies current) {
        List<PolicyEvaluator.Denied<Entry>> denied = PolicyEvaluator.deniedConnections(current, List.copyOf(entries),
                Entry::destination, Entry::attributes);
        for (PolicyEvaluator.Denied<Entry> d : denied) {
            Entry e = d.connection();
            String why = d.decision().toLogString();
            log.warn("closing {}: denied by the new policies: {}", e.description().get(), why);
            e.connection().authorization(why);
            e.connection().closingBecause(ResponseFlag.DENY, "connection closed: policy changed");
            entries.remove(e);
            e.close().run();
        }
    }
}
