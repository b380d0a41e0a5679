#!/usr/bin/python3
"""Scrape memory and time, two exporter binaries side by side in one run (issue 20).

For each binary: an exporter with N targets (unanswered, probed every 30 s) on loopback,
warmed up with one scrape; then its steady RSS, the peak RSS of one plain and one gzip
scrape (VmHWM, reset through /proc/PID/clear_refs before each), and the median time of
plain and gzip scrapes from the request to the last byte. Each runs with the Environment= of
the shipped systemd unit (bench/shipped.py), as the driver's exporters do. Standard library
only.

usage: scrape_memory.py --binary NAME=PATH [--binary NAME=PATH ...] --targets N [--reps R]
"""

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import tempfile
import time

import shipped


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s for %d" % (key, pid))


def reset_peak(pid):
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


def scrape(port, gzipped):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    start = time.monotonic()
    c.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"} if gzipped else {})
    r = c.getresponse()
    n = 0
    while True:
        piece = r.read(1 << 20)
        if not piece:
            break
        n += len(piece)
    seconds = time.monotonic() - start
    c.close()
    if r.status != 200:
        raise RuntimeError("/metrics answered %d" % r.status)
    return seconds, n


def run(name, binary, targets, reps, workdir):
    config = os.path.join(workdir, "fleet-%d.toml" % targets)
    if not os.path.exists(config):
        with open(config, "w") as f:
            f.write('[defaults]\ninterval = "30s"\ntimeout = "2s"\n')
            for i in range(targets):
                f.write('[[target]]\nname = "t%d"\nuri = "sip:127.0.0.1:9"\n' % i)
    port = free_port()
    log = open(os.path.join(workdir, "%s-%d.log" % (name, targets)), "w")
    p = subprocess.Popen([binary, "--config.file=" + config,
                          "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                         stdout=log, stderr=log, env=dict(os.environ, **shipped.unit_environment()))
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                scrape(port, False)
                break
            except OSError:
                if time.monotonic() > deadline or p.poll() is not None:
                    raise RuntimeError("%s did not come up" % name)
                time.sleep(0.5)
        time.sleep(35)  # one interval: every target has a result
        scrape(port, False)
        steady = status_kib(p.pid, "VmRSS")
        out = {"name": name, "targets": targets, "steady_kib": steady}
        for gz in (False, True):
            reset_peak(p.pid)
            before = status_kib(p.pid, "VmRSS")
            scrape(port, gz)
            out["peak_%s_kib" % ("gzip" if gz else "plain")] = status_kib(p.pid, "VmHWM") - before
        for gz in (False, True):
            times, size = [], 0
            for _ in range(reps):
                s, size = scrape(port, gz)
                times.append(s)
            key = "gzip" if gz else "plain"
            out[key + "_s"] = statistics.median(times)
            out[key + "_bytes"] = size
        return out
    finally:
        p.terminate()
        p.wait(30)
        log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", action="append", required=True)
    ap.add_argument("--targets", type=int, action="append", required=True)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="stx-scrape-memory-") as workdir:
        rows = []
        for targets in args.targets:
            for spec in args.binary:
                name, path = spec.split("=", 1)
                rows.append(run(name, path, targets, args.reps, workdir))
        print("| binary | targets | steady RSS | scrape peak over RSS, plain / gzip "
              "| plain scrape (median) | gzip scrape (median) | plain / gzip bytes |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print("| %s | %d | %.1f MB | +%.1f MB / +%.1f MB | %.0f ms | %.0f ms | %.1f MB / %.1f MB |"
                  % (r["name"], r["targets"], r["steady_kib"] / 1024, r["peak_plain_kib"] / 1024,
                     r["peak_gzip_kib"] / 1024, r["plain_s"] * 1000, r["gzip_s"] * 1000,
                     r["plain_bytes"] / 1e6, r["gzip_bytes"] / 1e6))


if __name__ == "__main__":
    main()
