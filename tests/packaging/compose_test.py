#!/usr/bin/python3
"""packaging.compose: deploy/compose.yaml describes a stack that would start and fit together.

There is no Docker engine here, so nothing is started. Instead:
- `docker-compose config` (Debian's docker-compose, which needs no engine for this) parses
  and validates the file against the Compose schema and resolves its paths;
- the five services are there; registry images are pinned to a version tag; build contexts
  and Dockerfiles exist; every bind-mounted file or folder exists; named volumes are declared;
- the exporter's config is mounted where the image's ENTRYPOINT reads it, and it passes the
  exporter's --config.check; its hostnames are services of the stack;
- Prometheus: the mounted prometheus.yml passes `promtool check config` with its rule_files
  mapped through the mounts to the repository (so the rule files load); each rule_files
  glob matches rule files only (not alertmanager.yml); it scrapes the exporter service on
  15060 under the job name the rules select, and alerts to the alertmanager service;
- Alertmanager's mounted config passes `amtool check-config`;
- Grafana: a default Prometheus data source at the prometheus service, the repository's
  dashboard provider mounted in the provisioning folder and the dashboards mounted at the
  provider's path, with at least one dashboard JSON there.

usage: compose_test.py SOURCE_DIR EXPORTER_BINARY
"""

import fnmatch
import glob
import ipaddress
import json
import os
import re
import shutil
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stxtest as t  # noqa: E402

SERVICES = {"exporter", "prometheus", "alertmanager", "grafana", "demo-peer"}


def main():
    if len(sys.argv) != 3:
        t.fail(__doc__)
    source, binary = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    deploy = os.path.join(source, "deploy")
    compose_path = os.path.join(deploy, "compose.yaml")
    for tool in ("docker-compose", "promtool", "amtool"):
        if not shutil.which(tool):
            t.fail(f"{tool} is not installed (scripts/install-deps.sh test installs it)")
    checks = t.Failures()

    config = t.run(["docker-compose", "-f", compose_path, "config"], check=False)
    checks.check(config.returncode == 0, "docker-compose config: valid Compose file",
                 config.stdout)

    with open(compose_path) as f:
        compose = yaml.safe_load(f)
    services = compose.get("services", {})
    checks.check(set(services) == SERVICES, "services: " + ", ".join(sorted(SERVICES)),
                 str(sorted(services)))
    declared_volumes = set((compose.get("volumes") or {}).keys())

    # Where each container path comes from on the host: {service: {target: host path}}.
    mounts = {}
    for name, svc in services.items():
        image = svc.get("image", "")
        if "build" in svc:
            build = svc["build"]
            context = os.path.normpath(os.path.join(deploy, build.get("context", ".")))
            dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
            checks.check(os.path.isfile(dockerfile), f"{name}: builds from an existing Dockerfile",
                         dockerfile)
        else:
            t.check_pinned(checks, name, image)
        mounts[name] = t.bind_mounts(checks, name, svc, deploy, declared_volumes)

    def host_path(service, container_path):
        """The host path behind container_path through service's bind mounts, or None."""
        best = None
        for dst, host in mounts.get(service, {}).items():
            if container_path == dst or container_path.startswith(dst.rstrip("/") + "/"):
                if best is None or len(dst) > len(best[0]):
                    best = (dst, host)
        if best is None:
            return None
        return best[1] + container_path[len(best[0]):]

    def flag(service, name):
        for arg in services.get(service, {}).get("command", []) or []:
            if arg.startswith(f"--{name}="):
                return arg.split("=", 1)[1]
        return None

    # --- exporter -----------------------------------------------------------------------------
    with open(os.path.join(source, "Dockerfile")) as f:
        entrypoint = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", f.read(), re.M).group(1))
    config_in_image = next(a.split("=", 1)[1] for a in entrypoint
                           if a.startswith("--config.file="))
    exporter_config = host_path("exporter", config_in_image)
    if checks.check(exporter_config is not None and os.path.isfile(exporter_config),
                    f"exporter: a config is mounted at {config_in_image} (the ENTRYPOINT's)"):
        cc = t.run([binary, "--config.check", f"--config.file={exporter_config}"], check=False)
        checks.check(cc.returncode == 0, "exporter: the mounted config passes --config.check",
                     cc.stdout)
        with open(exporter_config) as f:
            hosts = re.findall(r'^\s*uri\s*=\s*"sips?:(?:[^@"]*@)?([^:;"]+)', f.read(), re.M)
        strangers = []
        for host in hosts:
            try:
                ipaddress.ip_address(host)
            except ValueError:
                if host not in services:
                    strangers.append(host)
        checks.check(hosts and not strangers, "exporter: its target hostnames are services",
                     ", ".join(strangers))
    checks.check(any(str(p).split(":")[-1] == "15060" for p in
                     services.get("exporter", {}).get("ports", [])),
                 "exporter: port 15060 published")

    # --- prometheus ---------------------------------------------------------------------------
    prom_in_container = flag("prometheus", "config.file") or "/etc/prometheus/prometheus.yml"
    prom_config = host_path("prometheus", prom_in_container)
    if checks.check(prom_config is not None and os.path.isfile(prom_config),
                    f"prometheus: {prom_in_container} is mounted"):
        with open(prom_config) as f:
            prom = yaml.safe_load(f)
        with t.temp_dir("stx-compose") as work:
            mapped_rules = []
            for pattern in prom.get("rule_files", []):
                host_pattern = host_path("prometheus", pattern)
                matched = sorted(glob.glob(host_pattern)) if host_pattern else []
                checks.check(bool(matched), f"prometheus: rule_files {pattern} matches files",
                             str(host_pattern))
                for path in matched:
                    with open(path) as f:
                        doc = yaml.safe_load(f)
                    checks.check(isinstance(doc, dict) and "groups" in doc,
                                 f"prometheus: {os.path.basename(path)} is a rule file")
                mapped_rules.append(host_pattern or pattern)
            all_rules = [os.path.basename(p) for p in glob.glob(
                os.path.join(source, "alerts", "*.yml"))]
            checks.check(not any(fnmatch.fnmatch("alertmanager.yml", os.path.basename(p))
                                 for p in prom.get("rule_files", [])) and
                         "alertmanager.yml" in all_rules,
                         "prometheus: rule_files leave out alerts/alertmanager.yml")
            mapped = dict(prom, rule_files=mapped_rules)
            mapped_path = os.path.join(work, "prometheus.yml")
            with open(mapped_path, "w") as f:
                yaml.safe_dump(mapped, f)
            check = t.run(["promtool", "check", "config", mapped_path], check=False)
            checks.check(check.returncode == 0,
                         "promtool check config (rules loaded through the mounts)", check.stdout)
            t.log(check.stdout.strip())

        jobs = {j["job_name"]: j for j in prom.get("scrape_configs", [])}
        with open(os.path.join(source, "alerts", "sip_trunk_exporter.rules.yml")) as f:
            rule_jobs = set(re.findall(r'job="([^"]+)"', f.read()))
        # sip_trunk_exporter's /metrics, and sip_probe's /probe (README: Multi-target probing).
        checks.check(rule_jobs == {"sip_trunk_exporter", "sip_probe"} and rule_jobs <= set(jobs),
                     "prometheus: every job the rules select is scraped",
                     f"rules select {rule_jobs}, jobs {sorted(jobs)}")
        targets = [tg for j in jobs.values() for sc in j.get("static_configs", [])
                   for tg in sc.get("targets", [])]
        checks.check("exporter:15060" in targets, "prometheus: scrapes exporter:15060",
                     str(targets))
        probe = jobs.get("sip_probe", {})
        relabel = probe.get("relabel_configs", [])
        checks.check(probe.get("metrics_path") == "/probe" and
                     any(r.get("replacement") == "exporter:15060" for r in relabel),
                     "prometheus: sip_probe scrapes exporter:15060/probe", str(probe))
        am_targets = [tg for am in prom.get("alerting", {}).get("alertmanagers", [])
                      for sc in am.get("static_configs", []) for tg in sc.get("targets", [])]
        checks.check(am_targets == ["alertmanager:9093"],
                     "prometheus: alerts go to alertmanager:9093", str(am_targets))

    # --- alertmanager -------------------------------------------------------------------------
    am_in_container = flag("alertmanager", "config.file") or \
        "/etc/alertmanager/alertmanager.yml"
    am_config = host_path("alertmanager", am_in_container)
    if checks.check(am_config is not None and os.path.isfile(am_config),
                    f"alertmanager: {am_in_container} is mounted"):
        amtool = t.run(["amtool", "check-config", am_config], check=False)
        checks.check(amtool.returncode == 0, "amtool check-config", amtool.stdout)

    # --- grafana ------------------------------------------------------------------------------
    ds_files = [h for d, h in mounts.get("grafana", {}).items()
                if d.startswith("/etc/grafana/provisioning/datasources/")]
    default_prom = []
    for path in ds_files:
        with open(path) as f:
            for ds in yaml.safe_load(f).get("datasources", []):
                if ds.get("type") == "prometheus" and ds.get("isDefault"):
                    default_prom.append(ds.get("url"))
    checks.check(default_prom == ["http://prometheus:9090"],
                 "grafana: default data source is Prometheus at prometheus:9090",
                 str(default_prom))
    providers = [h for d, h in mounts.get("grafana", {}).items()
                 if d.startswith("/etc/grafana/provisioning/dashboards/")]
    if checks.check(len(providers) == 1, "grafana: one dashboard provider mounted"):
        with open(providers[0]) as f:
            provider = yaml.safe_load(f)["providers"][0]
        path = provider["options"]["path"]
        host = host_path("grafana", path)
        dashboards = sorted(glob.glob(os.path.join(host, "*.json"))) if host else []
        checks.check(bool(dashboards), f"grafana: dashboards mounted at the provider's {path}",
                     str(host))
        for d in dashboards:
            with open(d) as f:
                dash = json.load(f)
            checks.check(bool(dash.get("uid")) and bool(dash.get("panels")),
                         f"grafana: {os.path.basename(d)} is a dashboard with a uid and panels")
    checks.finish()


if __name__ == "__main__":
    main()
