"""An exporter with many targets against one responder, and its lateness histogram."""

import exposition
from exporter import Exporter
from peers import Responder

LATENESS = "sip_exporter_schedule_lateness_seconds"


def start(ctx, procs, name, targets, interval, timeout, log_level="info", delay_ms=0):
    """(responder, exporter) with `targets` targets at `interval`, all answered at once."""
    responder = Responder(procs, ctx.responder_bin, name="responder-" + name,
                          delay_ms=delay_ms).start()
    exp = Exporter(ctx, procs, "exporter-" + name, targets, responder.uri,
                   {"interval": interval, "timeout": timeout}, log_level=log_level).start()
    return responder, exp


def lateness(before_text, after_text):
    """{p50, p99, max, count} of the lateness observed between two scrapes (None if absent)."""
    before = exposition.histogram(before_text, LATENESS)
    after = exposition.histogram(after_text, LATENESS)
    if not after:
        return None
    delta = exposition.histogram_delta(before, after)
    return {"p50": exposition.quantile(delta, 0.5), "p99": exposition.quantile(delta, 0.99),
            "max": exposition.max_bound(delta), "count": delta[-1][1] if delta else 0}
