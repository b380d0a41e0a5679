"""The SIP processes around the exporter: the bench responder, SIPp and sipsak."""

import os
import re
import signal
import subprocess
import time

from procs import BenchError, free_port, require_tool


def udp_bound(pid, port):
    """True once a process in `pid`'s network namespace has UDP `port` bound."""
    want = ":%04X" % port
    try:
        with open("/proc/%d/net/udp" % pid) as f:
            next(f)  # header
            return any(line.split()[1].endswith(want) for line in f)
    except (OSError, IndexError, StopIteration):
        return False


class Responder:
    """sip_bench_responder on a free UDP port (or `port`), optionally inside `netns`."""

    def __init__(self, procs, binary, name="responder", delay_ms=0, address="127.0.0.1",
                 port=None, netns=None):
        self.procs = procs
        self.binary = binary
        self.name = name
        self.delay_ms = delay_ms
        self.address = address
        self.port = port
        self.netns = netns
        self.proc = None

    def start(self):
        fixed = self.port is not None
        for _ in range(3):
            port = self.port if fixed else free_port("udp")
            argv = [self.binary, "--port", port, "--address", self.address,
                    "--delay-ms", self.delay_ms]
            if self.netns:
                argv = ["ip", "netns", "exec", self.netns] + argv
            self.proc = self.procs.start(self.name, argv)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.alive():
                if udp_bound(self.proc.pid, port):
                    self.port = port
                    return self
                time.sleep(0.01)
            if self.proc.alive():
                raise BenchError("%s did not bind UDP %d" % (self.name, port))
            if fixed:
                break
        raise BenchError("%s exited at start: %s" % (self.name, self.proc.tail()))

    @property
    def uri(self):
        return "sip:%s:%d" % (self.address, self.port)

    def check_alive(self):
        if not self.proc.alive():
            raise BenchError("%s exited during the measurement (exit %s; something else "
                             "stopped it?): %s" % (self.name, self.proc.popen.returncode,
                                                   self.proc.tail()))

    def stop(self):
        """Stops it; its counters {received, answered, dropped}."""
        self.check_alive()
        code = self.proc.stop()
        counts = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", self.proc.stdout()))
        if code != 0 or "received" not in counts:
            raise BenchError("%s exited with %s: %s" % (self.name, code, self.proc.tail()))
        return counts


class Sipp:
    """SIPp as an OPTIONS UAC at `rate` calls/s against 127.0.0.1:`port`."""

    def __init__(self, procs, scenario, rate, port, seconds, workdir, name="sipp"):
        self.stats_path = os.path.join(workdir, name + "_stats.csv")
        sipp = require_tool("sipp")
        self.argv = [sipp, "-sf", scenario, "-r", rate, "-rp", 1000, "-m", int(rate * seconds),
                     "-i", "127.0.0.1", "-p", free_port("udp"), "-nostdin", "-trace_stat",
                     "-stf", self.stats_path, "-fd", 1, "-timeout", "%ds" % (seconds + 10),
                     "127.0.0.1:%d" % port]
        self.procs = procs
        self.name = name
        self.proc = None

    def start(self):
        self.proc = self.procs.start(self.name, self.argv, stop_signal=signal.SIGUSR1)
        time.sleep(0.2)
        if not self.proc.alive():
            raise BenchError("sipp exited at start: %s" % self.proc.tail())
        return self

    def stop(self):
        self.proc.stop()

    def rows(self):
        """The periodic statistics rows: [{column: value}] with "epoch" added."""
        with open(self.stats_path, errors="replace") as f:
            lines = [line.rstrip("\n").split(";") for line in f if line.strip()]
        if len(lines) < 2:
            raise BenchError("sipp wrote no statistics (%s)" % self.stats_path)
        header = lines[0]
        out = []
        for cells in lines[1:]:
            row = dict(zip(header, cells))
            row["epoch"] = float(row["CurrentTime"].split("\t")[-1])
            out.append(row)
        return out

    def counts_between(self, start_epoch, end_epoch):
        """Calls created, succeeded and failed between the stats rows nearest two instants,
        and the seconds between those rows."""
        rows = [r for r in self.rows() if start_epoch <= r["epoch"] <= end_epoch + 0.5]
        if len(rows) < 2:
            raise BenchError("sipp wrote too few statistics rows in the window")
        first, last = rows[0], rows[-1]

        def delta(column):
            return int(last[column]) - int(first[column])
        return {"created": delta("OutgoingCall(C)"), "succeeded": delta("SuccessfulCall(C)"),
                "failed": delta("FailedCall(C)"), "seconds": last["epoch"] - first["epoch"]}


class SipsakResult:
    def __init__(self, rc, output):
        self.rc = rc
        m = re.search(r"reply received after ([0-9.]+) ms", output)
        self.rtt_seconds = float(m.group(1)) / 1000 if m else None
        m = re.search(r"^Call-ID:\s*(\S+)", output, re.M | re.I)
        self.call_id = m.group(1) if m else None


def sipsak_argv(uri, timeout_factor=None, netns=None):
    argv = [require_tool("sipsak"), "-vv", "-s", uri]
    if not netns:
        # Our own host for Via and Contact: otherwise sipsak needs the machine's hostname to
        # resolve, which it does not on a minimal Debian or in many containers.
        argv += ["-H", "127.0.0.1"]
    if timeout_factor:
        argv += ["-D", timeout_factor]  # the timeout is this many T1 (500 ms)
    if netns:
        argv = ["ip", "netns", "exec", netns] + argv
    return [str(a) for a in argv]


def sipsak_once(argv, timeout=15, log_path=None):
    """Runs one sipsak to completion (its CPU shows in RUSAGE_CHILDREN); output to `log_path`."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError("sipsak did not finish in %d s" % timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    text = out.decode("utf-8", "replace")
    if log_path:
        with open(log_path, "a") as f:
            f.write("=== exit %d\n%s\n" % (p.returncode, text))
    return SipsakResult(p.returncode, text)


class SipsakLoop:
    """`count` independent single-probe checkers, each one sipsak every `interval` seconds.

    Non-blocking: call tick() often; finish() waits for the last ones.
    """

    def __init__(self, argv, count, interval):
        self.argv = argv
        self.interval = interval
        start = time.monotonic()
        self.due = [start + interval * i / count for i in range(count)]
        self.running = []
        self.ok = 0
        self.failed = 0

    def tick(self, now):
        for i, due in enumerate(self.due):
            if now >= due:
                self.running.append(subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                                     stdout=subprocess.DEVNULL,
                                                     stderr=subprocess.DEVNULL))
                self.due[i] = due + self.interval
        still = []
        for p in self.running:
            rc = p.poll()
            if rc is None:
                still.append(p)
            elif rc == 0:
                self.ok += 1
            else:
                self.failed += 1
        self.running = still

    def finish(self, timeout):
        """Waits up to `timeout` s for running probes; those still running are killed, uncounted."""
        deadline = time.monotonic() + timeout
        while self.running and time.monotonic() < deadline:
            self.due = [float("inf")] * len(self.due)
            self.tick(time.monotonic())
            time.sleep(0.05)
        for p in self.running:
            p.kill()
            p.wait()
        self.running = []
