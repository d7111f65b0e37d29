package dev.hbone.ztunnel.proxy;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/** One listener's open connections, for draining: a count that must reach zero and the channels to force-close. */
final class ConnectionTracker {
    private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final AtomicInteger open = new AtomicInteger();
    private final CompletableFuture<Void> drained = new CompletableFuture<>();
    private volatile boolean draining;

    void add(Channel channel) {
        channels.add(channel);
    }

    void opened() {
        open.incrementAndGet();
    }

    void closed() {
        if (open.decrementAndGet() == 0 && draining) {
            drained.complete(null);
        }
    }

    int open() {
        return open.get();
    }

    boolean draining() {
        return draining;
    }

    /** Completes when no connection is left. */
    CompletableFuture<Void> drain() {
        draining = true;
        if (open.get() == 0) {
            drained.complete(null);
        }
        return drained;
    }

    void forceClose() {
        channels.close();
    }
}
