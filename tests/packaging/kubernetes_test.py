#!/usr/bin/python3
"""packaging.kubernetes: deploy/kubernetes/ is what manifests.ts renders, and fits the rest.

- deploy/kubernetes/render.sh --typecheck: tsc (strict) finds no error in manifests.ts
  against the pinned kubernetes-models and @kubernetes-models/prometheus-operator types;
- a fresh render into a temporary folder gives exactly the committed *.json files, byte for
  byte (so they cannot drift from manifests.ts, config/example.toml or the alert mixin);
- the committed objects: the ConfigMap holds config/example.toml as it is; the PrometheusRule's
  groups are those of alerts/sip_trunk_exporter.rules.yml; --shard.count is spec.replicas and
  --shard.index is `hostname`; the config is mounted read-only where --config.file reads it;
  the port is the Dockerfile's EXPOSE, named http-metrics in the pod and the Service, and the
  ServiceMonitor and Probe reach it; probes on /-/healthy and /-/ready; the hardened security
  context; the scrape jobs are named as the rules select them.

Nothing is downloaded: the npm packages come from tests/alerting/node_modules (installed by
scripts/deps/alerting.sh); when that folder is missing, `npm ci --offline` fills it from
npm's local cache, and the test fails, saying so, if that cannot.

usage: kubernetes_test.py SOURCE_DIR
"""

import filecmp
import glob
import json
import os
import shutil
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stxtest as t  # noqa: E402

PACKAGES = ["typescript/bin/tsc", "kubernetes-models/package.json",
            "@kubernetes-models/prometheus-operator/package.json"]


def ensure_node_modules(source):
    npm_dir = os.path.join(source, "tests", "alerting")
    modules = os.path.join(npm_dir, "node_modules")
    if all(os.path.exists(os.path.join(modules, p)) for p in PACKAGES):
        return
    for tool in ("node", "npm", "jsonnet"):
        if not shutil.which(tool):
            t.fail(f"{tool} is not installed: scripts/install-deps.sh test installs it")
    t.log(f"{modules} is incomplete: npm ci --offline (from the local npm cache)")
    r = t.run(["npm", "ci", "--offline", "--no-audit", "--no-fund", "--loglevel=error"],
              check=False, cwd=npm_dir)
    if r.returncode != 0:
        t.fail("npm ci --offline failed (the packages are not in npm's cache): run "
               "scripts/install-deps.sh test, whose scripts/deps/alerting.sh installs them\n"
               + r.stdout[-2000:])


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    if len(sys.argv) != 2:
        t.fail(__doc__)
    source = os.path.abspath(sys.argv[1])
    k8s = os.path.join(source, "deploy", "kubernetes")
    render = os.path.join(k8s, "render.sh")
    checks = t.Failures()
    ensure_node_modules(source)

    r = t.run([render, "--typecheck"], check=False)
    checks.check(r.returncode == 0, "tsc --noEmit (strict) accepts deploy/kubernetes/manifests.ts",
                 r.stdout)

    committed = sorted(os.path.basename(p) for p in glob.glob(os.path.join(k8s, "*.json")))
    with t.temp_dir("stx-k8s") as out:
        r = t.run([render, out], check=False)
        if not checks.check(r.returncode == 0, "render.sh renders the manifests", r.stdout):
            checks.finish()
        fresh = sorted(os.listdir(out))
        checks.check(fresh == committed, "the committed files are the rendered ones",
                     f"rendered {fresh}, committed {committed}")
        for name in fresh:
            same = name in committed and filecmp.cmp(os.path.join(out, name),
                                                     os.path.join(k8s, name), shallow=False)
            checks.check(same, f"deploy/kubernetes/{name} is up to date",
                         "stale: run deploy/kubernetes/render.sh and commit the result")

    objects = {name: load(os.path.join(k8s, name)) for name in committed}
    by_kind = {o["kind"]: o for o in objects.values()}
    checks.check(sorted(by_kind) == ["ConfigMap", "Probe", "PrometheusRule", "Service",
                                     "ServiceMonitor", "StatefulSet"],
                 "one file per object, the six kinds", str(sorted(by_kind)))
    cm, sts, svc = by_kind["ConfigMap"], by_kind["StatefulSet"], by_kind["Service"]
    sm, rule, probe = by_kind["ServiceMonitor"], by_kind["PrometheusRule"], by_kind["Probe"]

    with open(os.path.join(source, "config", "example.toml")) as f:
        example = f.read()
    checks.check(list(cm["data"].values()) == [example],
                 "the ConfigMap holds config/example.toml unchanged")
    with open(os.path.join(source, "alerts", "sip_trunk_exporter.rules.yml")) as f:
        groups = yaml.safe_load(f)["groups"]
    checks.check(rule["spec"]["groups"] == groups,
                 "the PrometheusRule's groups are alerts/sip_trunk_exporter.rules.yml's")

    pod = sts["spec"]["template"]["spec"]
    [c] = pod["containers"]
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in c["args"]}
    checks.check(args.get("--shard.count") == str(sts["spec"]["replicas"]),
                 "--shard.count is the StatefulSet's replicas", str(c["args"]))
    checks.check(args.get("--shard.index") == "hostname", "--shard.index=hostname")
    checks.check(sts["spec"]["serviceName"] == svc["metadata"]["name"],
                 "the StatefulSet's serviceName is the Service")

    with open(os.path.join(source, "Dockerfile")) as f:
        dockerfile = f.read()
    checks.check("EXPOSE 15060/tcp" in dockerfile and args.get("--web.listen-address") == ":15060",
                 "the exporter listens on the Dockerfile's EXPOSE port 15060")
    checks.check("USER 65532:65532" in dockerfile, "the Dockerfile's user is 65532")
    checks.check(c["image"] == "sip_trunk_exporter" and "-t sip_trunk_exporter ." in dockerfile,
                 "the image is the one the Dockerfile builds")
    [port] = c["ports"]
    checks.check(port == {"name": "http-metrics", "containerPort": 15060, "protocol": "TCP"},
                 "the container port 15060 is named http-metrics", str(port))
    [sport] = svc["spec"]["ports"]
    checks.check(sport["name"] == "http-metrics" and sport["port"] == 15060
                 and sport["targetPort"] == "http-metrics", "the Service's port http-metrics")
    checks.check(svc["spec"]["selector"] == sts["spec"]["template"]["metadata"]["labels"]
                 == sts["spec"]["selector"]["matchLabels"], "the Service selects the pods")

    config = args.get("--config.file", "")
    [mount] = c["volumeMounts"]
    [volume] = pod["volumes"]
    checks.check(os.path.dirname(config) == mount["mountPath"] and mount["readOnly"] is True
                 and volume["name"] == mount["name"]
                 and volume["configMap"]["name"] == cm["metadata"]["name"]
                 and os.path.basename(config) in cm["data"],
                 "the ConfigMap is mounted read-only where --config.file reads it", config)

    checks.check(c["livenessProbe"]["httpGet"] == {"path": "/-/healthy", "port": "http-metrics"},
                 "liveness probe on /-/healthy")
    checks.check(c["readinessProbe"]["httpGet"] == {"path": "/-/ready", "port": "http-metrics"},
                 "readiness probe on /-/ready")
    checks.check(all(k in c["resources"].get(w, {}) for w in ("requests", "limits")
                     for k in ("cpu", "memory")), "resource requests and limits")
    sc = c["securityContext"]
    checks.check(sc.get("readOnlyRootFilesystem") is True and sc.get("runAsNonRoot") is True
                 and sc.get("runAsUser") == 65532 and sc.get("allowPrivilegeEscalation") is False
                 and sc.get("capabilities") == {"drop": ["ALL"]},
                 "hardened security context", str(sc))

    [ep] = sm["spec"]["endpoints"]
    checks.check(ep["port"] == "http-metrics" and ep["path"] == "/metrics"
                 and sm["spec"]["selector"]["matchLabels"] == svc["metadata"]["labels"],
                 "the ServiceMonitor scrapes the Service's http-metrics at /metrics")
    checks.check({"action": "replace", "targetLabel": "job", "replacement": "sip_trunk_exporter"}
                 in ep.get("relabelings", []), 'the ServiceMonitor\'s job is "sip_trunk_exporter"')
    ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
    prober = probe["spec"]["prober"]
    checks.check(prober["url"] == f"{name}.{ns}.svc:15060" and prober["path"] == "/probe",
                 "the Probe's prober is the Service's /probe", str(prober))
    checks.check(probe["spec"]["jobName"] == "sip_probe" and probe["spec"].get("module")
                 and probe["spec"]["targets"]["staticConfig"]["static"],
                 'the Probe: job "sip_probe", a module and static SIP targets')
    checks.check(all(o["metadata"].get("namespace") == ns for o in objects.values()),
                 "every object in one namespace")
    checks.finish()


if __name__ == "__main__":
    main()
