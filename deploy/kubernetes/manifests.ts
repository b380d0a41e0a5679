// The Kubernetes manifests of deploy/kubernetes/, built as typed objects (kubernetes-models,
// @kubernetes-models/prometheus-operator) and written one JSON file per object. Edit this
// file, then run deploy/kubernetes/render.sh and commit the result; a test fails while a
// committed file differs from a fresh render. Inputs read at render time, so the manifests
// cannot drift from them: config/example.toml (the ConfigMap) and the alert mixin's rule
// groups (the PrometheusRule; `jsonnet alerts/rule_groups.jsonnet`, the list that
// alerts/sip_trunk_exporter.rules.yml is written from).
//   node manifests.js REPO_DIR OUT_DIR   (render.sh compiles this file and runs that)
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { Probe } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/Probe";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import type { IRuleGroup } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/RuleGroup";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";

// Every object lives here; prober.url names the Service by its in-cluster DNS name in it.
const namespace = "monitoring";
const name = "sip-trunk-exporter";
// Replicas of the StatefulSet, and so shards: --shard.count is this same constant.
const replicas = 2;
// The image the Dockerfile builds (`docker build -t sip_trunk_exporter .`); push it to your
// registry and put that name here.
const image = "sip_trunk_exporter";
// The Dockerfile's non-root user (USER 65532:65532).
const uid = 65532;
// The exporter's default --web.listen-address and the image's EXPOSE.
const port = 15060;
const portName = "http-metrics";
// Where the Dockerfile's ENTRYPOINT reads the configuration: the ConfigMap is mounted here.
const configDir = "/etc/sip_trunk_exporter";
const configKey = "config.toml";
// The job names the mixin's rules select (alerts/config.libsonnet: exporterSelector and
// probeSelector), as deploy/prometheus/prometheus.yml names its jobs.
const exporterJob = "sip_trunk_exporter";
const probeJob = "sip_probe";
// deploy/prometheus/prometheus.yml's scrape_interval, which README "From silence to email"
// adds up with the rules and the example config.
const scrapeInterval = "15s";

const labels = { "app.kubernetes.io/name": name };

// What every kubernetes-models object has: its JSON schema check and its JSON form.
interface Manifest {
  validate(): void;
  toJSON(): unknown;
}

export function manifests(repoDir: string): Record<string, Manifest> {
  const config = readFileSync(join(repoDir, "config", "example.toml"), "utf8");
  const groups = JSON.parse(
    execFileSync("jsonnet", [join(repoDir, "alerts", "rule_groups.jsonnet")], {
      encoding: "utf8",
      maxBuffer: 64 << 20,
    }),
  ) as IRuleGroup[];
  const metadata = (suffix = "") => ({ name: name + suffix, namespace, labels });

  const configMap = new ConfigMap({
    metadata: metadata("-config"),
    data: { [configKey]: config },
  });

  const statefulSet = new StatefulSet({
    metadata: metadata(),
    spec: {
      replicas,
      serviceName: name,
      // Shards are independent: start and replace them all at once.
      podManagementPolicy: "Parallel",
      selector: { matchLabels: labels },
      template: {
        metadata: {
          labels,
          // A changed config/example.toml rolls the pods on `kubectl apply`.
          annotations: { "checksum/config": createHash("sha256").update(config).digest("hex") },
        },
        spec: {
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: uid,
            runAsGroup: uid,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "exporter",
              image,
              imagePullPolicy: "IfNotPresent",
              command: ["/usr/bin/sip_trunk_exporter"],
              args: [
                `--config.file=${configDir}/${configKey}`,
                `--web.listen-address=:${port}`,
                // A StatefulSet names its pods NAME-0 .. NAME-(replicas-1): the ordinal is
                // the shard, and the count is the replica count by construction.
                `--shard.count=${replicas}`,
                "--shard.index=hostname",
              ],
              ports: [{ name: portName, containerPort: port, protocol: "TCP" }],
              livenessProbe: {
                httpGet: { path: "/-/healthy", port: portName },
                periodSeconds: 10,
                timeoutSeconds: 5,
                failureThreshold: 3,
              },
              readinessProbe: {
                httpGet: { path: "/-/ready", port: portName },
                periodSeconds: 5,
                timeoutSeconds: 5,
              },
              resources: {
                requests: { cpu: "50m", memory: "64Mi" },
                limits: { cpu: "1", memory: "256Mi" },
              },
              securityContext: {
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                runAsUser: uid,
                runAsGroup: uid,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [{ name: "config", mountPath: configDir, readOnly: true }],
            },
          ],
          volumes: [{ name: "config", configMap: { name: configMap.metadata!.name! } }],
        },
      },
    },
  });

  // Headless: the StatefulSet's governing Service, whose endpoints are every ready pod.
  const service = new Service({
    metadata: metadata(),
    spec: {
      clusterIP: "None",
      selector: labels,
      ports: [{ name: portName, port, targetPort: portName, protocol: "TCP" }],
    },
  });

  const serviceMonitor = new ServiceMonitor({
    metadata: metadata(),
    spec: {
      selector: { matchLabels: labels },
      namespaceSelector: { matchNames: [namespace] },
      endpoints: [
        {
          port: portName,
          path: "/metrics",
          interval: scrapeInterval,
          // The operator would name the job after the Service; the rules select this one.
          relabelings: [{ action: "replace", targetLabel: "job", replacement: exporterJob }],
        },
      ],
    },
  });

  const prometheusRule = new PrometheusRule({
    metadata: metadata(),
    spec: { groups },
  });

  // Blackbox-style /probe of SIP URIs that are no configured [[target]] (README
  // "Multi-target probing"); the target becomes `instance`. Example URIs: list your own.
  const probe = new Probe({
    metadata: metadata(),
    spec: {
      jobName: probeJob,
      interval: scrapeInterval,
      module: "default",
      prober: { url: `${name}.${namespace}.svc:${port}`, path: "/probe", scheme: "http" },
      targets: { staticConfig: { static: ["sip:203.0.113.7:5060", "sip:198.51.100.20"] } },
    },
  });

  return {
    "configmap.json": configMap,
    "statefulset.json": statefulSet,
    "service.json": service,
    "servicemonitor.json": serviceMonitor,
    "prometheusrule.json": prometheusRule,
    "probe.json": probe,
  };
}

function main(argv: string[]): void {
  if (argv.length !== 2) throw new Error("usage: node manifests.js REPO_DIR OUT_DIR");
  const [repoDir, outDir] = argv as [string, string];
  mkdirSync(outDir, { recursive: true });
  for (const [file, object] of Object.entries(manifests(repoDir))) {
    object.validate(); // the models' JSON schemas: a wrong field or type fails the render
    writeFileSync(join(outDir, file), JSON.stringify(object.toJSON(), null, 2) + "\n");
  }
}

try {
  main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`manifests: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
