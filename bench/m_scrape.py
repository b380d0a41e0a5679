"""3. Scrape cost: time and bytes of /metrics, plain and gzip, and what scraping does to
probe lateness.

Each size runs its own exporter, warmed up for one interval so every target has results.
Time is from sending the request to the last byte (median of the repetitions). The lateness effect
compares a quiet window (only the two scrapes that read the histogram) with an equally long
window of back-to-back scrapes.
"""

import statistics
import time

import fleet
from procs import BenchError
from report import DASH, Row, count, ms, size, verdict

NAME = "scrape"
TITLE = "3 Scrape /metrics"
PARAMS = {
    # (targets, interval, repetitions): a 100k scrape is ~200 MB, seconds each.
    "full": {"sizes": [(1000, "1s", 10), (10000, "1s", 10), (100000, "30s", 3)],
             "effect_targets": 10000, "effect_window": 10},
    "quick": {"sizes": [(100, "1s", 3), (1000, "1s", 3), (3000, "5s", 2)],
              "effect_targets": 1000, "effect_window": 2},
}
TARGET_SECONDS = 0.1  # 10k targets


def timings(exp, reps, gzipped):
    seconds, sizes = [], []
    for _ in range(reps):
        s = exp.get("/metrics", gzipped=gzipped)
        if s.status != 200 or not s.text.startswith("#"):
            raise BenchError("/metrics answered %d with %d bytes" % (s.status, s.wire_bytes))
        seconds.append(s.seconds)
        sizes.append(s.wire_bytes)
    return {"median_s": statistics.median(seconds), "max_s": max(seconds),
            "bytes": statistics.median(sizes)}


def effect(exp, window):
    """Lateness in a quiet window and in a window of back-to-back scrapes."""
    a = exp.metrics()
    time.sleep(window)
    b = exp.metrics()
    end = time.monotonic() + window
    scrapes = 0
    while time.monotonic() < end:
        exp.get("/metrics")
        scrapes += 1
    c = exp.metrics()
    return {"quiet": fleet.lateness(a, b), "scraping": fleet.lateness(b, c), "scrapes": scrapes}


def measure(ctx, procs, targets, interval, reps, p):
    timeout = "900ms" if interval == "1s" else "2s"
    responder, exp = fleet.start(ctx, procs, "scrape-%d" % targets, targets, interval, timeout)
    time.sleep(float(interval.rstrip("s")) + 2)
    out = {"targets": targets, "interval": interval,
           "plain": timings(exp, reps, False), "gzip": timings(exp, reps, True)}
    if targets == p["effect_targets"]:
        out["effect"] = effect(exp, p["effect_window"])
    exp.stop()
    responder.stop()
    return out


def lat_text(lat):
    if lat is None:
        return "n/a"
    return "p50 %s, p99 %s, max <= %s" % (ms(lat["p50"], 3), ms(lat["p99"], 3),
                                         ms(lat["max"], 3))


def rows_for(r):
    plain, gz = r["plain"], r["gzip"]
    cell = "%s for %s; gzip %s for %s" % (ms(plain["median_s"], 1), size(plain["bytes"]),
                                          ms(gz["median_s"], 1), size(gz["bytes"]))
    target, v = DASH, "info"
    if r["targets"] == 10000:
        target = "10k targets < 100 ms"
        v = verdict(max(plain["median_s"], gz["median_s"]) < TARGET_SECONDS)
    out = [Row(TITLE, "%s targets @ %s" % (count(r["targets"]), r["interval"]), cell,
               target=target, verdict=v)]
    if "effect" in r:
        e = r["effect"]
        out.append(Row("3 Scrape effect on lateness",
                       "%s targets @ %s" % (count(r["targets"]), r["interval"]),
                       "quiet: %s; while scraping (%d scrapes): %s" % (
                           lat_text(e["quiet"]), e["scrapes"], lat_text(e["scraping"]))))
    return out


def run(ctx):
    p = PARAMS["quick" if ctx.quick else "full"]
    raw, rows = [], []
    for targets, interval, reps in p["sizes"]:
        with ctx.procs("scrape-%d" % targets) as procs:
            r = measure(ctx, procs, targets, interval, reps, p)
        raw.append(r)
        rows.extend(rows_for(r))
    return rows, raw
