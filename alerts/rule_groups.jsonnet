// The mixin's rule groups (alerts, then recording rules) as one JSON array: the list that
// prometheus_rules.jsonnet writes as sip_trunk_exporter.rules.yml, and that
// deploy/kubernetes/manifests.ts puts in its PrometheusRule (`jsonnet rule_groups.jsonnet`).
// `overrides` replaces _config keys, as in prometheus_rules.jsonnet.
function(overrides={})
  local mixin = (import 'mixin.libsonnet') + { _config+:: overrides };
  mixin.prometheusAlerts.groups + mixin.prometheusRules.groups
