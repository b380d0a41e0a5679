#!/usr/bin/python3
"""What a Prometheus holds for the exporter's fleet: text with classic histograms against
protobuf with native histograms (Prometheus' --enable-feature=native-histograms), each with
[exporter] zero_series = true and false.

For each case: the exporter with N targets, all at one sip_bench_responder on loopback (so
every target has RTTs), probed every --interval; a Prometheus (Debian's, on loopback, a
fresh TSDB) scraping it every --scrape-interval for --scrapes scrapes. Then
prometheus_tsdb_head_series (less an idle Prometheus' own), Prometheus' VmRSS, the bytes of
one scrape as that Prometheus asks for it (its Accept header, gzip) and uncompressed. The
idle baseline is a Prometheus scraping only itself. Standard library only.

usage: native_histograms.py --exporter PATH --responder PATH [--targets N] [--interval 10s]
       [--scrape-interval 5s] [--scrapes 6]
"""

import argparse
import gzip
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse

# Prometheus 2.42's Accept headers (scrape/scrape.go), without and with native histograms.
ACCEPT_TEXT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
               "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
ACCEPT_PROTOBUF = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
                   "encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,"
                   "application/openmetrics-text;version=0.0.1;q=0.75,"
                   "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


def free_port(kind="tcp"):
    with socket.socket(socket.AF_INET,
                       socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vmrss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for %d" % pid)


def get(port, path, headers=None, timeout=120):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.getheader("Content-Type", ""), r.read()
    finally:
        c.close()


def wait_until(what, deadline_s, pred, poll=0.5):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(poll)
    raise RuntimeError("timed out waiting for " + what)


def query(port, promql):
    status, _, body = get(port, "/api/v1/query?query=" + urllib.parse.quote(promql))
    data = json.loads(body)
    if status != 200 or data.get("status") != "success":
        raise RuntimeError("query %s: %s" % (promql, body[:300]))
    return data["data"]["result"]


def scalar(port, promql):
    r = query(port, promql)
    return float(r[0]["value"][1]) if r else 0.0


class Procs:
    """Every process started, stopped (by its own PID) even when the run fails."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []

    def start(self, name, argv):
        log = open(os.path.join(self.workdir, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=log)
        self.procs.append((p, log))
        return p

    def stop_all(self):
        for p, log in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            log.close()
        self.procs = []


def start_prometheus(procs, workdir, name, scrape_interval, exporter_port, native):
    port = free_port()
    data = os.path.join(workdir, name + "-data")
    shutil.rmtree(data, ignore_errors=True)
    jobs = ""
    if exporter_port:
        jobs = ("  - job_name: sip_trunk_exporter\n"
                "    scrape_timeout: %s\n"
                "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                % (scrape_interval, exporter_port))
    config = os.path.join(workdir, name + ".yml")
    with open(config, "w") as f:
        f.write("global:\n  scrape_interval: %s\nscrape_configs:\n"
                "  - job_name: prometheus\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n%s" % (scrape_interval, port, jobs))
    argv = ["prometheus", "--config.file=" + config, "--storage.tsdb.path=" + data,
            "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"]
    if native:
        argv.append("--enable-feature=native-histograms")
    p = procs.start(name, argv)
    wait_until(name + " ready", 60, lambda: get(port, "/-/ready")[0] == 200)
    return p, port


def run_case(args, workdir, name, native, zero_series, responder_port, baseline_series):
    procs = Procs(workdir)
    try:
        config = os.path.join(workdir, name + ".toml")
        with open(config, "w") as f:
            f.write('[defaults]\ninterval = "%s"\ntimeout = "1s"\n' % args.interval)
            f.write("[exporter]\nzero_series = %s\n" % ("true" if zero_series else "false"))
            for i in range(args.targets):
                f.write('[[target]]\nname = "t%d"\nuri = "sip:127.0.0.1:%d"\n'
                        % (i, responder_port))
        exporter_port = free_port()
        exporter = procs.start("exporter-" + name, [
            args.exporter, "--config.file=" + config,
            "--web.listen-address=127.0.0.1:%d" % exporter_port, "--log.level=warn"])
        def ready():
            if exporter.poll() is not None:
                raise RuntimeError("exporter exited; see %s" % workdir)
            return get(exporter_port, "/-/ready")[0] == 200
        wait_until("exporter", 120, ready)
        # Every target answered at least once before Prometheus starts.
        interval_s = float(args.interval.rstrip("s"))
        time.sleep(interval_s + 2)
        prom, prom_port = start_prometheus(procs, workdir, "prometheus-" + name,
                                           args.scrape_interval, exporter_port, native)
        wait_until("%d scrapes" % args.scrapes, args.scrapes * 60, lambda: scalar(
            prom_port, 'count_over_time(up{job="sip_trunk_exporter"}[1h])') >= args.scrapes,
            poll=1)
        up = scalar(prom_port, 'up{job="sip_trunk_exporter"}')
        head = scalar(prom_port, 'prometheus_tsdb_head_series')
        rss = vmrss_kib(prom.pid)
        native_series = scalar(prom_port, 'count(histogram_count(sip_probe_rtt_seconds))')
        accept = ACCEPT_PROTOBUF if native else ACCEPT_TEXT
        _, ctype, plain = get(exporter_port, "/metrics", {"Accept": accept})
        _, _, gz = get(exporter_port, "/metrics",
                       {"Accept": accept, "Accept-Encoding": "gzip"})
        if gzip.decompress(gz)[:64] != plain[:64]:
            raise RuntimeError("gzip body differs")
        return {"name": name, "up": up, "head_series": head,
                "exporter_series": head - baseline_series, "rss_kib": rss,
                "native_series": native_series, "content_type": ctype.split(";")[0],
                "bytes": len(plain), "gzip_bytes": len(gz)}
    finally:
        procs.stop_all()


def baseline(args, workdir):
    """An idle Prometheus scraping itself: its head series and RSS."""
    procs = Procs(workdir)
    try:
        prom, port = start_prometheus(procs, workdir, "prometheus-idle", args.scrape_interval,
                                      0, False)
        wait_until("%d self-scrapes" % args.scrapes, args.scrapes * 60, lambda: scalar(
            port, 'count_over_time(up{job="prometheus"}[1h])') >= args.scrapes, poll=1)
        return scalar(port, "prometheus_tsdb_head_series"), vmrss_kib(prom.pid)
    finally:
        procs.stop_all()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--responder", required=True)
    ap.add_argument("--targets", type=int, default=10000)
    ap.add_argument("--interval", default="10s")
    ap.add_argument("--scrape-interval", default="5s")
    ap.add_argument("--scrapes", type=int, default=6)
    args = ap.parse_args()
    n = args.targets
    with tempfile.TemporaryDirectory(prefix="stx-native-histograms-") as workdir:
        base_series, base_rss = baseline(args, workdir)
        rows = []
        procs = Procs(workdir)
        try:
            responder_port = free_port("udp")
            procs.start("responder", [args.responder, "--port", str(responder_port),
                                      "--address", "127.0.0.1", "--delay-ms", "0"])
            time.sleep(1)
            for native in (False, True):
                for zero_series in (True, False):
                    name = "%s-zero_series_%s" % ("protobuf" if native else "text",
                                                  str(zero_series).lower())
                    rows.append(run_case(args, workdir, name, native, zero_series,
                                         responder_port, base_series))
        finally:
            procs.stop_all()
    print("Idle Prometheus (scraping itself): %d head series, %.0f MB RSS" %
          (base_series, base_rss / 1024))
    print()
    print("| case | format | head series | series per target | native histograms "
          "| Prometheus RSS | RSS over idle, per target (KiB) | scrape bytes, plain / gzip |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %d | %.1f | %d | %.0f MB | %.1f | %.1f MB / %.2f MB |" % (
            r["name"], r["content_type"], r["head_series"], r["exporter_series"] / n,
            r["native_series"], r["rss_kib"] / 1024, (r["rss_kib"] - base_rss) / n,
            r["bytes"] / 1e6, r["gzip_bytes"] / 1e6))


if __name__ == "__main__":
    main()
