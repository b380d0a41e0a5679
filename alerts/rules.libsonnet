// Recording rules: per-target availability (share of successful probes) over the
// windows the dashboards and the availability alerts use.
{
  availabilityWindows:: ['5m', '1h', '1d', '30d'],

  // Name of the availability series for a window, e.g. target:sip_probe_success:ratio_rate1h.
  availabilityRecord(window):: 'target:sip_probe_success:ratio_rate' + window,

  prometheusRules+:: {
    local cfg = $._config,
    groups+: [
      {
        name: 'sip_trunk_exporter.rules',
        rules: [
          {
            record: $.availabilityRecord(window),
            // `without (result)` keeps the target and all of its static labels.
            expr: |||
              sum without (result) (rate(sip_probes_total{%(sel)s,result="success"}[%(w)s]))
              /
              sum without (result) (rate(sip_probes_total{%(sel)s}[%(w)s]))
            ||| % { sel: cfg.exporterSelector, w: window },
          }
          for window in $.availabilityWindows
        ],
      },
    ],
  },
}
