#!/usr/bin/python3
"""A misbehaving SIP peer on 127.0.0.1 for the soak test (standard library only).

UDP: every request gets the next misbehaviour of a fixed cycle (a correct 200 now and then,
wrong branch, wrong Call-ID, wrong CSeq, garbage, duplicates, a 100 and then silence, a cut
message, an oversized one, an answer from another port, nothing), and every address a
request came from is sent unsolicited responses with random branches at a bounded rate.
TCP: one port trickles a header that never ends (slowloris) until the client leaves;
another resets connections (at once, after the request, or after a garbage line).

  hostile_peer.py --ports-file PATH [--flood-rate 500] [--seed 1]

Once listening it writes {"udp": P, "slowloris": Q, "reset": R} to PATH. On SIGTERM or
SIGINT it prints its counters to stdout and exits 0.
"""

import argparse
import json
import os
import random
import selectors
import signal
import socket
import struct
import sys
import time

MAX_TCP_CONNECTIONS = 64  # per listener; more are closed at once, so the peer stays bounded
TRICKLE_EVERY = 0.2  # seconds between slowloris bytes
MAX_SEEN_ADDRESSES = 16  # unsolicited responses go to at most this many client sockets

_stop = False


def _on_signal(_signo, _frame):
    global _stop
    _stop = True


def header_lines(request):
    """The request's Via, From, To, Call-ID and CSeq lines, in order, or None."""
    try:
        text = request.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    if not head or head[0].startswith("SIP/"):
        return None
    wanted = ("via:", "v:", "from:", "f:", "to:", "t:", "call-id:", "i:", "cseq:")
    lines = [l for l in head[1:] if l.lower().replace(" ", "").startswith(wanted)]
    return lines if any(l.lower().startswith("cseq") for l in lines) else None


def response(lines, code=200, reason="OK", extra=""):
    return ("SIP/2.0 %d %s\r\n%s\r\n%sContent-Length: 0\r\n\r\n"
            % (code, reason, "\r\n".join(lines), extra)).encode()


def altered(lines, prefix, change):
    """`lines` with the first line starting with one of `prefix` changed by `change`."""
    out = list(lines)
    for i, l in enumerate(out):
        if l.lower().startswith(prefix):
            out[i] = change(l)
            break
    return out


def flip_last(s):
    return s[:-1] + ("0" if s[-1] != "0" else "1")


def wrong_branch(line):
    # Only the branch parameter's value changes, so the Via still parses.
    head, sep, rest = line.partition("branch=")
    value, semi, tail = rest.partition(";")
    return head + sep + flip_last(value) + semi + tail if sep else flip_last(line)


def wrong_cseq(line):
    name, _, value = line.partition(":")
    number, _, method = value.strip().partition(" ")
    return "%s: %d %s" % (name, int(number) + 1 if number.isdigit() else 1, method)


class Udp:
    """The UDP side: answers badly and floods at a bounded rate."""

    def __init__(self, rng, flood_rate):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # answers from elsewhere
        self.other.bind(("127.0.0.1", 0))
        self.other.setblocking(False)
        self.rng = rng
        self.flood_rate = flood_rate
        self.tokens = 0.0
        self.last_refill = time.monotonic()
        self.seen = []  # client addresses, newest last
        self.turn = 0
        self.counts = {"received": 0, "sent": 0, "flood": 0, "send_errors": 0}

    def send(self, data, addr, sock=None):
        try:
            (sock or self.sock).sendto(data, addr)
            self.counts["sent"] += 1
        except OSError:  # a full buffer or an ICMP error from an earlier send
            self.counts["send_errors"] += 1

    def on_readable(self):
        for _ in range(64):
            try:
                data, addr = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # ICMP port unreachable for an earlier send
                self.counts["send_errors"] += 1
                continue
            self.counts["received"] += 1
            if addr in self.seen:
                self.seen.remove(addr)
            self.seen.append(addr)
            del self.seen[:-MAX_SEEN_ADDRESSES]
            lines = header_lines(data)
            if lines is not None:
                self.answer(lines, addr)

    def answer(self, lines, addr):
        self.turn += 1
        kind = self.turn % 11
        ok = response(lines)
        if kind == 0:
            self.send(ok, addr)
        elif kind == 1:
            self.send(response(altered(lines, ("via", "v:"), wrong_branch)), addr)
        elif kind == 2:
            self.send(response(altered(lines, ("call-id", "i:"), flip_last)), addr)
        elif kind == 3:
            self.send(response(altered(lines, ("cseq",), wrong_cseq)), addr)
        elif kind == 4:
            self.send(bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 600))),
                      addr)
        elif kind == 5:
            for _ in range(3):
                self.send(ok, addr)
        elif kind == 6:
            self.send(response(lines, 100, "Trying"), addr)
        elif kind == 7:
            self.send(ok[:self.rng.randint(1, len(ok) - 1)], addr)
        elif kind == 8:
            pad = "".join("X-Pad-%d: %s\r\n" % (i, "p" * 100) for i in range(120))
            self.send(response(lines, extra=pad), addr)
        elif kind == 9:
            self.send(ok, addr, self.other)
        # kind 10: silence

    def flood(self, now):
        # A tenth of a second of burst at most, so a pause does not end in a spike.
        burst = max(1.0, self.flood_rate / 10)
        self.tokens = min(burst, self.tokens + (now - self.last_refill) * self.flood_rate)
        self.last_refill = now
        while self.seen and self.tokens >= 1:
            self.tokens -= 1
            addr = self.seen[self.rng.randrange(len(self.seen))]
            branch = "z9hG4bK%016x" % self.rng.getrandbits(64)
            lines = ["Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (addr[0], addr[1], branch),
                     "From: <sip:flood@127.0.0.1>;tag=%x" % self.rng.getrandbits(32),
                     "To: <sip:soak@127.0.0.1>",
                     "Call-ID: %016x@flood" % self.rng.getrandbits(64),
                     "CSeq: %d OPTIONS" % self.rng.randint(1, 1000)]
            self.send(response(lines), addr)
            self.counts["flood"] += 1


class TcpConn:
    def __init__(self, sock, mode, step):
        self.sock = sock
        self.mode = mode  # "slowloris" or "reset"
        self.step = step  # reset: 0 at once, 1 after the request, 2 after a garbage line
        self.buf = b""
        self.trickling = False
        self.pending = b""
        self.next_byte = 0.0


def reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class Tcp:
    """Both TCP listeners and their connections."""

    def __init__(self, sel):
        self.sel = sel
        self.listeners = {}
        for mode in ("slowloris", "reset"):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(64)
            s.setblocking(False)
            self.listeners[mode] = s
            sel.register(s, selectors.EVENT_READ, ("listen", mode))
        self.conns = {"slowloris": [], "reset": []}
        self.accepted = 0
        self.counts = {"accepted": 0, "refused_over_limit": 0, "resets": 0, "trickled": 0}

    def port(self, mode):
        return self.listeners[mode].getsockname()[1]

    def on_accept(self, mode):
        try:
            sock, _ = self.listeners[mode].accept()
        except OSError:
            return
        self.counts["accepted"] += 1
        if len(self.conns[mode]) >= MAX_TCP_CONNECTIONS:
            self.counts["refused_over_limit"] += 1
            sock.close()
            return
        self.accepted += 1
        conn = TcpConn(sock, mode, self.accepted % 3)
        if mode == "reset" and conn.step == 0:
            self.counts["resets"] += 1
            reset(sock)
            return
        sock.setblocking(False)
        self.conns[mode].append(conn)
        self.sel.register(sock, selectors.EVENT_READ, ("conn", conn))

    def close(self, conn, rst=False):
        self.sel.unregister(conn.sock)
        self.conns[conn.mode].remove(conn)
        if rst:
            self.counts["resets"] += 1
            reset(conn.sock)
        else:
            conn.sock.close()

    def on_readable(self, conn):
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.close(conn)
            return
        conn.buf = (conn.buf + data)[-8192:]
        if b"\r\n\r\n" not in conn.buf:
            return
        if conn.mode == "reset":
            if conn.step == 2:
                try:
                    conn.sock.send(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                except OSError:
                    pass
            self.close(conn, rst=True)
        elif not conn.trickling:
            conn.trickling = True
            conn.pending = b"SIP/2.0 200 OK\r\nX-Slow: "
            conn.next_byte = time.monotonic()
        conn.buf = b""

    def trickle(self, now):
        for conn in list(self.conns["slowloris"]):
            if not conn.trickling or now < conn.next_byte:
                continue
            chunk = conn.pending[:1] if conn.pending else b"s"
            conn.pending = conn.pending[1:]
            try:
                conn.sock.send(chunk)
                self.counts["trickled"] += 1
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self.close(conn)
                continue
            conn.next_byte = now + TRICKLE_EVERY


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ports-file", required=True)
    ap.add_argument("--flood-rate", type=float, default=500.0,
                    help="unsolicited responses per second, all clients together")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    sel = selectors.DefaultSelector()
    udp = Udp(random.Random(args.seed), args.flood_rate)
    sel.register(udp.sock, selectors.EVENT_READ, ("udp", None))
    tcp = Tcp(sel)
    tmp = args.ports_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"udp": udp.sock.getsockname()[1], "slowloris": tcp.port("slowloris"),
                   "reset": tcp.port("reset")}, f)
    os.replace(tmp, args.ports_file)

    while not _stop:
        for key, _ in sel.select(timeout=0.02):
            what, arg = key.data
            if what == "udp":
                udp.on_readable()
            elif what == "listen":
                tcp.on_accept(arg)
            else:
                tcp.on_readable(arg)
        now = time.monotonic()
        udp.flood(now)
        tcp.trickle(now)
    counts = dict(udp.counts, **{"tcp_" + k: v for k, v in tcp.counts.items()})
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
