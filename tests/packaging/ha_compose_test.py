#!/usr/bin/python3
"""packaging.ha_compose: deploy/ha/compose.yaml describes an HA stack that would fit together.

Nothing is started here (no Docker engine; tests/alerting/ha_test.cc runs the same commands
and files as plain processes and fails over). Checked:
- `docker-compose config` validates the file; the services are there; registry images are
  pinned; bind-mounted files exist; named volumes are declared;
- the exporters: one configuration (it passes --config.check), the same --shard.count, their
  own --shard.index each, and --shard.replicas equal to the count (each probes every target,
  from its vantage);
- the Prometheus pair: the same command and the same mounted prometheus.yml, REPLICA a and b
  (external_labels.replica expands it: --enable-feature=expand-external-labels); it passes
  `promtool check config` with its rules mapped through the mounts; it scrapes both exporters
  with a vantage label each, alerts to both Alertmanagers, and drops `replica` from alerts
  and from remote write to the victoria-metrics service;
- the Alertmanagers: each names the other as --cluster.peer; the mounted config passes
  `amtool check-config`;
- VictoriaMetrics: -dedup.minScrapeInterval equals the scrape interval.

usage: ha_compose_test.py SOURCE_DIR EXPORTER_BINARY
"""

import os
import re
import shutil
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stxtest as t  # noqa: E402

SERVICES = {"exporter-fra", "exporter-ash", "demo-peer", "prometheus-a", "prometheus-b",
            "alertmanager-a", "alertmanager-b", "victoria-metrics"}


def flags(svc):
    out = {}
    for arg in svc.get("command", []) or []:
        name, _, value = arg.partition("=")
        out[name] = value
    return out


def drops_replica(relabel_configs):
    return any(r.get("action") == "labeldrop" and re.fullmatch(r.get("regex", ""), "replica")
               for r in relabel_configs or [])


def main():
    if len(sys.argv) != 3:
        t.fail(__doc__)
    source, binary = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    ha = os.path.join(source, "deploy", "ha")
    compose_path = os.path.join(ha, "compose.yaml")
    for tool in ("docker-compose", "promtool", "amtool"):
        if not shutil.which(tool):
            t.fail(f"{tool} is not installed (scripts/install-deps.sh test installs it)")
    checks = t.Failures()

    config = t.run(["docker-compose", "-f", compose_path, "config"], check=False)
    checks.check(config.returncode == 0, "docker-compose config: valid Compose file", config.stdout)
    with open(compose_path) as f:
        compose = yaml.safe_load(f)
    services = compose.get("services", {})
    checks.check(set(services) == SERVICES, "services: " + ", ".join(sorted(SERVICES)),
                 str(sorted(services)))
    declared = set((compose.get("volumes") or {}).keys())
    mounts = {}
    for name, svc in services.items():
        image = svc.get("image", "")
        if "build" not in svc and not image.startswith("sip_trunk_exporter"):
            t.check_pinned(checks, name, image)
        mounts[name] = t.bind_mounts(checks, name, svc, ha, declared)

    # --- exporters ----------------------------------------------------------------------------
    exporters = ["exporter-fra", "exporter-ash"]
    configs = {mounts[e].get("/etc/sip_trunk_exporter/config.toml") for e in exporters}
    if checks.check(len(configs) == 1 and None not in configs,
                    "exporters: both mount one config at /etc/sip_trunk_exporter/config.toml",
                    str(configs)):
        cc = t.run([binary, "--config.check", f"--config.file={configs.pop()}"], check=False)
        checks.check(cc.returncode == 0, "exporters: the config passes --config.check", cc.stdout)
    shard = [flags(services[e]) for e in exporters]
    counts = {s.get("--shard.count") for s in shard}
    replicas = {s.get("--shard.replicas") for s in shard}
    indices = sorted(s.get("--shard.index", "") for s in shard)
    checks.check(counts == {"2"} and replicas == {"2"} and indices == ["0", "1"],
                 "exporters: --shard.count=2, --shard.replicas=2, indices 0 and 1", str(shard))

    # --- the Prometheus pair ------------------------------------------------------------------
    pa, pb = services.get("prometheus-a", {}), services.get("prometheus-b", {})
    checks.check(pa.get("command") == pb.get("command") and
                 pa.get("volumes", [])[:2] == pb.get("volumes", [])[:2],
                 "prometheus: both replicas run the same command on the same files")
    checks.check(pa.get("environment") == {"REPLICA": "a"} and
                 pb.get("environment") == {"REPLICA": "b"},
                 "prometheus: REPLICA a and b, nothing else differs in the environment")
    checks.check("--enable-feature=expand-external-labels" in (pa.get("command") or []),
                 "prometheus: expand-external-labels (external_labels.replica is ${REPLICA})")
    prom_path = mounts.get("prometheus-a", {}).get("/etc/prometheus/prometheus.yml")
    rules_dir = mounts.get("prometheus-a", {}).get("/etc/prometheus/rules")
    if checks.check(prom_path and rules_dir, "prometheus: prometheus.yml and the rules are mounted"):
        with open(prom_path) as f:
            prom = yaml.safe_load(f)
        checks.check(prom.get("global", {}).get("external_labels") == {"replica": "${REPLICA}"},
                     "prometheus: external_labels is replica: ${REPLICA} only")
        with t.temp_dir("stx-ha-compose") as work:
            mapped = dict(prom, rule_files=[p.replace("/etc/prometheus/rules", rules_dir)
                                            for p in prom.get("rule_files", [])])
            mapped_path = os.path.join(work, "prometheus.yml")
            with open(mapped_path, "w") as f:
                yaml.safe_dump(mapped, f)
            check = t.run(["promtool", "check", "config", mapped_path], check=False)
            checks.check(check.returncode == 0 and "0 rule files found" not in check.stdout,
                         "promtool check config (rules loaded through the mounts)", check.stdout)
        vantages = {}
        for job in prom.get("scrape_configs", []):
            if job.get("job_name") != "sip_trunk_exporter":
                continue
            for sc in job.get("static_configs", []):
                for target in sc.get("targets", []):
                    vantages[target] = (sc.get("labels") or {}).get("vantage")
        checks.check(vantages == {"exporter-fra:15060": "fra", "exporter-ash:15060": "ash"},
                     "prometheus: job sip_trunk_exporter scrapes both exporters, a vantage each",
                     str(vantages))
        alerting = prom.get("alerting", {})
        am_targets = sorted(tg for am in alerting.get("alertmanagers", [])
                            for sc in am.get("static_configs", []) for tg in sc.get("targets", []))
        checks.check(am_targets == ["alertmanager-a:9093", "alertmanager-b:9093"],
                     "prometheus: alerts go to both Alertmanagers", str(am_targets))
        checks.check(drops_replica(alerting.get("alert_relabel_configs")),
                     "prometheus: alert_relabel_configs drop replica (one alert from the pair)")
        rw = prom.get("remote_write", [])
        checks.check(len(rw) == 1 and rw[0].get("url") ==
                     "http://victoria-metrics:8428/api/v1/write" and
                     drops_replica(rw[0].get("write_relabel_configs")),
                     "prometheus: remote_write to victoria-metrics, replica dropped", str(rw))
        scrape = prom.get("global", {}).get("scrape_interval")
        vm = flags(services.get("victoria-metrics", {}))
        checks.check(vm.get("-dedup.minScrapeInterval") == scrape,
                     "victoria-metrics: -dedup.minScrapeInterval is the scrape interval",
                     f"{vm.get('-dedup.minScrapeInterval')} vs {scrape}")

    # --- the Alertmanager cluster -------------------------------------------------------------
    aa, ab = flags(services.get("alertmanager-a", {})), flags(services.get("alertmanager-b", {}))
    checks.check(aa.get("--cluster.peer") == "alertmanager-b:9094" and
                 ab.get("--cluster.peer") == "alertmanager-a:9094" and
                 aa.get("--cluster.listen-address", "").endswith(":9094") and
                 ab.get("--cluster.listen-address", "").endswith(":9094"),
                 "alertmanager: a and b gossip with each other on 9094", f"{aa} {ab}")
    for name in ("alertmanager-a", "alertmanager-b"):
        am = mounts.get(name, {}).get("/etc/alertmanager/alertmanager.yml")
        if checks.check(am is not None, f"{name}: alertmanager.yml is mounted"):
            amtool = t.run(["amtool", "check-config", am], check=False)
            checks.check(amtool.returncode == 0, f"{name}: amtool check-config", amtool.stdout)
    checks.finish()


if __name__ == "__main__":
    main()
