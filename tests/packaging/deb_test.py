#!/usr/bin/python3
"""packaging.deb: CPack builds a .deb that installs on a fresh Debian 12.

1. `cpack -G DEB` from the build tree; the control data: name, version, architecture; Depends
   names the package of every shared library the binary loads (ldd + dpkg -S on this
   machine); /etc/sip_trunk_exporter/config.toml is a conffile; the maintainer scripts are
   valid sh; the contents hold the binary (stripped), unit, config, rules and dashboards.
2. A Debian 12 minbase root filesystem (debootstrap, cached by scripts/container-build.sh)
   unpacked into a temporary directory, with systemd added as on a real host. There,
   `apt-get install ./the.deb` from the Debian mirror: if Depends missed a library, the
   binary would not start, because minbase has none of them (checked first). Then: the
   installed binary prints its version and accepts the installed config; `systemd-analyze
   verify --root` accepts the installed unit in that system (its own targets and /bin/kill);
   an edited conffile survives reinstalling the package; `dpkg -r` keeps it; `dpkg --purge`
   removes it.

Needs root (chroot), debootstrap, and the Debian mirror that apt uses (the only network).
usage: deb_test.py BUILD_DIR SOURCE_DIR PROJECT_VERSION
"""

import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stxtest as t  # noqa: E402

PACKAGE = "sip-trunk-exporter"
CONFFILE = "/etc/sip_trunk_exporter/config.toml"
UNIT = "/usr/lib/systemd/system/sip_trunk_exporter.service"


def owning_package(path):
    for candidate in (path, os.path.realpath(path)):
        for alias in (candidate, re.sub(r"^/usr/", "/", candidate),
                      "/usr" + candidate if not candidate.startswith("/usr/") else candidate):
            r = subprocess.run(["dpkg", "-S", alias], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
            if r.returncode == 0:
                return r.stdout.split(":")[0].strip()
    return None


def depends_names(depends):
    names = set()
    for clause in depends.split(","):
        for alt in clause.split("|"):
            names.add(alt.strip().split(" ")[0].split(":")[0])
    return names


def main():
    if len(sys.argv) != 4:
        t.fail(__doc__)
    build, source, version = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), \
        sys.argv[3]
    for tool in ("cpack", "dpkg-deb", "dpkg-shlibdeps", "ldd"):
        if not shutil.which(tool):
            t.fail(f"{tool} is not installed (scripts/install-deps.sh test installs it)")
    checks = t.Failures()
    arch = t.run(["dpkg", "--print-architecture"]).stdout.strip()

    with t.temp_dir("stx-deb") as work:
        # --- 1. the package itself --------------------------------------------------------------
        out = os.path.join(work, "out")
        t.run(["cpack", "-G", "DEB", "-B", out, "--config",
               os.path.join(build, "CPackConfig.cmake")])
        debs = glob.glob(os.path.join(out, "*.deb"))
        if not checks.check(len(debs) == 1, "cpack made one .deb", str(debs)):
            checks.finish()
        deb = debs[0]
        t.log(f"{os.path.basename(deb)}: {os.path.getsize(deb)} bytes")

        def field(name):
            return t.run(["dpkg-deb", "-f", deb, name]).stdout.strip()

        checks.check(field("Package") == PACKAGE, f"Package: {PACKAGE}", field("Package"))
        checks.check(field("Version") == f"{version}-1", f"Version: {version}-1",
                     field("Version"))
        checks.check(field("Architecture") == arch, f"Architecture: {arch}",
                     field("Architecture"))
        depends = field("Depends")
        t.log(f"Depends: {depends}")
        needed = {}
        binary = os.path.join(build, "sip_trunk_exporter")
        for line in t.run(["ldd", binary]).stdout.splitlines():
            m = re.match(r"\s*(\S+) => (/\S+)", line)
            if m:
                needed[m.group(1)] = owning_package(m.group(2))
        missing = sorted(f"{lib} ({pkg})" for lib, pkg in needed.items()
                         if pkg is None or pkg.split(":")[0] not in depends_names(depends))
        checks.check(needed and not missing,
                     f"Depends names the package of each of the {len(needed)} linked libraries",
                     "not in Depends: " + ", ".join(missing))

        ctrl = os.path.join(work, "control")
        t.run(["dpkg-deb", "-e", deb, ctrl])
        with open(os.path.join(ctrl, "conffiles")) as f:
            conffiles = f.read().split()
        checks.check(conffiles == [CONFFILE], f"conffiles: {CONFFILE}", str(conffiles))
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(ctrl, script)
            ok = os.access(path, os.X_OK) and t.run(["sh", "-n", path], check=False) \
                .returncode == 0
            checks.check(ok, f"{script}: executable, valid sh")

        contents = t.run(["dpkg-deb", "-c", deb]).stdout
        paths = {line.split()[-1].lstrip(".") for line in contents.splitlines()}
        want = {"/usr/bin/sip_trunk_exporter", CONFFILE, UNIT,
                "/usr/share/sip_trunk_exporter/example.toml"}
        want |= {"/usr/share/sip_trunk_exporter/alerts/" + os.path.basename(p)
                 for p in glob.glob(os.path.join(source, "alerts", "*.yml"))}
        want |= {"/usr/share/sip_trunk_exporter/dashboards/" + os.path.basename(p)
                 for p in glob.glob(os.path.join(source, "dashboards", "*.json"))}
        checks.check(want <= paths, "contents: binary, config, unit, example, rules, dashboards",
                     "missing " + ", ".join(sorted(want - paths)))
        copyright_path = f"/usr/share/doc/{PACKAGE}/copyright"
        checks.check({copyright_path, "/usr/share/doc/sip_trunk_exporter/LICENSE"} <= paths,
                     "contents: the Debian copyright file and LICENSE")
        unpacked = os.path.join(work, "unpacked")
        t.run(["dpkg-deb", "-x", deb, unpacked])
        sections = t.run(["readelf", "-S", os.path.join(unpacked, "usr/bin/sip_trunk_exporter")]) \
            .stdout
        checks.check(".symtab" not in sections and ".debug_info" not in sections,
                     "the packaged binary is stripped")
        with open(os.path.join(unpacked, copyright_path.lstrip("/"))) as f:
            checks.check("License: Apache-2.0" in f.read(), "the copyright file says Apache-2.0")
        with open(os.path.join(unpacked, UNIT.lstrip("/"))) as f, \
                open(os.path.join(source, "deploy", "sip_trunk_exporter.service")) as g:
            checks.check(f.read() == g.read(), "the packaged unit is deploy/'s")

        # --- 2. install it on Debian 12 -------------------------------------------------------
        if os.geteuid() != 0:
            t.log("SKIP: installing the .deb into a Debian 12 chroot needs root; "
                  "the package checks above ran")
            checks.finish()
            sys.exit(t.SKIP)
        if not shutil.which("debootstrap"):
            t.fail("debootstrap is not installed (scripts/install-deps.sh test installs it)")
        tarball = t.run([os.path.join(source, "scripts", "container-build.sh"), "rootfs"],
                        stderr=None).stdout.strip().splitlines()[-1]
        root = os.path.join(work, "root")
        os.makedirs(root)
        t.run(["tar", "-xf", tarball, "-C", root, "--numeric-owner"])
        shutil.copy("/etc/resolv.conf", os.path.join(root, "etc", "resolv.conf"))
        shutil.copy(deb, os.path.join(root, "tmp"))
        pkg_in_root = "/tmp/" + os.path.basename(deb)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive",
               "LC_ALL": "C"}

        def chroot(*argv, check=True):
            return t.run(["chroot", root, *argv], check=check, env=env)

        before = set(chroot("dpkg-query", "-W", "-f", "${Package}\n").stdout.split())
        not_in_minbase = sorted({p.split(":")[0] for p in needed.values() if p} - before)
        checks.check(bool(not_in_minbase),
                     "minbase lacks some of the exporter's libraries, so installing them "
                     "proves Depends", "all present")
        t.log("libraries apt must bring from Depends: " + ", ".join(not_in_minbase))

        chroot("apt-get", "update", "-qq")
        chroot("apt-get", "install", "-y", "-qq", "--no-install-recommends", "systemd")
        install = chroot("apt-get", "install", "-y", "-qq", pkg_in_root, check=False)
        if not checks.check(install.returncode == 0, "apt-get install ./the.deb",
                            install.stdout[-3000:]):
            checks.finish()
        status = chroot("dpkg-query", "-W", "-f", "${Status} ${Version}", PACKAGE).stdout
        checks.check(status == f"install ok installed {version}-1", "dpkg: installed", status)
        ver = chroot("/usr/bin/sip_trunk_exporter", "--version", check=False)
        checks.check(ver.returncode == 0 and f"version {version} " in ver.stdout,
                     "the installed binary runs (--version)", ver.stdout)
        cc = chroot("/usr/bin/sip_trunk_exporter", "--config.check",
                    f"--config.file={CONFFILE}", check=False)
        checks.check(cc.returncode == 0, "the installed binary accepts the installed config",
                     cc.stdout)
        verify = t.run(["systemd-analyze", "verify", f"--root={root}",
                        "sip_trunk_exporter.service"], check=False)
        checks.check(verify.returncode == 0 and not verify.stdout.strip(),
                     "systemd-analyze verify --root: the installed unit verifies",
                     verify.stdout)

        conffile = os.path.join(root, CONFFILE.lstrip("/"))
        with open(conffile, "a") as f:
            f.write("# edited by the operator\n")
        again = chroot("dpkg", "-i", pkg_in_root, check=False)
        with open(conffile) as f:
            kept = f.read().endswith("# edited by the operator\n")
        checks.check(again.returncode == 0 and kept,
                     "reinstalling keeps the edited conffile", again.stdout[-2000:])
        chroot("dpkg", "-r", PACKAGE)
        checks.check(not os.path.exists(os.path.join(root, "usr/bin/sip_trunk_exporter")) and
                     os.path.exists(conffile), "dpkg -r removes the binary, keeps the config")
        chroot("dpkg", "--purge", PACKAGE)
        checks.check(not os.path.exists(os.path.dirname(conffile)),
                     "dpkg --purge removes /etc/sip_trunk_exporter")
    checks.finish()


if __name__ == "__main__":
    main()
