"""5. Detection latency: from stopping the peer to sip_target_up 0, and from bringing it
back to 1, against what the configuration says.

Targets probe every I = 1 s with timeout T, default hysteresis (down after F = 3 failed
probes, up after 1 healthy one). "killed": the responder is SIGKILLed, so probes fail at
once on the ICMP port unreachable: down within (F-1)*I .. F*I; it is restarted on the
same port: up within 0 .. I. "silent": the responder is SIGSTOPped, so probes time out:
down within (F-1)*I + T .. F*I + T; SIGCONT: up within 0 .. I. Each trial starts at a
random phase; /metrics is polled every 10 ms.
"""

import random
import signal
import time

import exposition
from exporter import Exporter
from peers import Responder
from procs import BenchError
from report import Row, secs, verdict

NAME = "detect"
TITLE = "5 Detection latency"
INTERVAL = 1.0
TIMEOUT = 0.5
FAILURES = 3  # the default failures_before_down
PARAMS = {"full": {"targets": 4, "trials": 4}, "quick": {"targets": 2, "trials": 1}}
POLL = 0.01
SLACK = 0.1  # polling, scrape and scheduling on a busy machine


def wait_all(exp, names, want, started, deadline):
    """{target: seconds from `started` until its sip_target_up read `want`}."""
    seen = {}
    while len(seen) < len(names):
        if time.monotonic() > deadline:
            raise BenchError("targets %s never reached sip_target_up %d" %
                             (sorted(set(names) - set(seen)), want))
        text = exp.get("/metrics").text
        now = time.monotonic() - started
        for n in names:
            if n not in seen and exposition.value(text, "sip_target_up", target=n) == want:
                seen[n] = now
        time.sleep(POLL)
    return seen


def trials(exp, responder_start, responder, names, mode, count):
    downs, ups = [], []
    budget = FAILURES * INTERVAL + TIMEOUT + 10
    for _ in range(count):
        wait_all(exp, names, 1, time.monotonic(), time.monotonic() + budget)
        time.sleep(random.uniform(0, INTERVAL))
        t0 = time.monotonic()
        if mode == "killed":
            responder.proc.popen.send_signal(signal.SIGKILL)
            responder.proc.popen.wait()
        else:
            responder.proc.popen.send_signal(signal.SIGSTOP)
        downs += wait_all(exp, names, 0, t0, t0 + budget).values()
        t1 = time.monotonic()
        if mode == "killed":
            responder = responder_start()
        else:
            responder.proc.popen.send_signal(signal.SIGCONT)
        ups += wait_all(exp, names, 1, t1, t1 + budget).values()
    return downs, ups, responder


def expected(mode):
    extra = TIMEOUT if mode == "silent" else 0.0
    return ((FAILURES - 1) * INTERVAL + extra, FAILURES * INTERVAL + extra), (0.0, INTERVAL)


def run(ctx):
    p = PARAMS["quick" if ctx.quick else "full"]
    raw, rows = {}, []
    names = ["t%d" % i for i in range(p["targets"])]
    with ctx.procs("detect") as procs:
        first = Responder(procs, ctx.responder_bin, name="responder-detect").start()
        port = first.port

        def responder_start():
            return Responder(procs, ctx.responder_bin, name="responder-detect", port=port).start()

        exp = Exporter(ctx, procs, "exporter-detect", p["targets"], first.uri,
                       {"interval": "1s", "timeout": "500ms"}).start()
        responder = first
        for mode in ("killed", "silent"):
            downs, ups, responder = trials(exp, responder_start, responder, names, mode,
                                           p["trials"])
            raw[mode] = {"down_s": downs, "up_s": ups}
        exp.stop()
    for mode in ("killed", "silent"):
        (dlo, dhi), (ulo, uhi) = expected(mode)
        for what, values, lo, hi in (("down", raw[mode]["down_s"], dlo, dhi),
                                     ("up", raw[mode]["up_s"], ulo, uhi)):
            ok = all(lo - SLACK <= v <= hi + SLACK for v in values)
            cell = "mean %s, range %s .. %s (n=%d)" % (secs(sum(values) / len(values)),
                                                      secs(min(values)), secs(max(values)),
                                                      len(values))
            rows.append(Row(TITLE, label(mode, what), cell,
                            target="%s .. %s (configured)" % (secs(lo), secs(hi)),
                            verdict=verdict(ok)))
    raw["config"] = {"interval_s": INTERVAL, "timeout_s": TIMEOUT, "failures_before_down": FAILURES,
                     "successes_before_up": 1}
    return rows, raw


def label(mode, what):
    if mode == "killed":
        return "peer killed -> up 0" if what == "down" else "peer restarted -> up 1"
    return "peer silent (SIGSTOP) -> up 0" if what == "down" else "SIGCONT -> up 1"
