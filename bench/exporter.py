"""The exporter under test: its configuration, its process and its HTTP endpoints."""

import gzip
import http.client
import os
import subprocess
import sys
import time

import shipped
from procs import BenchError, free_port


def toml_value(v):
    if isinstance(v, str):
        return '"%s"' % v
    return str(v)


def write_config(path, count, uri, defaults, exporter=None):
    """`count` targets t0..t<count-1>, all probing `uri`, with `defaults` for every one."""
    parts = []
    if exporter:
        parts.append("[exporter]\n")
        parts.extend("%s = %s\n" % (k, toml_value(v)) for k, v in exporter.items())
    parts.append("[defaults]\n")
    parts.extend("%s = %s\n" % (k, toml_value(v)) for k, v in defaults.items())
    parts.extend('[[target]]\nname = "t%d"\nuri = "%s"\n' % (i, uri) for i in range(count))
    with open(path, "w") as f:
        f.write("".join(parts))


EXIT_GRACE = 30  # seconds from SIGTERM to exit before SIGKILL


class Scrape:
    def __init__(self, status, seconds, wire_bytes, text):
        self.status = status
        self.seconds = seconds  # request sent to last byte received
        self.wire_bytes = wire_bytes  # body as sent (compressed when gzip)
        self.text = text  # decompressed body


# Fetches a URL from inside a network namespace: the driver cannot reach its loopback.
_FETCH = ("import sys, time, urllib.request\n"
          "t = time.monotonic(); body = urllib.request.urlopen(sys.argv[1], timeout=60).read()\n"
          "sys.stderr.write('%f' % (time.monotonic() - t)); sys.stdout.buffer.write(body)\n")


class Exporter:
    """One sip_trunk_exporter with `count` targets probing `uri`.

    `netns`: run it inside that network namespace (its web port is then on that
    namespace's loopback and scrapes go through `ip netns exec`).
    """

    def __init__(self, ctx, procs, name, count, uri, defaults, log_level="info", netns=None):
        self.procs = procs
        self.binary = ctx.exporter_bin
        self.notes = ctx.notes
        self.name = name
        self.count = count
        self.config = os.path.join(ctx.workdir, name + ".toml")
        self.exit_seconds = None
        self.log_level = log_level
        self.netns = netns
        write_config(self.config, count, uri, defaults)
        self.proc = None
        self.port = None

    def start(self):
        """Starts it and waits for /-/ready (a few tries on a port taken meanwhile)."""
        for _ in range(3):
            self.port = free_port("tcp")
            argv = [self.binary, "--config.file=" + self.config,
                    "--web.listen-address=127.0.0.1:%d" % self.port,
                    "--log.level=" + self.log_level]
            if self.netns:
                argv = ["ip", "netns", "exec", self.netns] + argv
            self.proc = self.procs.start(self.name, argv, env=shipped.unit_environment())
            # Loading and scheduling 100k targets takes a while on a slow machine.
            deadline = time.monotonic() + 60 + self.count / 1000
            while time.monotonic() < deadline and self.proc.alive():
                if self._ready():
                    return self
                time.sleep(0.1)
            if self.proc.alive():
                raise BenchError("%s not ready after %.0f s" % (self.name, 60 + self.count / 1000))
            if "address already in use" not in self.proc.stderr().lower():
                break
        raise BenchError("%s exited at start (%s): %s" % (self.name, self.proc.popen.returncode,
                                                          self.proc.tail()))

    def _ready(self):
        try:
            return self.get("/-/ready", timeout=2).status == 200
        except OSError:
            return False

    @property
    def pid(self):
        return self.proc.pid

    def check_alive(self):
        if not self.proc.alive():
            raise BenchError("%s exited during the measurement (exit %s): %s" % (
                self.name, self.proc.popen.returncode, self.proc.tail()))

    def get(self, path, gzipped=False, timeout=120):
        """GET `path`; a Scrape with timing and size."""
        if self.netns:
            return self._get_in_netns(path, timeout)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Accept-Encoding": "gzip"} if gzipped else {}
            start = time.monotonic()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            seconds = time.monotonic() - start
        finally:
            conn.close()
        text = gzip.decompress(body) if resp.getheader("Content-Encoding") == "gzip" else body
        return Scrape(resp.status, seconds, len(body), text.decode("utf-8", "replace"))

    def _get_in_netns(self, path, timeout):
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        try:
            done = subprocess.run(["ip", "netns", "exec", self.netns, sys.executable, "-c", _FETCH,
                                   url], capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError("GET %s in %s timed out" % (path, self.netns))
        if done.returncode != 0:
            raise OSError("GET %s in %s failed: %s" % (path, self.netns, done.stderr[-200:]))
        return Scrape(200, float(done.stderr or 0), len(done.stdout),
                      done.stdout.decode("utf-8", "replace"))

    def metrics(self):
        """The text of /metrics (checked to be a 200)."""
        self.check_alive()
        s = self.get("/metrics", gzipped=True)
        if s.status != 200:
            raise BenchError("%s: /metrics answered %d" % (self.name, s.status))
        return s.text

    def stop(self):
        """SIGTERM; a crash or an error exit breaks the bench, a slow exit is a finding."""
        self.check_alive()
        start = time.monotonic()
        code = self.proc.stop(timeout=EXIT_GRACE)
        self.exit_seconds = time.monotonic() - start
        if self.proc.killed:
            self.notes.append("%s (%d targets) did not exit within %d s of SIGTERM and was "
                              "killed" % (self.name, self.count, EXIT_GRACE))
        elif code != 0:
            raise BenchError("%s exited with %s on SIGTERM: %s" % (self.name, code,
                                                                     self.proc.tail()))
