#!/usr/bin/python3
"""Soak test: the exporter probes a mixed fleet of targets for a long time on loopback while
its memory, file descriptors, scheduling lateness and throughput are sampled.

  soak.py --exporter BIN --responder BIN [--duration 10m] [--targets 1000] [--out DIR]

The fleet (shares of --targets): healthy UDP targets at a few sip_bench_responders, a few
healthy TCP targets at SIPp (when installed), failing ones (a closed UDP port, a 503
responder, a responder that answers after the timeout), flapping ones (a responder stopped
and restarted every 30-60 s on the same port) and hostile ones (tests/soak/hostile_peer.py:
wrong identifiers, garbage, duplicates and unsolicited responses over UDP; slowloris and
resets over TCP). Intervals are 1 s, 5 s (most) and 10 s.

Every --sample seconds: VmRSS, open fds and threads from /proc, and from /metrics the
probes finished, probes in flight and the schedule lateness histogram (p50/p99 of the
window since the previous sample). All of it goes to samples.csv in --out, with the
exporter's log, its configuration, the peers' output and the last /metrics.

Exit status: 0 when every check passed, 1 when one failed (RSS growth or fds beyond their
bounds after the warm-up, the exporter died or exited uncleanly, /metrics failed, probing
stopped, a target that cannot succeed succeeded), 2 when the soak itself broke (a peer
would not start, died or was never reached), 130 when interrupted. Timing figures never fail the run.
Standard library only; every process it starts is stopped on exit, Ctrl-C or SIGTERM, and
dies with it if it is killed (PR_SET_PDEATHSIG).
"""

import argparse
import csv
import ctypes
import datetime
import gzip
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Shares of the fleet; healthy UDP targets take what is left.
SHARES = [
    ("healthy_tcp", 0.010),
    ("refused", 0.040),
    ("error_503", 0.040),
    ("timeout", 0.040),
    ("flapping", 0.050),
    ("hostile_udp", 0.050),
    ("slowloris_tcp", 0.005),
    ("reset_tcp", 0.005),
]
HEALTHY_RESPONDERS = 4
TCP_KINDS = ("healthy_tcp", "slowloris_tcp", "reset_tcp")
NEVER_SUCCEED = ("refused", "error_503", "timeout")  # any success there is a matching bug
LATE_ANSWER_MS = 6000  # the "timeout" responder's hold: above every timeout below
FLAP_PHASE = (30.0, 60.0)  # seconds the flapping responder stays up, then down


class SoakError(Exception):
    """The soak itself broke (a peer did not start or died): exit status 2."""


class Interrupted(Exception):
    pass


def _interrupt(signo, _frame):
    raise Interrupted(signal.Signals(signo).name)


def parse_duration(text):
    """Seconds in "45m", "1h30m", "90s", "500ms" or a plain number of seconds."""
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise argparse.ArgumentTypeError("bad duration %r (want e.g. 10m, 1h30m, 90s)" % text)
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * unit[u] for n, u in parts)


# ---------------------------------------------------------------------------- processes

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _child_setup(parent):
    def setup():
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the soak died before prctl took effect
            os._exit(1)
    return setup


class Proc:
    """One child process, its stderr (and stdout unless discarded) in files under `logdir`."""

    def __init__(self, name, argv, logdir, keep_stdout=True, cwd=None, append=False):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.err_path = os.path.join(logdir, name + ".err")
        self.out_path = os.path.join(logdir, name + ".out") if keep_stdout else os.devnull
        mode = "ab" if append else "wb"
        with open(self.out_path, mode) as out, open(self.err_path, mode) as err:
            # Own session: a Ctrl-C reaches the soak only, which then stops everyone.
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=err, cwd=cwd, start_new_session=True,
                                          preexec_fn=_child_setup(os.getpid()))

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit status."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode

    def tail(self, n=5):
        text = ""
        for path in (self.err_path, self.out_path):
            if path != os.devnull and os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f.read()[-4000:]
        return " | ".join(text.strip().splitlines()[-n:])


class Procs:
    """Every process the soak starts; all are stopped, newest first, when the block ends."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.procs = []

    def start(self, name, argv, **kw):
        # A restarted peer appends to its logs; a new run in the same directory starts afresh.
        kw["append"] = any(p.name == name for p in self.procs)
        p = Proc(name, argv, self.logdir, **kw)
        self.procs.append(p)
        return p

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            p.stop()
        return False


def free_port(kind):
    with socket.socket(socket.AF_INET,
                       socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_bound(port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def tcp_listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_for(check, proc, seconds=10.0):
    """Polls `check` until it holds; False when `proc` died or the deadline passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        if not proc.alive():
            return False
        time.sleep(0.05)
    return False


def start_responder(procs, binary, name, port=None, code=200, delay_ms=0):
    """A sip_bench_responder on `port` (a free one when None), once it is bound."""
    for _ in range(5):
        p = port or free_port("udp")
        argv = [binary, "--port", p, "--code", code, "--delay-ms", delay_ms]
        proc = procs.start(name, argv)
        if wait_for(lambda: udp_bound(p), proc) and proc.alive():
            return proc, p
        proc.stop()
        if port:
            break
    return None, port


def start_sipp_tcp(procs, outdir):
    """SIPp answering OPTIONS with 200 over TCP, or None when SIPp is not installed."""
    sipp = shutil.which("sipp")
    if not sipp:
        return None, None
    scenario = os.path.join(ROOT, "tests", "integration", "peers", "options_200.xml")
    for _ in range(3):
        port, media, control = free_port("tcp"), free_port("udp"), free_port("udp")
        argv = [sipp, "-sf", scenario, "-t", "t1", "-i", "127.0.0.1", "-p", port, "-bind_local",
                "-mi", "127.0.0.1", "-mp", media, "-ci", "127.0.0.1", "-cp", control,
                "-nostdin"]
        # Its stdout is a screen redrawn every second: not worth keeping for an hour.
        proc = procs.start("sipp_tcp", argv, keep_stdout=False, cwd=outdir)
        if wait_for(lambda: tcp_listening(port), proc) and proc.alive():
            return proc, port
        proc.stop()
    raise SoakError("SIPp did not start on TCP: %s" % proc.tail())


def start_hostile(procs, outdir, flood_rate):
    ports_file = os.path.join(outdir, "hostile_ports.json")
    if os.path.exists(ports_file):  # left by an earlier run in the same directory
        os.remove(ports_file)
    argv = [sys.executable, os.path.join(HERE, "hostile_peer.py"), "--ports-file", ports_file,
            "--flood-rate", flood_rate]
    proc = procs.start("hostile_peer", argv)
    if not wait_for(lambda: os.path.exists(ports_file), proc):
        raise SoakError("hostile peer did not start: %s" % proc.tail())
    with open(ports_file) as f:
        return proc, json.load(f)


# ---------------------------------------------------------------------------- fleet

def kind_counts(n, have_tcp_peer):
    """How many targets of each kind: at least one of each, healthy UDP the rest."""
    counts = {}
    for kind, share in SHARES:
        if kind == "healthy_tcp" and not have_tcp_peer:
            continue
        counts[kind] = max(1, round(n * share))
    counts["healthy"] = n - sum(counts.values())
    if counts["healthy"] < HEALTHY_RESPONDERS:
        raise ValueError("--targets %d is too few for the mix (at least %d)"
                         % (n, n - counts["healthy"] + HEALTHY_RESPONDERS))
    return counts


def interval_of(i):
    """(interval, timeout) of the i-th target: 10% at 1 s, 10% at 10 s, the rest at 5 s."""
    if i % 10 == 0:
        return "1s", "800ms"
    if i % 10 == 5:
        return "10s", "5s"
    return "5s", "3s"


def plan(n, uris_by_kind):
    """Targets as dicts (name, uri, interval, timeout, kind); uris_by_kind: kind -> [uri]."""
    counts = kind_counts(n, "healthy_tcp" in uris_by_kind)
    targets = []
    for kind in sorted(counts):
        uris = uris_by_kind[kind]
        for j in range(counts[kind]):
            interval, timeout = interval_of(len(targets))
            targets.append({"name": "%s-%04d" % (kind, j), "uri": uris[j % len(uris)],
                            "interval": interval, "timeout": timeout, "kind": kind})
    return targets


def write_config(path, targets):
    lines = ['[defaults]', 'interval = "5s"', 'timeout = "3s"', '']
    for t in targets:
        lines += ['[[target]]', 'name = "%s"' % t["name"], 'uri = "%s"' % t["uri"]]
        if t["interval"] != "5s":
            lines += ['interval = "%s"' % t["interval"], 'timeout = "%s"' % t["timeout"]]
        lines += ['labels = { kind = "%s" }' % t["kind"], '']
    with open(path, "w") as f:
        f.write("\n".join(lines))


# ---------------------------------------------------------------------------- metrics

_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{name: [(labels dict, value)]} from the Prometheus text format."""
    out = {}
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        m = _LINE.match(line)
        if not m:
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        labels = dict(_LABEL.findall(m.group(2) or ""))
        out.setdefault(m.group(1), []).append((labels, value))
    return out


def total(metrics, name, **match):
    return sum(v for labels, v in metrics.get(name, [])
               if all(labels.get(k) == w for k, w in match.items()))


def buckets_of(metrics, name):
    """Sorted [(le, cumulative count)] of an unlabelled histogram, or None when absent."""
    rows = metrics.get(name + "_bucket")
    if not rows:
        return None
    return sorted((float(labels["le"]), v) for labels, v in rows if "le" in labels)


def bucket_diff(new, old):
    if new is None or old is None or [le for le, _ in new] != [le for le, _ in old]:
        return None
    return [(le, c - o) for (le, c), (_, o) in zip(new, old)]


def quantile(buckets, q):
    """The q-quantile of cumulative `buckets`, linear inside the bucket it falls in (the
    first bucket starts at 0); the last finite bound when it falls in +Inf; None if empty."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    prev_le, prev_c = 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if math.isinf(le):
                return prev_le
            if c == prev_c:
                return le
            return prev_le + (le - prev_le) * (rank - prev_c) / (c - prev_c)
        prev_le, prev_c = le, c
    return prev_le


def proc_status(pid):
    """(VmRSS KiB, VmHWM KiB, threads, open fds) of a live process."""
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    fds = len(os.listdir("/proc/%d/fd" % pid))
    return int(fields["VmRSS"][0]), int(fields["VmHWM"][0]), int(fields["Threads"][0]), fds


class Exporter:
    def __init__(self, procs, binary, config):
        self.procs, self.binary, self.config = procs, binary, config
        self.proc = None
        self.port = None

    def start(self, count):
        for _ in range(3):
            self.port = free_port("tcp")
            self.proc = self.procs.start("exporter", [
                self.binary, "--config.file=" + self.config,
                "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=info"])
            if wait_for(self._ready, self.proc, 60 + count / 1000):
                return
            if self.proc.alive():
                raise SoakError("the exporter was not ready within a minute: %s"
                                % self.proc.tail())
            if "address already in use" not in self.proc.tail(20).lower():
                break
        raise SoakError("the exporter exited at start (%s): %s"
                        % (self.proc.popen.returncode, self.proc.tail()))

    def _ready(self):
        try:
            return self.get("/-/ready", timeout=2)[0] == 200
        except OSError:
            return False

    def get(self, path, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
            resp = conn.getresponse()
            body = resp.read()
            if resp.getheader("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            return resp.status, body.decode("utf-8", "replace")
        finally:
            conn.close()

    def scrape(self):
        """(/metrics text, seconds it took) or raises OSError with the reason; one retry."""
        error = None
        for attempt in range(2):
            start = time.monotonic()
            try:
                status, text = self.get("/metrics")
                if status == 200:
                    return text, time.monotonic() - start
                error = "answered %d" % status
            except (OSError, http.client.HTTPException, EOFError) as e:
                error = "%s: %s" % (type(e).__name__, e)
            if attempt == 0:
                time.sleep(1)
        raise OSError("/metrics failed twice: %s" % error)


# ---------------------------------------------------------------------------- samples

LATENESS = "sip_exporter_schedule_lateness_seconds"
CSV_FIELDS = ["t_s", "rss_kib", "hwm_kib", "fds", "threads", "probes_total", "probes_per_s",
              "success_ratio", "in_flight", "late_p50_ms", "late_p99_ms", "late_count",
              "unmatched_per_s", "invalid_per_s", "scrape_ms", "flapper_up"]


def make_sample(t, status, metrics, scrape_s, prev, flapper_up):
    rss, hwm, threads, fds = status
    s = {"t_s": round(t, 1), "rss_kib": rss, "hwm_kib": hwm, "fds": fds, "threads": threads,
         "probes_total": total(metrics, "sip_probes_total"),
         "success_total": total(metrics, "sip_probes_total", result="success"),
         "unmatched_total": total(metrics, "sip_exporter_unmatched_responses_total"),
         "invalid_total": total(metrics, "sip_exporter_invalid_messages_total"),
         "in_flight": total(metrics, "sip_exporter_probes_in_flight"),
         "late": buckets_of(metrics, LATENESS), "scrape_ms": round(scrape_s * 1000, 1),
         "flapper_up": int(flapper_up)}
    if prev is None:
        return s
    dt = max(1e-6, t - prev["t_s"])
    probes = s["probes_total"] - prev["probes_total"]
    s["probes_per_s"] = round(probes / dt, 1)
    if probes > 0:
        s["success_ratio"] = round((s["success_total"] - prev["success_total"]) / probes, 3)
    s["unmatched_per_s"] = round((s["unmatched_total"] - prev["unmatched_total"]) / dt, 1)
    s["invalid_per_s"] = round((s["invalid_total"] - prev["invalid_total"]) / dt, 1)
    window = bucket_diff(s["late"], prev["late"])
    if window is not None:
        s["late_count"] = int(window[-1][1])
        for q, key in ((0.5, "late_p50_ms"), (0.99, "late_p99_ms")):
            v = quantile(window, q)
            if v is not None:
                s[key] = round(v * 1000, 3)
    return s


def fmt(v, spec="%s", missing="n/a"):
    return missing if v is None else spec % v


def sample_line(s):
    return ("t=%6.0fs rss=%6.1fMiB fds=%4d thr=%2d probes/s=%6s in_flight=%5s "
            "late p50=%sms p99=%sms unmatched/s=%s flapper=%s"
            % (s["t_s"], s["rss_kib"] / 1024, s["fds"], s["threads"],
               fmt(s.get("probes_per_s")), fmt(s["in_flight"], "%.0f"),
               fmt(s.get("late_p50_ms"), "%.3f"), fmt(s.get("late_p99_ms"), "%.3f"),
               fmt(s.get("unmatched_per_s")), "up" if s["flapper_up"] else "down"))


# ---------------------------------------------------------------------------- verdict

def warmup_seconds(duration):
    """The first 20% of the run or 2 minutes, whichever is longer, but at most half of it."""
    return min(max(0.2 * duration, 120.0), 0.5 * duration)


def rss_bound_kib(baseline_kib):
    # After the warm-up every target has probed many times, every TCP connection has been
    # opened, torn down and reopened, and /metrics has been served at full size, so the
    # heap is at its working size. What still moves is allocator noise: glibc arenas of
    # the probing and HTTP threads, the exposition and gzip buffers of a scrape (a few
    # hundred KiB at 1,000 targets) and fragmentation: a few MiB at most. 8 MiB over a
    # 10-minute run (about 100k probes and 200k hostile datagrams after the warm-up)
    # still catches a leak of ~80 bytes per probe or ~40 bytes per datagram; 5% scales
    # the bound for a much larger fleet.
    return max(8 * 1024, 0.05 * baseline_kib)


def fd_slack(tcp_targets):
    # Each TCP target holds at most one connection, open or not at any instant (slowloris
    # and reset peers make them come and go); a few more for the scrape connection, a
    # DNS socket and a log reopen.
    return tcp_targets + 5


def verdict(samples, duration, tcp_targets):
    """(checks, failures): each check a line of text; failures those that did not hold."""
    checks, failures = [], []

    def check(ok, text):
        checks.append(("ok   " if ok else "FAIL ") + text)
        if not ok:
            failures.append(text)

    warm = warmup_seconds(duration)
    post = [s for s in samples if s["t_s"] >= warm]
    last_quarter = [s for s in samples if s["t_s"] >= 0.75 * duration]
    if len(post) < 2 or not last_quarter:
        checks.append("n/a  RSS and fd growth: too few samples after the %.0f s warm-up" % warm)
        return checks, failures
    base = post[0]
    peak = max(last_quarter, key=lambda s: s["rss_kib"])
    growth = peak["rss_kib"] - base["rss_kib"]
    bound = rss_bound_kib(base["rss_kib"])
    check(growth <= bound,
          "RSS growth %+.1f MiB (%.1f MiB at %.0f s -> max %.1f MiB at %.0f s), bound %.1f MiB"
          % (growth / 1024, base["rss_kib"] / 1024, base["t_s"], peak["rss_kib"] / 1024,
             peak["t_s"], bound / 1024))
    slack = fd_slack(tcp_targets)
    worst = max(last_quarter, key=lambda s: abs(s["fds"] - base["fds"]))
    check(abs(worst["fds"] - base["fds"]) <= slack,
          "fds %d at %.0f s, last quarter %d..%d (bound +-%d)"
          % (base["fds"], base["t_s"], min(s["fds"] for s in last_quarter),
             max(s["fds"] for s in last_quarter), slack))
    check(samples[-1]["probes_total"] > base["probes_total"],
          "probing went on after the warm-up (%d probes finished)"
          % (samples[-1]["probes_total"] - base["probes_total"]))
    return checks, failures


# ---------------------------------------------------------------------------- report

def mmss(seconds):
    return "%d:%02d" % divmod(int(round(seconds)), 60)


def window_rows(samples, rows=10):
    """Up to `rows` equal spans of the run: RSS, fds, probes/s, in flight, lateness."""
    if len(samples) < 2:
        return []
    step = max(1, math.ceil((len(samples) - 1) / rows))
    out = []
    for i in range(0, len(samples) - 1, step):
        a, b = samples[i], samples[min(i + step, len(samples) - 1)]
        span = samples[i + 1:min(i + step, len(samples) - 1) + 1]
        late = bucket_diff(b["late"], a["late"])
        dt = max(1e-6, b["t_s"] - a["t_s"])
        p50, p99 = (quantile(late, 0.5), quantile(late, 0.99)) if late else (None, None)
        out.append(["%s-%s" % (mmss(a["t_s"]), mmss(b["t_s"])),
                    "%.1f" % (b["rss_kib"] / 1024),
                    "%d..%d" % (min(s["fds"] for s in span), max(s["fds"] for s in span)),
                    "%.0f" % ((b["probes_total"] - a["probes_total"]) / dt),
                    "%.0f" % max(s["in_flight"] for s in span),
                    fmt(p50 and p50 * 1000, "%.3f"), fmt(p99 and p99 * 1000, "%.3f"),
                    "%.0f" % ((b["unmatched_total"] - a["unmatched_total"]) / dt)])
    return out


def table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) for c, w in zip(r, widths))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def kind_rows(metrics, counts):
    rows = []
    for kind in sorted(counts):
        probes = total(metrics, "sip_probes_total", kind=kind)
        ok = total(metrics, "sip_probes_total", kind=kind, result="success")
        outcomes = {}
        for labels, v in metrics.get("sip_probe_responses_total", []):
            if labels.get("kind") == kind and v:
                outcomes[labels["code"]] = outcomes.get(labels["code"], 0) + v
        for labels, v in metrics.get("sip_probe_failures_total", []):
            if labels.get("kind") == kind and v:
                outcomes[labels["reason"]] = outcomes.get(labels["reason"], 0) + v
        top = sorted(outcomes.items(), key=lambda kv: -kv[1])[:4]
        rows.append([kind, counts[kind], "%.0f" % probes,
                     "%.1f" % (100 * ok / probes) if probes else "n/a",
                     " ".join("%s:%.0f" % kv for kv in top)])
    return rows


# ---------------------------------------------------------------------------- the run

class Flapper:
    """A healthy responder stopped and restarted on the same port every 30-60 s."""

    def __init__(self, procs, binary, rng):
        self.procs, self.binary, self.rng = procs, binary, rng
        self.proc, self.port = start_responder(procs, binary, "flapper")
        if self.proc is None:
            raise SoakError("the flapping responder did not start")
        self.up = True
        self.restarts = 0
        self.lost = 0  # restarts that found the port taken by someone else
        self.next_change = time.monotonic() + rng.uniform(*FLAP_PHASE)

    def tick(self, now):
        if now < self.next_change:
            if self.up and not self.proc.alive():
                raise SoakError("the flapping responder died: %s" % self.proc.tail())
            return
        if self.up:
            self.proc.stop()
            self.up = False
        else:
            proc, _ = start_responder(self.procs, self.binary, "flapper", port=self.port)
            if proc is None:
                self.lost += 1
            else:
                self.proc, self.up = proc, True
                self.restarts += 1
        self.next_change = now + self.rng.uniform(*FLAP_PHASE)


def start_peers(procs, args, outdir, rng):
    """Starts every peer; returns (uris by kind, peers to watch, flapper, hostile peer)."""
    uris = {"healthy": [], "refused": ["sip:127.0.0.1:%d" % free_port("udp")]}
    watch = []
    for i in range(HEALTHY_RESPONDERS):
        proc, port = start_responder(procs, args.responder, "healthy%d" % i)
        if proc is None:
            raise SoakError("a healthy responder did not start")
        watch.append(proc)
        uris["healthy"].append("sip:127.0.0.1:%d" % port)
    for kind, code, delay in (("error_503", 503, 0), ("timeout", 200, LATE_ANSWER_MS)):
        proc, port = start_responder(procs, args.responder, kind, code=code, delay_ms=delay)
        if proc is None:
            raise SoakError("the %s responder did not start" % kind)
        watch.append(proc)
        uris[kind] = ["sip:127.0.0.1:%d" % port]
    flapper = Flapper(procs, args.responder, rng)
    uris["flapping"] = ["sip:127.0.0.1:%d" % flapper.port]
    hostile, ports = start_hostile(procs, outdir, args.flood_rate)
    watch.append(hostile)
    uris["hostile_udp"] = ["sip:127.0.0.1:%d" % ports["udp"]]
    uris["slowloris_tcp"] = ["sip:127.0.0.1:%d;transport=tcp" % ports["slowloris"]]
    uris["reset_tcp"] = ["sip:127.0.0.1:%d;transport=tcp" % ports["reset"]]
    sipp, port = start_sipp_tcp(procs, outdir)
    if sipp:
        watch.append(sipp)
        uris["healthy_tcp"] = ["sip:127.0.0.1:%d;transport=tcp" % port]
    return uris, watch, flapper, hostile


def run(args, outdir):
    rng = random.Random(args.seed)
    samples, result = [], {"failures": [], "checks": []}
    with Procs(outdir) as procs:
        uris, watch, flapper, hostile = start_peers(procs, args, outdir, rng)
        if "healthy_tcp" not in uris:
            print("note: sipp is not installed: no healthy TCP targets, UDP healthy only")
        targets = plan(args.targets, uris)
        counts = {}
        for t in targets:
            counts[t["kind"]] = counts.get(t["kind"], 0) + 1
        tcp_targets = sum(counts.get(k, 0) for k in TCP_KINDS)
        config = os.path.join(outdir, "soak.toml")
        write_config(config, targets)
        exporter = Exporter(procs, args.exporter, config)
        exporter.start(len(targets))
        print("fleet: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
        print("exporter pid %d on 127.0.0.1:%d; %s for %.0f s, a sample every %.0f s; "
              "warm-up %.0f s" % (exporter.proc.pid, exporter.port, outdir, args.duration,
                                  args.sample, warmup_seconds(args.duration)))
        sys.stdout.flush()

        start = time.monotonic()
        end = start + args.duration
        next_sample = start
        metrics = {}
        with open(os.path.join(outdir, "samples.csv"), "w", newline="") as f:
            out = csv.DictWriter(f, CSV_FIELDS, extrasaction="ignore")
            out.writeheader()
            while True:
                now = time.monotonic()
                if not exporter.proc.alive():
                    result["failures"].append("the exporter died (exit %s): %s"
                                              % (exporter.proc.popen.returncode,
                                                 exporter.proc.tail()))
                    break
                for p in watch:
                    if not p.alive():
                        raise SoakError("peer %s died (exit %s): %s"
                                        % (p.name, p.popen.returncode, p.tail()))
                flapper.tick(now)
                if now >= next_sample:
                    # /proc before the scrape: RSS then does not hold this scrape's buffers.
                    try:
                        status = proc_status(exporter.proc.pid)
                    except OSError:
                        continue  # it just died: reported as a crash on the next turn
                    try:
                        text, took = exporter.scrape()
                    except OSError as e:
                        if not exporter.proc.alive():
                            continue  # reported as a crash on the next turn
                        result["failures"].append(str(e))
                        break
                    metrics = parse_metrics(text)
                    s = make_sample(now - start, status, metrics, took,
                                    samples[-1] if samples else None, flapper.up)
                    samples.append(s)
                    out.writerow(s)
                    f.flush()
                    print(sample_line(s))
                    sys.stdout.flush()
                    if now >= end:
                        break
                    next_sample += args.sample
                    next_sample = min(max(next_sample, now + 1), end)
                time.sleep(max(0.0, min(1.0, next_sample - time.monotonic())))

        if metrics:
            with open(os.path.join(outdir, "metrics.txt"), "w") as f:
                f.write(text)
        if not result["failures"]:
            code = exporter.proc.stop()
            if code != 0:
                result["failures"].append("the exporter exited with %s on SIGTERM: %s"
                                          % (code, exporter.proc.tail()))
    if samples and samples[-1]["t_s"] >= 30:
        result["broken"] = miswired(watch)
    checks, failures = verdict(samples, args.duration, tcp_targets)
    for kind in NEVER_SUCCEED:
        ok = total(metrics, "sip_probes_total", kind=kind, result="success")
        probes = total(metrics, "sip_probes_total", kind=kind)
        good = ok == 0
        checks.append(("ok   " if good else "FAIL ") + "%s targets: %.0f of %.0f probes succeeded"
                      " (must be 0)" % (kind, ok, probes))
        if not good:
            failures.append("%s targets succeeded %.0f times" % (kind, ok))
    result["checks"] = checks + ["FAIL " + f for f in result["failures"]]
    result["failures"] += failures
    report(args, outdir, samples, metrics, counts, flapper, hostile, result)
    if result.get("broken"):
        return 2
    return 1 if result["failures"] else 0


def peer_counters(proc):
    """The key=value counters a peer printed when it stopped ({} when none)."""
    try:
        with open(proc.out_path) as f:
            return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", f.read())}
    except OSError:
        return {}


def miswired(peers):
    """Why the fleet did not reach its peers (a UDP peer got no request, the hostile peer no
    TCP connection), or None: such a run proves nothing about hostile or failing traffic."""
    for p in peers:
        if p.name.startswith("sipp"):
            continue  # no counters; its targets' successes show it was reached
        counters = peer_counters(p)
        if counters.get("received", 0) == 0:
            return "peer %s received no request (%s)" % (p.name, counters or "no counters")
        if p.name == "hostile_peer" and counters.get("tcp_accepted", 0) == 0:
            return "the hostile peer accepted no TCP connection"
    return None


def report(args, outdir, samples, metrics, counts, flapper, hostile, result):
    lines = ["", "soak: %d targets for %.0f s (%s)" % (sum(counts.values()), args.duration,
                                                     outdir), ""]
    lines.append(table(["time", "RSS MiB", "fds", "probes/s", "in flight", "late p50 ms",
                        "late p99 ms", "unmatched/s"], window_rows(samples)))
    if metrics:
        lines += ["", table(["kind", "targets", "probes", "ok %", "outcomes"],
                            kind_rows(metrics, counts))]
    log = os.path.join(outdir, "exporter.err")
    lines += ["", "flapping responder restarted %d times (%d lost the port); exporter log %.1f KiB"
              % (flapper.restarts, flapper.lost,
                 os.path.getsize(log) / 1024 if os.path.exists(log) else 0)]
    if hostile is not None and os.path.exists(hostile.out_path):
        with open(hostile.out_path) as f:
            lines.append("hostile peer: " + (f.read().strip() or "(no counters)"))
    if samples:
        hwm = max(s["hwm_kib"] for s in samples)
        lines.append("peak RSS (VmHWM) %.1f MiB, threads %d" % (hwm / 1024, samples[-1]["threads"]))
    lines += [""] + result["checks"]
    if result.get("broken"):
        lines.append("soak: broken: " + result["broken"])
    else:
        lines.append("soak: %s" % ("FAILED" if result["failures"] else "passed"))
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(outdir, "summary.txt"), "w") as f:
        f.write(text + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exporter", default=os.path.join(ROOT, "build/release/sip_trunk_exporter"))
    ap.add_argument("--responder",
                    default=os.path.join(ROOT, "build/release/bench/sip_bench_responder"))
    ap.add_argument("--duration", type=parse_duration, default=600.0)
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--sample", type=parse_duration, default=10.0, help="seconds between samples")
    ap.add_argument("--flood-rate", type=float, default=500.0,
                    help="unsolicited UDP responses per second from the hostile peer")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="output directory (default build/release/soak-results/run-TIME)")
    args = ap.parse_args(argv)
    try:
        kind_counts(args.targets, True)
    except ValueError as e:
        ap.error(str(e))
    for path in (args.exporter, args.responder):
        if not os.access(path, os.X_OK):
            ap.error("%s is not an executable (scripts/soak.sh builds it)" % path)
    outdir = args.out or os.path.join(
        ROOT, "build", "release", "soak-results",
        "run-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    os.makedirs(outdir, exist_ok=True)
    for signo in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signo, _interrupt)
    try:
        return run(args, os.path.abspath(outdir))
    except SoakError as e:
        print("soak: broken: %s" % e, file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted) as e:
        print("soak: interrupted (%s); every process it started was stopped"
              % (e or "SIGINT"), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
