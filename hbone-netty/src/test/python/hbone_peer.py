#!/usr/bin/env python3
"""An independent HBONE peer for interop tests of hbone-java, built on python-h2 and Python's ssl module.

Nothing here shares code with the Java implementation: the point is to check that our tunnels are understood by
HTTP/2 code nobody on the project wrote.

  hbone_peer.py client --cert C --key K --ca CA --peer 127.0.0.1:15008 --expect spiffe://... SCENARIO ARGS...
  hbone_peer.py server --cert C --key K --ca CA [--listen 127.0.0.1:0]

The client prints one JSON object per scenario on stdout. The server prints "PORT <n>" once listening, "PEER <id>"
per connection, and "GREETER <bytes>" whenever a greeter tunnel ends.

Server behaviour by the CONNECT authority's port: 7 echo, 9 count-then-answer, 13 greet-then-count,
400/401/503 answer that status, anything else 503.
"""
import argparse
import hashlib
import json
import os
import select
import socket
import ssl
import sys
import threading

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

STREAM_WINDOW = 4 * 1024 * 1024
CONNECTION_WINDOW = 16 * 1024 * 1024
BLOCK = os.urandom(1024 * 1024)


def tls_context(server, cert, key, ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    if not server:
        ctx.check_hostname = False  # SPIFFE: the identity is the URI SAN, checked below
    ctx.set_alpn_protocols(["h2"])
    return ctx


def spiffe_id(tls_sock):
    for kind, value in tls_sock.getpeercert().get("subjectAltName", ()):
        if kind == "URI":
            return value
    return None


class Source:
    """`size` bytes cut from a random block, hashed as they are sent."""

    def __init__(self, size):
        self.remaining = size
        self.offset = 0
        self.digest = hashlib.sha256()

    def take(self, n):
        n = min(n, self.remaining, len(BLOCK) - self.offset)
        chunk = BLOCK[self.offset:self.offset + n]
        self.offset = (self.offset + n) % len(BLOCK)
        self.remaining -= n
        self.digest.update(chunk)
        return chunk


class Stream:
    """Per-stream state: what to send (bytes and/or a Source), whether to end, what arrived."""

    def __init__(self, sid):
        self.sid = sid
        self.out = bytearray()
        self.source = None
        self.end_after_send = False
        self.ended_local = False
        self.ended_remote = False
        self.status = None
        self.end_on_headers = False
        self.received = 0
        self.digest = hashlib.sha256()
        self.head = bytearray()
        self.reset = None
        self.behaviour = None
        self.counted = 0

    def pending(self):
        return bool(self.out) or (self.source is not None and self.source.remaining > 0)


class Peer:
    """One HTTP/2 connection driven by a select loop on a blocking TLS socket."""

    def __init__(self, sock, client_side):
        # python-h2 4.1 insists on :scheme/:path even for CONNECT (RFC 9113 8.5 forbids them there), so its request
        # validation is off on the side that would apply it; run_server validates CONNECT itself.
        config = h2.config.H2Configuration(client_side=client_side, header_encoding="utf-8",
                                           validate_outbound_headers=not client_side,
                                           validate_inbound_headers=client_side)
        self.conn = h2.connection.H2Connection(config=config)
        self.sock = sock
        self.streams = {}
        self.closed = False
        self.conn.initiate_connection()
        settings = {h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
                    h2.settings.SettingCodes.MAX_FRAME_SIZE: 1024 * 1024}
        if client_side:
            settings[h2.settings.SettingCodes.ENABLE_PUSH] = 0
        else:
            settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = 1000
        self.conn.update_settings(settings)
        self.conn.increment_flow_control_window(CONNECTION_WINDOW - 65535)
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send_pending(self):
        for s in list(self.streams.values()):
            while s.pending() and not s.ended_local and s.reset is None:
                window = min(self.conn.local_flow_control_window(s.sid), self.conn.max_outbound_frame_size)
                if window <= 0:
                    break
                if s.out:
                    chunk = bytes(s.out[:window])
                    del s.out[:len(chunk)]
                else:
                    chunk = s.source.take(window)
                self.conn.send_data(s.sid, chunk)
            if not s.pending() and s.end_after_send and not s.ended_local and s.reset is None:
                self.conn.end_stream(s.sid)
                s.ended_local = True
        self.flush()

    def step(self, on_event):
        self.send_pending()
        readable, _, _ = select.select([self.sock], [], [], 20)
        if not readable:
            raise TimeoutError("no data from the peer for 20 s")
        data = self.sock.recv(1024 * 1024)
        if not data:
            self.closed = True
            return
        for event in self.conn.receive_data(data):
            if isinstance(event, h2.events.DataReceived):
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            if isinstance(event, h2.events.ConnectionTerminated):
                self.closed = True
            on_event(event)
        self.send_pending()
        # pending data that the window did not allow: select again (the peer's WINDOW_UPDATE will come)
        while self.sock.pending():
            more = self.sock.recv(1024 * 1024)
            if not more:
                self.closed = True
                return
            for event in self.conn.receive_data(more):
                if isinstance(event, h2.events.DataReceived):
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                on_event(event)
            self.send_pending()


def record_data(stream, data):
    stream.received += len(data)
    stream.digest.update(data)
    if len(stream.head) < 64:
        stream.head += data[:64 - len(stream.head)]


# ---------------------------------------------------------------- client

def client_event(peer):
    def on_event(event):
        s = peer.streams.get(getattr(event, "stream_id", None))
        if s is None:
            return
        if isinstance(event, h2.events.ResponseReceived):
            s.status = dict(event.headers).get(":status")
            if event.stream_ended is not None:
                s.end_on_headers = True
                s.ended_remote = True
        elif isinstance(event, h2.events.DataReceived):
            record_data(s, event.data)
        elif isinstance(event, h2.events.StreamEnded):
            s.ended_remote = True
        elif isinstance(event, h2.events.StreamReset):
            s.reset = event.error_code
            s.ended_remote = True
    return on_event


def connect(args):
    raw = socket.create_connection(tuple_addr(args.peer))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tls = tls_context(False, args.cert, args.key, args.ca).wrap_socket(raw)  # no server_hostname: no SNI
    if tls.selected_alpn_protocol() != "h2":
        raise RuntimeError("ALPN is %r, not h2" % tls.selected_alpn_protocol())
    peer_id = spiffe_id(tls)
    if peer_id != args.expect:
        raise RuntimeError("server is %s, expected %s" % (peer_id, args.expect))
    return Peer(tls, True)


def open_stream(peer, authority, extra=()):
    sid = peer.conn.get_next_available_stream_id()
    headers = [(":method", "CONNECT"), (":authority", authority)] + list(extra)
    peer.conn.send_headers(sid, headers)
    s = Stream(sid)
    peer.streams[sid] = s
    peer.flush()
    return s


def wait(peer, predicate):
    on_event = client_event(peer)
    while not predicate():
        if peer.closed:
            raise RuntimeError("connection closed")
        peer.step(on_event)


def run_client(args):
    peer = connect(args)
    scenario, rest = args.scenario, args.rest
    result = {"scenario": scenario}
    if scenario == "integrity":
        authority, size = rest[0], int(rest[1])
        s = open_stream(peer, authority)
        wait(peer, lambda: s.status is not None)
        # No payload before the 200.
        result["status"] = s.status
        s.source = Source(size)
        s.end_after_send = True
        wait(peer, lambda: s.ended_remote)
        result.update(bytes=s.received, sent=s.source.digest.hexdigest(), received=s.digest.hexdigest(),
                      reset=s.reset)
    elif scenario == "halfclose":  # we FIN first; the answer comes back on the open direction
        authority, size = rest[0], int(rest[1])
        s = open_stream(peer, authority)
        wait(peer, lambda: s.status is not None)
        s.source = Source(size)
        s.end_after_send = True
        wait(peer, lambda: s.ended_remote)
        result.update(status=s.status, answer=s.head.decode("ascii", "replace"), reset=s.reset)
    elif scenario == "greeter":  # the server FINs first; we keep sending afterwards
        authority, size = rest[0], int(rest[1])
        s = open_stream(peer, authority)
        wait(peer, lambda: s.ended_remote)
        result.update(status=s.status, answer=s.head.decode("ascii", "replace"), reset=s.reset)
        s.source = Source(size)
        s.end_after_send = True
        wait(peer, lambda: s.ended_local)
        # let the server see our END_STREAM before we go
        peer.conn.close_connection()
        peer.flush()
    elif scenario == "concurrent":
        authority, count, size = rest[0], int(rest[1]), int(rest[2])
        streams = [open_stream(peer, authority) for _ in range(count)]
        wait(peer, lambda: all(x.status is not None for x in streams))
        for x in streams:
            x.source = Source(size)
            x.end_after_send = True
        wait(peer, lambda: all(x.ended_remote for x in streams))
        ok = sum(1 for x in streams if x.status == "200" and x.received == size
                 and x.digest.hexdigest() == x.source.digest.hexdigest())
        result.update(streams=count, ok=ok)
    elif scenario == "status":
        statuses = []
        for authority in rest:
            s = open_stream(peer, authority)
            wait(peer, lambda: s.status is not None or s.reset is not None)
            statuses.append({"authority": authority, "status": s.status, "end": s.end_on_headers,
                             "reset": s.reset})
        # a good tunnel on the same connection afterwards
        result["statuses"] = statuses
    else:
        raise SystemExit("unknown scenario " + scenario)
    print(json.dumps(result), flush=True)
    try:
        peer.conn.close_connection()
        peer.flush()
        peer.sock.close()
    except OSError:
        pass


# ---------------------------------------------------------------- server

def serve_connection(tls):
    try:
        if tls.selected_alpn_protocol() != "h2":
            tls.close()
            return
        print("PEER %s" % spiffe_id(tls), flush=True)
        peer = Peer(tls, False)

        def on_event(event):
            sid = getattr(event, "stream_id", None)
            if isinstance(event, h2.events.RequestReceived):
                h = dict(event.headers)
                authority = h.get(":authority", "")
                port = authority.rsplit(":", 1)[-1]
                s = Stream(sid)
                peer.streams[sid] = s
                if h.get(":method") != "CONNECT" or ":path" in h or ":scheme" in h:
                    answer(peer, s, "400")
                elif port in ("400", "401", "503"):
                    answer(peer, s, port)
                elif port in ("7", "9", "13"):
                    s.behaviour = {"7": "echo", "9": "counter", "13": "greeter"}[port]
                    peer.conn.send_headers(sid, [(":status", "200")])
                    if s.behaviour == "greeter":
                        s.out += b"hello"
                        s.end_after_send = True
                else:
                    answer(peer, s, "503")
                return
            s = peer.streams.get(sid)
            if s is None:
                return
            if isinstance(event, h2.events.DataReceived):
                s.counted += len(event.data)
                if s.behaviour == "echo":
                    s.out += event.data
            elif isinstance(event, h2.events.StreamEnded):
                s.ended_remote = True
                if s.behaviour == "echo":
                    s.end_after_send = True
                elif s.behaviour == "counter":
                    s.out += str(s.counted).encode("ascii")
                    s.end_after_send = True
                elif s.behaviour == "greeter":
                    print("GREETER %d" % s.counted, flush=True)
            elif isinstance(event, h2.events.StreamReset):
                s.reset = event.error_code
                peer.streams.pop(sid, None)

        while not peer.closed:
            peer.step(on_event)
            for sid, s in list(peer.streams.items()):
                if s.ended_local and s.ended_remote:
                    peer.streams.pop(sid, None)
    except (OSError, TimeoutError, h2.exceptions.ProtocolError):
        pass
    finally:
        try:
            tls.close()
        except OSError:
            pass


def answer(peer, stream, status):
    peer.conn.send_headers(stream.sid, [(":status", status)], end_stream=True)
    stream.ended_local = True


def run_server(args):
    ctx = tls_context(True, args.cert, args.key, args.ca)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(tuple_addr(args.listen))
    listener.listen(128)
    print("PORT %d" % listener.getsockname()[1], flush=True)
    while True:
        raw, _ = listener.accept()
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            print("HANDSHAKE-FAILED %s" % e, flush=True)
            raw.close()
            continue
        threading.Thread(target=serve_connection, args=(tls,), daemon=True).start()


def tuple_addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["client", "server"])
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--peer")
    parser.add_argument("--expect")
    parser.add_argument("--listen", default="127.0.0.1:0", help="server: address to listen on")
    parser.add_argument("scenario", nargs="?")
    parser.add_argument("rest", nargs="*")
    args = parser.parse_intermixed_args()
    if args.mode == "client":
        run_client(args)
    else:
        run_server(args)


if __name__ == "__main__":
    import h2.exceptions  # noqa: F401  (used in serve_connection)
    main()
