"""Helpers for the packaging tests: processes that are always stopped, free loopback ports,
polling with deadlines, a SIPp peer, Compose file checks, and the exit code ctest reads as
"skipped"."""

import contextlib
import ctypes
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SKIP = 77  # SKIP_RETURN_CODE in tests/packaging/CMakeLists.txt


def log(*args):
    print(*args, flush=True)


def skip(reason):
    log(f"SKIP: {reason}")
    sys.exit(SKIP)


def fail(reason):
    log(f"FAIL: {reason}")
    sys.exit(1)


class Failures:
    """Collects check results; every check is printed, and the test fails at the end if any did."""

    def __init__(self):
        self.failed = []

    def check(self, ok, what, detail=""):
        log(("ok    " if ok else "FAIL  ") + what + (f": {detail}" if detail and not ok else ""))
        if not ok:
            self.failed.append(what)
        return ok

    def finish(self):
        if self.failed:
            log(f"{len(self.failed)} check(s) failed: " + "; ".join(self.failed))
            sys.exit(1)
        log("all checks passed")


def wait_until(timeout, predicate, interval=0.1):
    """Polls predicate until it returns a truthy value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def run(argv, check=True, **kwargs):
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.STDOUT)
    kwargs.setdefault("text", True)
    result = subprocess.run(argv, **kwargs)
    if check and result.returncode != 0:
        log(f"command failed ({result.returncode}): {' '.join(map(str, argv))}")
        if result.stdout:
            log(result.stdout[-4000:])
        raise SystemExit(1)
    return result


@contextlib.contextmanager
def temp_dir(prefix):
    path = tempfile.mkdtemp(prefix=prefix + "-")
    try:
        yield path
    finally:
        if os.environ.get("STX_KEEP_TEST_DIRS"):
            log(f"keeping {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    """In the child: SIGTERM when the test dies, even by SIGKILL (a ctest timeout)."""
    _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Processes:
    """Starts processes and stops every one of them on exit, whatever happened."""

    def __init__(self):
        self.procs = []

    def __enter__(self):
        return self

    def start(self, argv, log_path, **kwargs):
        out = open(log_path, "wb")
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
                                **kwargs)
        out.close()
        proc.log_path = log_path
        self.procs.append(proc)
        return proc

    @staticmethod
    def stop(proc, sig=signal.SIGTERM, timeout=10):
        """Signals proc and waits for it; SIGKILL after timeout. Returns its exit code."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def __exit__(self, *exc):
        for proc in reversed(self.procs):
            self.stop(proc, timeout=5)
        return False


def read_log(proc, tail=60):
    try:
        with open(proc.log_path, "r", errors="replace") as f:
            return "".join(f.readlines()[-tail:])
    except OSError:
        return ""


def udp_port_bound(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return False
    except OSError as e:
        return e.errno == errno.EADDRINUSE
    finally:
        s.close()


def free_ports(kinds):
    """One free 127.0.0.1 port per entry of kinds ("udp" or "tcp"), all distinct."""
    socks, ports = [], []
    try:
        for kind in kinds:
            s = socket.socket(socket.AF_INET,
                              socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def start_sipp(procs, workdir, scenario):
    """A SIPp UAS on loopback (as tests/integration/harness.cc starts it); returns its port."""
    for _ in range(3):
        sip, media, control = free_ports(["udp", "udp", "udp"])
        if media > 65500 or udp_port_bound(media + 2) or sip in (media + 2,):
            continue
        proc = procs.start(
            ["sipp", "-sf", scenario, "-i", "127.0.0.1", "-p", str(sip), "-bind_local",
             "-mi", "127.0.0.1", "-mp", str(media), "-ci", "127.0.0.1", "-cp", str(control),
             "-nostdin", "-trace_err", "-error_file", os.path.join(workdir, "sipp_errors.log")],
            os.path.join(workdir, f"sipp-{sip}.log"), cwd=workdir)
        if wait_until(10, lambda: proc.poll() is not None or udp_port_bound(sip)) and \
                proc.poll() is None:
            return sip
        Processes.stop(proc)
    fail("SIPp did not come up")


def http_get(url, headers=None, timeout=3):
    """(status, headers, body bytes), or (None, None, error text) when nothing answered."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    except OSError as e:
        return None, None, str(e)


def parse_unit(path):
    """{(section, key): [values in order]} of a systemd unit file."""
    entries, section = {}, None
    with open(path) as f:
        lines = f.read().replace("\\\n", " ").splitlines()
    for line in lines:
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        entries.setdefault((section, key.strip()), []).append(value.strip())
    return entries


def metric_value(text, name, **labels):
    """Value of the first sample of name whose labels include labels, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            try:
                return float(value)
            except ValueError:
                return None
    return None


def check_pinned(checks, service, image):
    """A Compose service's image from a registry names a version, not a moving tag."""
    tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
    checks.check(bool(re.match(r"v?\d+\.\d+\.\d+$", tag)),
                 f"{service}: image {image} is pinned to a version", image)


def bind_mounts(checks, service, svc, base, declared_volumes):
    """{container path: host path} of a Compose service's bind mounts (relative to `base`),
    each checked to exist; named volumes are checked to be declared."""
    mounts = {}
    for volume in svc.get("volumes", []):
        src, dst = volume.split(":")[:2]
        if src.startswith((".", "/")):
            host = os.path.normpath(os.path.join(base, src))
            checks.check(os.path.exists(host), f"{service}: mount source {src} exists", host)
            mounts[dst] = host
        else:
            checks.check(src in declared_volumes, f"{service}: volume {src} is declared")
    return mounts
