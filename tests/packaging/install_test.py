#!/usr/bin/python3
"""packaging.install: `cmake --install` lays out the files, and the unit it installs verifies.

1. DESTDIR install with prefix /usr (the layout of the .deb): binary, config in /etc, unit,
   example config, every rule file of alerts/ and dashboard of dashboards/, docs; the unit is
   deploy/sip_trunk_exporter.service byte for byte.
2. Installing again keeps an edited /etc config (and still refreshes the shared example).
3. Install with prefix P (a temporary directory): the unit's paths follow the prefix, and
   `systemd-analyze verify` accepts it with nothing to say (it checks that ExecStart's binary
   exists and is executable, every key and value, and the dependencies against this machine's
   units), `systemd-analyze security` rates it at most 2.0 ("OK"), and the installed binary
   accepts the installed config (--config.check).

usage: install_test.py BUILD_DIR SOURCE_DIR
"""

import filecmp
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stxtest as t  # noqa: E402

UNIT = "sip_trunk_exporter.service"
MAX_EXPOSURE = "20"  # systemd-analyze's scale: 20 = "2.0"


def expected_files(source, root, usr):
    """Paths (relative to the install root) that the install must create."""
    files = [
        f"{usr}/bin/sip_trunk_exporter",
        f"{usr}/lib/systemd/system/{UNIT}",
        f"{usr}/share/sip_trunk_exporter/example.toml",
        f"{usr}/share/doc/sip_trunk_exporter/README.md",
        f"{usr}/share/doc/sip_trunk_exporter/CHANGELOG.md",
    ]
    for pattern, dest in (("alerts/*.yml", "alerts"), ("dashboards/*.json", "dashboards")):
        for path in sorted(glob.glob(os.path.join(source, pattern))):
            files.append(f"{usr}/share/sip_trunk_exporter/{dest}/{os.path.basename(path)}")
    return files


def main():
    if len(sys.argv) != 3:
        t.fail(__doc__)
    build, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if not shutil.which("systemd-analyze"):
        t.fail("systemd-analyze is not installed (package systemd; "
               "scripts/install-deps.sh test installs it)")
    checks = t.Failures()
    repo_unit = os.path.join(source, "deploy", UNIT)

    with t.temp_dir("stx-install") as work:
        # 1. The .deb's layout.
        dest = os.path.join(work, "dest")
        env = dict(os.environ, DESTDIR=dest)
        t.run(["cmake", "--install", build, "--prefix", "/usr"], env=env)
        missing = [f for f in expected_files(source, dest, "usr")
                   if not os.path.isfile(os.path.join(dest, f))]
        checks.check(not missing, "prefix /usr: binary, unit, example, alerts, dashboards, docs",
                     "missing " + ", ".join(missing))
        checks.check(len(glob.glob(os.path.join(source, "alerts", "*.rules.yml"))) > 0 and
                     len(glob.glob(os.path.join(source, "dashboards", "*.json"))) > 0,
                     "the tree has rules and dashboards to install")
        etc_config = os.path.join(dest, "etc", "sip_trunk_exporter", "config.toml")
        checks.check(os.path.isfile(etc_config) and filecmp.cmp(
            etc_config, os.path.join(source, "config", "example.toml"), shallow=False),
            "prefix /usr: config/example.toml is /etc/sip_trunk_exporter/config.toml")
        installed_unit = os.path.join(dest, "usr", "lib", "systemd", "system", UNIT)
        checks.check(os.path.isfile(installed_unit) and
                     filecmp.cmp(installed_unit, repo_unit, shallow=False),
                     "prefix /usr: the installed unit is deploy/sip_trunk_exporter.service")
        binary = os.path.join(dest, "usr", "bin", "sip_trunk_exporter")
        checks.check(os.access(binary, os.X_OK), "prefix /usr: the binary is executable")

        # 2. Reinstall over an edited config.
        with open(etc_config, "a") as f:
            f.write("# edited by the operator\n")
        out = t.run(["cmake", "--install", build, "--prefix", "/usr"], env=env).stdout
        with open(etc_config) as f:
            kept = f.read().endswith("# edited by the operator\n")
        checks.check(kept and "Keeping existing" in out,
                     "reinstalling keeps an edited /etc/sip_trunk_exporter/config.toml", out[-800:])

        # 3. Another prefix; verify the unit there.
        prefix = os.path.join(work, "opt", "stx")
        t.run(["cmake", "--install", build, "--prefix", prefix])
        unit = os.path.join(prefix, "lib", "systemd", "system", UNIT)
        config = os.path.join(prefix, "etc", "sip_trunk_exporter", "config.toml")
        entries = t.parse_unit(unit) if os.path.isfile(unit) else {}
        exec_start = entries.get(("Service", "ExecStart"), [""])[-1]
        checks.check(exec_start == f"{prefix}/bin/sip_trunk_exporter --config.file={config}",
                     "prefix P: ExecStart runs P/bin/sip_trunk_exporter with P/etc's config",
                     exec_start)
        with open(unit) as f, open(repo_unit) as g:
            mapped_back = f.read().replace(f"{prefix}/etc/", "/etc/").replace(prefix, "/usr")
            checks.check(mapped_back == g.read(),
                         "prefix P: the unit differs from deploy/'s in its paths only")

        verify = t.run(["systemd-analyze", "verify", unit], check=False)
        checks.check(verify.returncode == 0 and not verify.stdout.strip(),
                     "systemd-analyze verify: no errors, no warnings",
                     f"exit {verify.returncode}: {verify.stdout}")
        security = t.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                          f"--threshold={MAX_EXPOSURE}", unit], check=False)
        overall = [line for line in security.stdout.splitlines() if "Overall exposure" in line]
        t.log(overall[0] if overall else security.stdout[-2000:])
        checks.check(security.returncode == 0,
                     f"systemd-analyze security: exposure at most {int(MAX_EXPOSURE) / 10}",
                     security.stdout[-3000:])

        installed = os.path.join(prefix, "bin", "sip_trunk_exporter")
        check = t.run([installed, "--config.check", f"--config.file={config}"], check=False)
        checks.check(check.returncode == 0, "the installed binary accepts the installed config",
                     check.stdout)
    checks.finish()


if __name__ == "__main__":
    main()
