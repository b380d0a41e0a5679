// The SIP trunk monitoring mixin: _config, alerting and recording rules. Import it
// from your own jsonnet and override `_config` to tune thresholds.
(import 'config.libsonnet') +
(import 'alerts.libsonnet') +
(import 'rules.libsonnet')
