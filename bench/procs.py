"""Processes the bench starts, and what /proc says about them.

Every process goes through a Procs stack, which stops them all (newest first) when it
closes, also on error or Ctrl-C. Ports are picked free by the kernel.
"""

import os
import shutil
import signal
import socket
import subprocess

CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """The bench itself broke (a process died, no data): the run fails."""


class Skip(Exception):
    """A measurement cannot run here (missing tool or privilege): reported, not a failure."""


class Proc:
    """One child process with its output in files under `logdir`."""

    def __init__(self, name, argv, logdir, stop_signal=signal.SIGTERM, env=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.env = env  # added to the inherited environment
        self.stdout_path = os.path.join(logdir, name + ".out")
        self.stderr_path = os.path.join(logdir, name + ".err")
        self.stop_signal = stop_signal
        self.popen = None
        self.returncode = None
        self.killed = False  # it ignored its stop signal and got SIGKILL

    def start(self):
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            # Own process group: a Ctrl-C reaches the driver only, which stops children in order.
            env = dict(os.environ, **self.env) if self.env else None
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=err, start_new_session=True, env=env)
        return self

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout=10.0):
        """Stops the process (its stop signal, then SIGKILL) and returns its exit status."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(self.stop_signal)
                self.popen.send_signal(signal.SIGCONT)  # a stopped process cannot act on it
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.popen.kill()
                self.popen.wait(timeout=timeout)
        self.returncode = self.popen.returncode
        return self.returncode

    def stdout(self):
        with open(self.stdout_path, "r", errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.stderr_path, "r", errors="replace") as f:
            return f.read()

    def tail(self, n=5):
        lines = (self.stderr() + self.stdout()).strip().splitlines()
        return " | ".join(lines[-n:])


class Procs:
    """Starts processes and stops every one of them when the `with` block ends."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.started = []
        os.makedirs(logdir, exist_ok=True)

    def start(self, name, argv, stop_signal=signal.SIGTERM, env=None):
        proc = Proc(name, argv, self.logdir, stop_signal, env)
        self.started.append(proc)
        return proc.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for proc in reversed(self.started):
            proc.stop()
        return False


def free_port(kind):
    """A port the kernel just handed out for `kind` ("udp" or "tcp") on 127.0.0.1."""
    sock_type = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, sock_type) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_tool(name):
    path = shutil.which(name)
    if not path:
        raise Skip("%s is not installed (scripts/install-deps.sh bench)" % name)
    return path


def require_root(what):
    if os.geteuid() != 0:
        raise Skip("%s: needs root (bench/run runs the driver under sudo)" % what)


def cpu_seconds(pid):
    """(user, system) CPU of every thread of `pid` so far, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        # The command name may contain spaces; fields after its closing parenthesis are fixed.
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK  # utime, stime (fields 14, 15)


def context_switches(pid):
    """(voluntary, involuntary) context switches of every thread of `pid` so far. A voluntary
    one is the thread going to sleep, so each is one wakeup."""
    vol = invol = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        invol += int(line.split()[1])
        except FileNotFoundError:  # the thread ended meanwhile
            pass
    return vol, invol


def status_kib(pid, key):
    """A "kB" line of /proc/<pid>/status (VmRSS, VmHWM) in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def run(argv, timeout=60, check=True, stdin_text=""):
    """Runs a short command to completion; its stdout. Raises BenchError on failure."""
    try:
        done = subprocess.run([str(a) for a in argv], input=stdin_text, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError("%s did not finish in %d s" % (argv[0], timeout))
    if check and done.returncode != 0:
        raise BenchError("%s failed (exit %d): %s" % (" ".join(map(str, argv)), done.returncode,
                                                      done.stderr.strip()[-300:]))
    return done.stdout
