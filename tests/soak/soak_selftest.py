#!/usr/bin/python3
"""Checks of the soak's own parts: duration parsing, the fleet mix, the lateness quantiles,
the verdict, and that the hostile peer misbehaves as it says. A few seconds; stdlib only."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soak  # noqa: E402


def sample(t, rss_kib, fds, probes):
    return {"t_s": t, "rss_kib": rss_kib, "fds": fds, "probes_total": probes}


def flat_run(duration=600, step=10, rss=30 * 1024, fds=30):
    return [sample(t, rss, fds, 100 * t) for t in range(0, duration + 1, step)]


class Parsing(unittest.TestCase):
    def test_durations(self):
        self.assertEqual(soak.parse_duration("10m"), 600)
        self.assertEqual(soak.parse_duration("1h30m"), 5400)
        self.assertEqual(soak.parse_duration("90"), 90)
        self.assertAlmostEqual(soak.parse_duration("1500ms"), 1.5)
        for bad in ("10x", "m", "10m junk", ""):
            with self.assertRaises(Exception):
                soak.parse_duration(bad)

    def test_exposition(self):
        text = ('# TYPE sip_probes_total counter\n'
                'sip_probes_total{target="a",kind="healthy",result="success"} 7\n'
                'sip_probes_total{target="b",kind="refused",result="failure"} 3\n'
                'sip_exporter_probes_in_flight 4\n'
                'weird{label="a \\"quoted\\" }"} 1\n')
        m = soak.parse_metrics(text)
        self.assertEqual(soak.total(m, "sip_probes_total"), 10)
        self.assertEqual(soak.total(m, "sip_probes_total", kind="refused"), 3)
        self.assertEqual(soak.total(m, "sip_exporter_probes_in_flight"), 4)
        self.assertEqual(m["weird"][0][0]["label"], 'a \\"quoted\\" }')


class Fleet(unittest.TestCase):
    def test_thousand_targets_mix(self):
        counts = soak.kind_counts(1000, True)
        self.assertEqual(sum(counts.values()), 1000)
        self.assertEqual(counts["healthy"], 760)
        self.assertEqual(counts["healthy_tcp"] + counts["slowloris_tcp"] + counts["reset_tcp"], 20)
        self.assertNotIn("healthy_tcp", soak.kind_counts(1000, False))

    def test_small_fleet_has_every_kind_and_too_small_is_refused(self):
        counts = soak.kind_counts(20, True)
        self.assertTrue(all(v >= 1 for v in counts.values()))
        with self.assertRaises(ValueError):
            soak.kind_counts(8, True)

    def test_plan_names_are_unique_and_timeouts_below_intervals(self):
        uris = {k: ["sip:127.0.0.1:%d" % (5000 + i)] for i, k in enumerate(
            ["healthy", "healthy_tcp", "refused", "error_503", "timeout", "flapping",
             "hostile_udp", "slowloris_tcp", "reset_tcp"])}
        targets = soak.plan(1000, uris)
        self.assertEqual(len({t["name"] for t in targets}), 1000)
        for t in targets:
            interval = soak.parse_duration(t["interval"])
            self.assertLess(soak.parse_duration(t["timeout"]), interval)
            self.assertLess(soak.parse_duration(t["timeout"]), soak.LATE_ANSWER_MS / 1000)
        by_interval = {}
        for t in targets:
            by_interval[t["interval"]] = by_interval.get(t["interval"], 0) + 1
        self.assertEqual(by_interval, {"1s": 100, "5s": 800, "10s": 100})


class Quantiles(unittest.TestCase):
    B = [(0.001, 10.0), (0.002, 30.0), (0.004, 40.0), (float("inf"), 40.0)]

    def test_interpolates_inside_the_bucket(self):
        self.assertAlmostEqual(soak.quantile(self.B, 0.5), 0.0015)  # rank 20 of 10..30
        self.assertAlmostEqual(soak.quantile(self.B, 0.125), 0.0005)  # rank 5 in the first
        self.assertAlmostEqual(soak.quantile(self.B, 1.0), 0.004)

    def test_inf_bucket_and_empty(self):
        b = [(0.001, 1.0), (float("inf"), 10.0)]
        self.assertEqual(soak.quantile(b, 0.99), 0.001)
        self.assertIsNone(soak.quantile([(0.001, 0.0), (float("inf"), 0.0)], 0.5))
        self.assertIsNone(soak.quantile(None, 0.5))

    def test_window_is_the_difference_of_two_scrapes(self):
        old = [(0.001, 5.0), (float("inf"), 5.0)]
        new = [(0.001, 5.0), (float("inf"), 15.0)]
        self.assertEqual(soak.bucket_diff(new, old), [(0.001, 0.0), (float("inf"), 10.0)])
        self.assertIsNone(soak.bucket_diff(new, [(0.002, 1.0), (float("inf"), 1.0)]))
        self.assertIsNone(soak.bucket_diff(new, None))


class Verdict(unittest.TestCase):
    def test_flat_run_passes(self):
        checks, failures = soak.verdict(flat_run(), 600, 20)
        self.assertEqual(failures, [])
        self.assertEqual(len(checks), 3)

    def test_rss_growth_beyond_the_bound_fails(self):
        run = flat_run()
        for s in run:
            s["rss_kib"] += max(0, s["t_s"] - 120) * 20  # 20 KiB/s after the warm-up
        _, failures = soak.verdict(run, 600, 20)
        self.assertEqual(len(failures), 1)
        self.assertIn("RSS growth", failures[0])

    def test_rss_noise_within_the_bound_passes(self):
        run = flat_run()
        for i, s in enumerate(run):
            s["rss_kib"] += (i % 3) * 2048  # +-4 MiB of allocator noise
        self.assertEqual(soak.verdict(run, 600, 20)[1], [])

    def test_warm_up_growth_is_ignored(self):
        run = flat_run()
        for s in run:
            s["rss_kib"] += min(s["t_s"], 100) * 200  # 20 MiB while warming up
        self.assertEqual(soak.verdict(run, 600, 20)[1], [])

    def test_fd_leak_fails_and_tcp_churn_does_not(self):
        churn = flat_run()
        for i, s in enumerate(churn):
            s["fds"] += (i * 7) % 21  # up to 20 TCP connections come and go
        self.assertEqual(soak.verdict(churn, 600, 20)[1], [])
        leak = flat_run()
        for s in leak:
            s["fds"] += s["t_s"] // 10  # one more every sample
        failures = soak.verdict(leak, 600, 20)[1]
        self.assertEqual(len(failures), 1)
        self.assertIn("fds", failures[0])

    def test_stalled_probing_fails(self):
        run = flat_run()
        for s in run:
            s["probes_total"] = min(s["probes_total"], 5000)
        self.assertIn("probing", soak.verdict(run, 600, 20)[1][0])

    def test_too_short_a_run_has_no_growth_verdict(self):
        checks, failures = soak.verdict(flat_run(duration=10), 10, 20)
        self.assertEqual(failures, [])
        self.assertTrue(checks[0].startswith("n/a"))

    def test_warm_up(self):
        self.assertEqual(soak.warmup_seconds(600), 120)
        self.assertEqual(soak.warmup_seconds(2700), 540)
        self.assertEqual(soak.warmup_seconds(120), 60)
        self.assertEqual(soak.rss_bound_kib(40 * 1024), 8 * 1024)
        self.assertEqual(soak.rss_bound_kib(400 * 1024), 20 * 1024)


class Miswired(unittest.TestCase):
    def peer(self, name, out):
        f = tempfile.NamedTemporaryFile("w", suffix=".out", delete=False)
        f.write(out)
        f.close()
        self.addCleanup(os.remove, f.name)
        return type("P", (), {"name": name, "out_path": f.name})()

    def test_a_peer_that_got_nothing_means_a_broken_soak(self):
        good = [self.peer("healthy0", "received=10 answered=10 dropped=0\n"),
                self.peer("hostile_peer", "flood=5 received=3 tcp_accepted=2\n"),
                self.peer("sipp_tcp", "")]
        self.assertIsNone(soak.miswired(good))
        silent = good + [self.peer("timeout", "received=0 answered=0 dropped=0\n")]
        self.assertIn("timeout", soak.miswired(silent))
        no_tcp = [self.peer("hostile_peer", "flood=5 received=3 tcp_accepted=0\n")]
        self.assertIn("TCP", soak.miswired(no_tcp))


OPTIONS = ("OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKself%d;rport\r\n"
           "From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
           "Call-ID: self%d\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")


class HostilePeer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        ports_file = os.path.join(cls.dir.name, "ports.json")
        cls.proc = subprocess.Popen([sys.executable, os.path.join(soak.HERE, "hostile_peer.py"),
                                     "--ports-file", ports_file, "--flood-rate", "100"],
                                    stdout=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not os.path.exists(ports_file) and time.monotonic() < deadline:
            time.sleep(0.02)
        with open(ports_file) as f:
            cls.ports = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        out, _ = cls.proc.communicate(timeout=10)
        cls.dir.cleanup()
        assert cls.proc.returncode == 0, out

    def test_udp_answers_wrongly_and_floods_within_its_rate(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.3)
        me = s.getsockname()[1]
        start = time.monotonic()
        for i in range(11):
            s.sendto((OPTIONS % (me, i, i)).encode(), ("127.0.0.1", self.ports["udp"]))
        got = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                got.append(s.recvfrom(70000))
            except socket.timeout:
                pass
        elapsed = time.monotonic() - start
        s.close()
        texts = [d.decode("latin-1") for d, _ in got]
        exact = [t for t in texts if t.startswith("SIP/2.0 200") and "branch=z9hG4bKself" in t
                 and "Call-ID: self" in t and "CSeq: 1 OPTIONS" in t]
        flood = [t for t in texts if "@flood" in t]
        self.assertTrue(exact, "no correct answer among %d datagrams" % len(got))
        self.assertTrue(any(t.startswith("SIP/2.0 100") for t in texts))
        self.assertTrue(any("CSeq: 2 OPTIONS" in t for t in texts))
        self.assertTrue(any(len(d) > 10000 for d, _ in got), "no oversized answer")
        self.assertTrue(any(a[1] != self.ports["udp"] for _, a in got), "nothing from elsewhere")
        self.assertTrue(flood, "no unsolicited responses")
        self.assertLessEqual(len(flood), 100 * elapsed + 10 + 1)  # rate plus its burst

    def test_reset_port_resets(self):
        resets = 0
        for _ in range(3):
            c = None
            try:  # the reset may already hit the connect
                c = socket.create_connection(("127.0.0.1", self.ports["reset"]), timeout=2)
                c.sendall((OPTIONS % (5060, 1, 1)).encode())
                while c.recv(4096):
                    pass
            except (ConnectionResetError, BrokenPipeError):
                resets += 1
            finally:
                if c is not None:
                    c.close()
        self.assertGreaterEqual(resets, 1)

    def test_slowloris_trickles_a_header_that_never_ends(self):
        c = socket.create_connection(("127.0.0.1", self.ports["slowloris"]), timeout=2)
        c.sendall((OPTIONS % (5060, 1, 1)).encode())
        got = b""
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            got += c.recv(100)
        c.close()
        # One byte per 0.2 s: a few bytes of a status line and a header that never ends.
        self.assertGreaterEqual(len(got), 3)
        self.assertLess(len(got), 15)
        self.assertTrue(b"SIP/2.0 200 OK\r\nX-Slow: ".startswith(got), got)


if __name__ == "__main__":
    unittest.main(verbosity=2)
