"""4. RTT accuracy: exporter- and sipsak-reported RTT against a loopback capture.

The responder holds every answer `hold_ms`. dumpcap captures UDP to and from its port
on lo; tshark reads back time, Call-ID and status. Each exporter probe's RTT comes from
its `probe finished` debug line (with call_id), each sipsak RTT from its -vv output
("reply received after X ms"). Error = reported RTT - (final response time - first
request time on the wire), paired by Call-ID.
"""

import os
import shutil
import time

import fleet
import logfmt
from capture import Capture, exchanges
from peers import sipsak_argv, sipsak_once
from procs import BenchError, require_tool
from report import DASH, Row, count, ms, verdict
from stats import abs_percentile, mean

NAME = "rtt"
TITLE = "4 RTT accuracy (error vs capture)"
PARAMS = {
    "full": [{"label": "low load", "targets": 10, "window": 20, "sipsak": 40, "limit": 0.2e-3},
             {"label": "10k probes/s", "targets": 10000, "window": 5, "sipsak": 20,
              "limit": 1e-3}],
    "quick": [{"label": "low load", "targets": 5, "window": 3, "sipsak": 5, "limit": 0.2e-3},
              {"label": "1k probes/s", "targets": 1000, "window": 2, "sipsak": 5,
               "limit": 1e-3}],
}
HOLD_MS = 10


def exporter_rtts(stderr_text):
    """{call_id: rtt seconds} of successful probes; None when lines carry no call_id."""
    lines = [l for l in logfmt.lines_with_msg(stderr_text, "probe finished")
             if l.get("result") == "success"]
    if lines and "call_id" not in lines[0]:
        return None
    return {l["call_id"]: float(l["rtt_seconds"]) for l in lines if l.get("call_id")}


def errors(reported, wire):
    out = []
    for call_id, rtt in reported.items():
        ex = wire.get(call_id)
        truth = ex.wire_rtt() if ex else None
        if truth is not None:
            out.append(rtt - truth)
    return out


def summary(errs):
    if not errs:
        return None
    return {"n": len(errs), "p50_abs": abs_percentile(errs, 50),
            "p99_abs": abs_percentile(errs, 99), "max_abs": max(abs(e) for e in errs),
            "mean": mean(errs)}


def measure(ctx, procs, p):
    name = "rtt-%d" % p["targets"]
    responder, exp = fleet.start(ctx, procs, name, p["targets"], "1s", "900ms",
                                 log_level="debug", delay_ms=HOLD_MS)
    time.sleep(3)
    pcap = os.path.join(procs.logdir, name + ".pcapng")
    cap = Capture(procs, "lo", responder.port, pcap).start()
    start = time.monotonic()
    sipsak = {}
    runs = p["sipsak"] if shutil.which("sipsak") else 0  # the exporter's part runs without it
    argv = sipsak_argv(responder.uri) if runs else None
    gap = p["window"] / max(1, runs)
    for _ in range(runs):
        r = sipsak_once(argv, log_path=os.path.join(procs.logdir, "sipsak.log"))
        if r.call_id and r.rtt_seconds is not None:
            sipsak[r.call_id] = r.rtt_seconds
        time.sleep(max(0.0, gap - 0.02))
    time.sleep(max(0.0, p["window"] - (time.monotonic() - start)))
    dropped = cap.stop()
    time.sleep(1.0)  # probes in flight when the capture stopped finish and log
    exp.stop()
    responder.stop()
    wire = exchanges(pcap, responder.port)
    if not wire:
        raise BenchError("the capture holds no SIP exchange (%s)" % pcap)
    reported = exporter_rtts(exp.proc.stderr())
    wire_rtts = [ex.wire_rtt() for ex in wire.values() if ex.wire_rtt() is not None]
    return {"label": p["label"], "targets": p["targets"], "capture_dropped": dropped,
            "exchanges_on_wire": len(wire), "wire_rtt_mean": mean(wire_rtts),
            "exporter": None if reported is None else summary(errors(reported, wire)),
            "exporter_call_id_logged": reported is not None,
            "sipsak": summary(errors(sipsak, wire)), "limit": p["limit"]}


def cell(s):
    if s is None:
        return "n/a"
    return "p99 %s, p50 %s, max %s, mean %+.3f ms (n=%s)" % (
        ms(s["p99_abs"], 3), ms(s["p50_abs"], 3), ms(s["max_abs"], 3), s["mean"] * 1e3,
        count(s["n"]))


def row(r):
    e = r["exporter"]
    exp_cell = cell(e) if r["exporter_call_id_logged"] else "n/a (no call_id in debug log)"
    if r["capture_dropped"]:
        exp_cell += "; capture dropped %d packets" % r["capture_dropped"]
    v = verdict(e["p99_abs"] < r["limit"]) if e else "n/a"
    return Row(TITLE, "%s, %d ms hold" % (r["label"], HOLD_MS), exp_cell, DASH, cell(r["sipsak"]),
               "p99 < %s" % ms(r["limit"], 1), v)


def run(ctx):
    require_tool("tshark")
    raw, rows = [], []
    for p in PARAMS["quick" if ctx.quick else "full"]:
        with ctx.procs("rtt-%d" % p["targets"]) as procs:
            r = measure(ctx, procs, p)
        raw.append(r)
        rows.append(row(r))
    return rows, raw
