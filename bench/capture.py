"""Ground truth from the wire: dumpcap writes a capture, tshark reads SIP fields back."""

import os
import re
import signal
import socket
import time

from procs import BenchError, require_root, require_tool, run


CANARY = (b"OPTIONS sip:canary@127.0.0.1 SIP/2.0\r\n"
          b"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKcanary%d\r\n"
          b"From: <sip:canary@127.0.0.1>;tag=1\r\nTo: <sip:canary@127.0.0.1>\r\n"
          b"Call-ID: stxbench-canary\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")


class Capture:
    """dumpcap on `iface` with a capture filter on UDP `port`, written to `path`."""

    def __init__(self, procs, iface, port, path, name="dumpcap"):
        require_root("capturing on loopback")
        self.argv = [require_tool("dumpcap"), "-i", iface, "-f", "udp port %d" % port, "-w", path,
                     "-B", 256, "-q"]
        self.procs = procs
        self.path = path
        self.port = port
        self.name = name
        self.proc = None

    def start(self):
        """Starts dumpcap and returns once packets reach the file.

        "Capturing on" comes before the capture is live (up to a second later on a busy
        machine), so canary requests go to the port until the file grows past its header.
        """
        self.proc = self.procs.start(self.name, self.argv, stop_signal=signal.SIGINT)
        deadline = time.monotonic() + 20
        header = None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            n = 0
            while time.monotonic() < deadline:
                if not self.proc.alive():
                    raise BenchError("dumpcap exited at start: %s" % self.proc.tail())
                if os.path.exists(self.path):
                    size = os.path.getsize(self.path)
                    if header is None and size > 0:
                        header = size
                    elif header is not None and size > header:
                        return self
                n += 1
                s.sendto(CANARY % n, ("127.0.0.1", self.port))
                time.sleep(0.05)
        raise BenchError("dumpcap wrote no packet in 20 s")

    def stop(self):
        """Stops capturing; the number of packets the kernel dropped (None if not reported)."""
        self.proc.stop()
        if not os.path.exists(self.path):
            raise BenchError("dumpcap wrote no file: %s" % self.proc.tail())
        m = re.search(r"received/dropped on interface '.*?':\s*\d+/(\d+)", self.proc.stderr())
        return int(m.group(1)) if m else None


class Exchange:
    """What the wire saw of one Call-ID."""
    __slots__ = ("first_request", "final_response", "requests")

    def __init__(self):
        self.first_request = None
        self.final_response = None
        self.requests = 0

    def wire_rtt(self):
        """From the first transmission to the final response (seconds), or None."""
        if self.first_request is None or self.final_response is None:
            return None
        return self.final_response - self.first_request


def exchanges(path, port, timeout=600):
    """{Call-ID: Exchange} of the SIP over UDP `port` in the capture at `path`."""
    tshark = require_tool("tshark")
    out = run([tshark, "-n", "-r", path, "-d", "udp.port==%d,sip" % port, "-Y", "sip",
               "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f",
               "-e", "frame.time_epoch", "-e", "sip.Call-ID", "-e", "sip.Status-Code"],
              timeout=timeout)
    by_call = {}
    for line in out.splitlines():
        cells = line.split("\t")
        if len(cells) < 3 or not cells[1]:
            continue
        ts, call_id, status = float(cells[0]), cells[1], cells[2]
        ex = by_call.setdefault(call_id, Exchange())
        if not status:
            ex.requests += 1
            if ex.first_request is None:
                ex.first_request = ts
        elif int(status) >= 200 and ex.final_response is None:
            ex.final_response = ts
    return by_call
