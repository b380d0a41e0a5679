"""2. Scale: scheduling lateness, RSS and open file descriptors with many targets.

Lateness is the exporter's own histogram (sip_exporter_schedule_lateness_seconds: actual
minus planned probe start) counted over a steady window; p50/p99 are interpolated inside
buckets, max is the upper bound of the highest non-empty bucket. RSS and fds from /proc
at the end of the window, after the exporter has served a scrape.
"""

import time

import fleet
from procs import BenchError, fd_count, status_kib
from report import DASH, Row, count, ms, verdict

NAME = "scale"
TITLE = "2 Scale"
PARAMS = {
    "full": [{"targets": 10000, "interval": "1s", "timeout": "900ms", "warm": 5, "window": 20},
             {"targets": 100000, "interval": "30s", "timeout": "5s", "warm": 35, "window": 30}],
    "quick": [{"targets": 1000, "interval": "1s", "timeout": "900ms", "warm": 2, "window": 3},
              {"targets": 3000, "interval": "5s", "timeout": "2s", "warm": 6, "window": 3}],
}
LATENESS_P99_TARGET = 1e-3  # at 10k targets / 1 s
RSS_TARGET_MB = 150  # at 100k targets


def measure(ctx, procs, p):
    name = "scale-%d" % p["targets"]
    responder, exp = fleet.start(ctx, procs, name, p["targets"], p["interval"], p["timeout"])
    time.sleep(p["warm"])
    before = exp.metrics()
    time.sleep(p["window"])
    exp.check_alive()
    rss_before_scrape = status_kib(exp.pid, "VmRSS")
    after = exp.metrics()
    out = {"targets": p["targets"], "interval": p["interval"],
           "lateness": fleet.lateness(before, after),
           "rss_kib": status_kib(exp.pid, "VmRSS"), "rss_before_scrape_kib": rss_before_scrape,
           "peak_rss_kib": status_kib(exp.pid, "VmHWM"), "fds": fd_count(exp.pid)}
    exp.stop()
    out["exit_seconds"] = exp.exit_seconds
    out["responder"] = responder.stop()
    if out["responder"]["received"] == 0:
        raise BenchError("%s: the responder received no probe" % name)
    return out


def row(r):
    lat = r["lateness"]
    if lat is None:
        lat_cell = "lateness n/a (no %s)" % fleet.LATENESS
    else:
        lat_cell = "lateness p50 %s, p99 %s, max <= %s (%s probes)" % (
            ms(lat["p50"], 3), ms(lat["p99"], 3), ms(lat["max"], 3), count(lat["count"]))
    cell = "%s; RSS %.0f MB (peak %.0f MB); %d fds" % (
        lat_cell, r["rss_kib"] / 1024, r["peak_rss_kib"] / 1024, r["fds"])
    if r["exit_seconds"] is not None and r["exit_seconds"] > 5:
        cell += "; exit took %.0f s after SIGTERM" % r["exit_seconds"]
    target, ok = DASH, None
    if r["targets"] == 10000 and r["interval"] == "1s":
        target = "p99 lateness < 1 ms"
        ok = lat is not None and lat["p99"] is not None and lat["p99"] < LATENESS_P99_TARGET
    if r["targets"] == 100000:
        target = "RSS < %d MB" % RSS_TARGET_MB
        ok = r["rss_kib"] / 1024 < RSS_TARGET_MB
    v = "info" if ok is None else verdict(ok)
    if ok is False and lat is None and r["targets"] == 10000:
        v = "n/a"
    return Row(TITLE, "%s targets @ %s" % (count(r["targets"]), r["interval"]), cell,
               target=target, verdict=v)


def run(ctx):
    raw, rows = [], []
    for p in PARAMS["quick" if ctx.quick else "full"]:
        with ctx.procs("scale-%d" % p["targets"]) as procs:
            r = measure(ctx, procs, p)
        raw.append(r)
        rows.append(row(r))
    return rows, raw
