#!/usr/bin/python3
"""packaging.sandbox: the systemd unit's sandbox lets the exporter do its whole job.

systemd is not PID 1 here, so the unit cannot be started for real. Instead the exporter runs
under strace with the unit's own command line (config and port swapped for the test's) through
everything it does in service: start, probe an IPv4 peer (SIPp), a hostname (resolver, NSS) and
a closed port (ICMP error queue), serve /metrics (gzip) and /-/healthy, reload on SIGHUP (the
unit's ExecReload), stop on SIGTERM. Every system call it made must be allowed by the unit's
SystemCallFilter= (expanded with `systemd-analyze syscall-filter`), every socket family by
RestrictAddressFamilies=, no mapping may be writable and executable (MemoryDenyWriteExecute=),
and no file may be opened for writing (ProtectSystem=strict). The other way round, every
allowed socket family must have been used: the unit allows only what is needed.

usage: sandbox_test.py EXPORTER_BINARY SOURCE_DIR
"""

import os
import re
import shlex
import shutil
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stxtest as t  # noqa: E402


def syscall_groups():
    """{"@group": [members]} from `systemd-analyze syscall-filter` (members may be @groups)."""
    out = t.run(["systemd-analyze", "syscall-filter", "--no-pager"]).stdout
    groups, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = line.split()[0]
            groups[current] = []
        elif current and line.startswith((" ", "\t")):
            item = line.strip()
            if item and not item.startswith("#"):
                groups[current].append(item.split()[0])
        elif not line.strip():
            current = None
    return groups


def expand(items, groups, seen=None):
    seen = set() if seen is None else seen
    names = set()
    for item in items:
        if item.startswith("@"):
            if item in seen:
                continue
            seen.add(item)
            if item not in groups:
                t.fail(f"unknown syscall group {item}")
            names |= expand(groups[item], groups, seen)
        else:
            names.add(item)
    return names


def allowed_syscalls(filters, groups):
    """SystemCallFilter= semantics: the first assignment sets an allow list (or a deny list
    with ~); later ones add to the allow list or, with ~, remove from it."""
    allowed = None
    for value in filters:
        deny = value.startswith("~")
        items = value.lstrip("~").split()
        names = expand(items, groups)
        if allowed is None:
            if deny:
                t.fail("the test only knows allow-list filters")
            allowed = names
        elif deny:
            allowed -= names
        else:
            allowed |= names
    return allowed


SYSCALL_RE = re.compile(r"^\d+\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()")


def main():
    if len(sys.argv) != 3:
        t.fail(__doc__)
    binary, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    for tool in ("strace", "sipp", "systemd-analyze"):
        if not shutil.which(tool):
            t.fail(f"{tool} is not installed (scripts/install-deps.sh test installs it)")

    unit = t.parse_unit(os.path.join(source, "deploy", "sip_trunk_exporter.service"))
    exec_start = shlex.split(unit[("Service", "ExecStart")][-1])
    families = set(" ".join(unit[("Service", "RestrictAddressFamilies")]).split())
    filters = unit[("Service", "SystemCallFilter")]
    allowed = allowed_syscalls(filters, syscall_groups())
    t.log(f"unit: ExecStart={' '.join(exec_start)}")
    t.log(f"unit: RestrictAddressFamilies={' '.join(sorted(families))}; "
          f"SystemCallFilter={' | '.join(filters)} ({len(allowed)} system calls allowed)")

    checks = t.Failures()
    with t.temp_dir("stx-sandbox") as work, t.Processes() as procs:
        sip_port = t.start_sipp(procs, work, os.path.join(
            source, "tests", "integration", "peers", "options_200.xml"))
        dead_port, http_port = t.free_ports(["udp", "tcp"])
        config = os.path.join(work, "config.toml")
        with open(config, "w") as f:
            f.write(f"""[defaults]
interval = "1s"
timeout = "500ms"
failures_before_down = 1

[[target]]
name = "by-address"
uri = "sip:127.0.0.1:{sip_port}"

[[target]]
name = "by-name"
uri = "sip:localhost:{sip_port}"

[[target]]
name = "closed-port"
uri = "sip:127.0.0.1:{dead_port}"
""")
        # The unit's command line with the test's binary and config; ":PORT" is the same
        # all-addresses listener as the default ":15060".
        argv = [binary] + [
            f"--config.file={config}" if a.startswith("--config.file=") else a
            for a in exec_start[1:]] + [f"--web.listen-address=:{http_port}"]
        trace = os.path.join(work, "strace.txt")
        exporter = procs.start(["strace", "-f", "-qq", "-s", "256", "-o", trace] + argv,
                               os.path.join(work, "exporter.log"))

        base = f"http://127.0.0.1:{http_port}"
        state = {}

        def all_seen():
            status, _, body = t.http_get(base + "/metrics")
            if status != 200:
                return False
            text = body.decode()
            state["metrics"] = text
            return (t.metric_value(text, "sip_target_up", target="by-address") == 1 and
                    t.metric_value(text, "sip_target_up", target="by-name") == 1 and
                    (t.metric_value(text, "sip_probe_failures_total", target="closed-port",
                                    reason="refused") or 0) >= 1)

        ok = t.wait_until(60, lambda: exporter.poll() is not None or all_seen())
        if not checks.check(ok and exporter.poll() is None,
                            "under strace: by-address and by-name up, closed-port refused",
                            state.get("metrics", "")[-2000:] + t.read_log(exporter)):
            checks.finish()

        status, headers, body = t.http_get(base + "/metrics", {"Accept-Encoding": "gzip"})
        checks.check(status == 200 and headers.get("Content-Encoding") == "gzip",
                     "gzip-compressed /metrics", f"status {status}")
        status, _, _ = t.http_get(base + "/-/healthy")
        checks.check(status == 200, "/-/healthy answers 200", f"status {status}")

        # ExecReload=: SIGHUP to the exporter (strace's child), then it must still serve.
        children = open(f"/proc/{exporter.pid}/task/{exporter.pid}/children").read().split()
        if checks.check(len(children) == 1, "found the exporter under strace", str(children)):
            os.kill(int(children[0]), signal.SIGHUP)
            reloaded = t.wait_until(10, lambda: "configuration reloaded" in t.read_log(
                exporter, tail=200))
            checks.check(bool(reloaded), "SIGHUP reloads the configuration",
                         t.read_log(exporter))
            checks.check(t.wait_until(10, lambda: t.http_get(base + "/-/healthy")[0] == 200),
                         "still serving after SIGHUP")
            os.kill(int(children[0]), signal.SIGTERM)
        exited = t.wait_until(15, lambda: exporter.poll() is not None)
        if not exited:
            t.Processes.stop(exporter)
        checks.check(bool(exited) and exporter.returncode == 0,
                     "SIGTERM stops it with exit code 0",
                     f"exit {exporter.returncode}: {t.read_log(exporter)}")

        syscalls, used_families, wx, written = set(), set(), [], []
        with open(trace, errors="replace") as f:
            for line in f:
                m = SYSCALL_RE.match(line)
                if not m:
                    continue
                name = m.group(1) or m.group(2)
                syscalls.add(name)
                if name in ("socket", "socketpair") and "(" in line:
                    fam = line.split("(", 1)[1].split(",", 1)[0]
                    used_families.add(fam)
                if name in ("mmap", "mprotect", "pkey_mprotect") and \
                        "PROT_WRITE" in line and "PROT_EXEC" in line:
                    wx.append(line.strip())
                if name in ("openat", "open", "creat") and \
                        re.search(r"O_WRONLY|O_RDWR|O_CREAT", line):
                    written.append(line.strip())

        t.log(f"system calls made ({len(syscalls)}): {' '.join(sorted(syscalls))}")
        t.log(f"socket families used: {' '.join(sorted(used_families))}")
        denied = sorted(syscalls - allowed)
        checks.check(not denied, "every system call is allowed by SystemCallFilter=",
                     " ".join(denied))
        checks.check(used_families <= families,
                     "every socket family is allowed by RestrictAddressFamilies=",
                     " ".join(sorted(used_families - families)))
        checks.check("AF_INET" in used_families,
                     "the trace saw the probe and HTTP sockets (AF_INET)")
        checks.check(families <= used_families,
                     "every family RestrictAddressFamilies= allows is needed (used here)",
                     " ".join(sorted(families - used_families)))
        checks.check(not wx, "no writable+executable mapping (MemoryDenyWriteExecute=)",
                     "; ".join(wx[:3]))
        checks.check(not written, "no file opened for writing (ProtectSystem=strict)",
                     "; ".join(written[:3]))
    checks.finish()


if __name__ == "__main__":
    main()
