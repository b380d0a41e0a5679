// "SIP trunks overview": every target at a glance. Rendered to
// sip-trunk-overview.json by dashboards/render.sh.
local g = import 'lib/grafana.libsonnet';
local cfg = (import '../alerts/config.libsonnet')._config;
local rules = import '../alerts/rules.libsonnet';

local sel = g.exporterMatchers + ',carrier=~"$carrier",site=~"$site",target=~"$target"';
local q(metric) = '%s{%s}' % [metric, sel];

// 0 unknown (no verdict yet since the exporter started), 1 up, 2 degraded (alive,
// answering a degraded code such as 503), 3 down; grey, green, orange, red.
local stateExpr = g.stateValue('sip_target_state', sel);
local stateMappings = g.stateMappings;
local stateCount(state) = 'count(sip_target_state{%s,state="%s"} == 1) or vector(0)' % [sel, state];
local availability = g.thresholds([['red'], ['green', cfg.availabilityObjective]]);
local rtt = g.thresholds([['green'], ['red', cfg.highRttThresholdSeconds]]);

local byName = g.byName;

// A /probe job's series (README: Multi-target probing): `instance` is the probed URI.
local p(metric) = '%s{%s}' % [metric, g.probeMatchers];
local certExpiry = g.thresholds([['red'], ['orange', 0], ['green', cfg.certExpiryWarningDays * 86400]]);


g.dashboard(
  'sip-trunk-overview',
  'SIP trunks overview',
  'State, availability, round-trip times and answers of every SIP target probed by sip_trunk_exporter.',
  g.exporterVariables(cfg.exporterSelector) + [
    g.labelVariable('carrier', 'Carrier', 'sip_target_up{%s}' % g.exporterMatchers),
    g.labelVariable('site', 'Site', 'sip_target_up{%s,carrier=~"$carrier"}' % g.exporterMatchers),
    g.labelVariable('target', 'Target', 'sip_target_up{%s,carrier=~"$carrier",site=~"$site"}' % g.exporterMatchers),
  ] + g.probeVariables(cfg.probeSelector),
  [
    g.stat(
      'Targets up',
      'Targets whose state is up.',
      [g.query('A', stateCount('up'), instant=true)],
      g.pos(0, 0, 3, 4),
      thresholds=g.thresholds([['green']]),
    ),
    g.stat(
      'Targets degraded',
      'Targets that are alive but refuse service: their last answers carry one of their degraded_codes (503 by default). The exporter honours their Retry-After.',
      [g.query('A', stateCount('degraded'), instant=true)],
      g.pos(3, 0, 3, 4),
      thresholds=g.thresholds([['green'], ['orange', 1]]),
    ),
    g.stat(
      'Targets down',
      'Targets whose state is down (after failures_before_down failed probes): unreachable or answering an unhealthy code.',
      [g.query('A', stateCount('down'), instant=true)],
      g.pos(6, 0, 3, 4),
      thresholds=g.thresholds([['green'], ['red', 1]]),
    ),
    g.stat(
      'Targets unknown',
      'Targets without a verdict yet since the exporter started.',
      [g.query('A', stateCount('unknown'), instant=true)],
      g.pos(9, 0, 3, 4),
      thresholds=g.thresholds([['green'], ['gray', 1]]),
    ),
    g.stat(
      'Addresses down',
      'Addresses of the selected targets (one per DNS/SRV answer, or the URI literal) that are down, those of down targets included. The target dashboard lists them.',
      [g.query('A', 'count(sip_address_state{%s,state="down"} == 1) or vector(0)' % sel, instant=true)],
      g.pos(12, 0, 4, 4),
      thresholds=g.thresholds([['green'], ['orange', 1]]),
    ),
    g.stat(
      'Availability 24h',
      'Successful probes of the selected targets over the last day (mean of the targets).',
      [g.query('A', 'avg(%s)' % q(rules.availabilityRecord('1d')), instant=true)],
      g.pos(16, 0, 4, 4),
      unit='percentunit',
      thresholds=availability,
      decimals=2,
    ),
    g.stat(
      'Availability 30d',
      'Successful probes of the selected targets over the last 30 days (mean of the targets).',
      [g.query('A', 'avg(%s)' % q(rules.availabilityRecord('30d')), instant=true)],
      g.pos(20, 0, 4, 4),
      unit='percentunit',
      thresholds=availability,
      decimals=3,
    ),
    g.stateTimeline(
      'Target state',
      'Unknown (grey), up (green), degraded (orange: alive, refusing service) or down (red) over time, one row per target.',
      [g.query('A', stateExpr, '{{target}}')],
      g.pos(0, 4, 24, 8),
      stateMappings,
    ),
    g.table(
      'Current status',
      'Now: state and since when, the last answer (0: none), its round-trip time, and availability. Click a target for its details.',
      [
        g.query('A', stateExpr, instant=true, format='table'),
        g.query('B', '%s * 1000 > 0' % q('sip_target_last_change_timestamp_seconds'), instant=true, format='table'),
        g.query('C', q('sip_target_last_status_code'), instant=true, format='table'),
        g.query('D', q('sip_target_last_rtt_seconds'), instant=true, format='table'),
        g.query('E', q(rules.availabilityRecord('1d')), instant=true, format='table'),
        g.query('F', q(rules.availabilityRecord('30d')), instant=true, format='table'),
      ],
      g.pos(0, 12, 24, 9),
      {
        // The instance tells targets of the same name on two exporters apart.
        excludeByName: { Time: true, __name__: true, job: true },
        indexByName: {
          target: 0,
          carrier: 1,
          site: 2,
          instance: 3,
          'Value #A': 4,
          'Value #B': 5,
          'Value #C': 6,
          'Value #D': 7,
          'Value #E': 8,
          'Value #F': 9,
        },
      },
      [
        byName('target', [
          { id: 'displayName', value: 'Target' },
          { id: 'links', value: [{
            title: 'Target details',
            url: '/d/sip-trunk-target/sip-trunk-target?${datasource:queryparam}&${job:queryparam}&var-instance=${__data.fields.instance}&var-target=${__value.raw}&${__url_time_range}',
          }] },
        ]),
        byName('carrier', [{ id: 'displayName', value: 'Carrier' }]),
        byName('site', [{ id: 'displayName', value: 'Site' }]),
        byName('instance', [{ id: 'displayName', value: 'Exporter' }]),
        byName('Value #A', [
          { id: 'displayName', value: 'State' },
          { id: 'mappings', value: stateMappings },
          { id: 'custom.cellOptions', value: { type: 'color-background' } },
        ]),
        byName('Value #B', [{ id: 'displayName', value: 'Since' }, { id: 'unit', value: 'dateTimeFromNow' }]),
        byName('Value #C', [
          { id: 'displayName', value: 'Last answer' },
          { id: 'mappings', value: g.valueMappings({ '0': ['none', 'red'] }) },
        ]),
        byName('Value #D', [{ id: 'displayName', value: 'Last RTT' }, { id: 'unit', value: 's' }]),
        byName('Value #E', [
          { id: 'displayName', value: 'Availability 24h' },
          { id: 'unit', value: 'percentunit' },
          { id: 'decimals', value: 2 },
        ]),
        byName('Value #F', [
          { id: 'displayName', value: 'Availability 30d' },
          { id: 'unit', value: 'percentunit' },
          { id: 'decimals', value: 3 },
        ]),
      ],
    ),
    g.barGauge(
      'Slowest targets',
      'p95 round-trip time over the shown time range, the ten slowest targets.',
      [g.query('A', 'topk(10, histogram_quantile(0.95, sum by (target, le) (rate(%s[$__range]))) or histogram_quantile(0.95, sum by (target) (rate(%s[$__range]))))' % [q('sip_probe_rtt_seconds_bucket'), q('sip_probe_rtt_seconds')], '{{target}}', instant=true)],
      g.pos(0, 21, 8, 8),
      's',
      rtt,
    ),
    g.timeseries(
      'Answers',
      'Final responses per second by SIP code, and probes without one by reason.',
      [
        g.query('A', 'sum by (code) (rate(%s[$__rate_interval]))' % q('sip_probe_responses_total'), '{{code}}'),
        g.query('B', 'sum by (reason) (rate(%s[$__rate_interval]))' % q('sip_probe_failures_total'), 'no answer: {{reason}}'),
      ],
      g.pos(8, 21, 16, 8),
      unit='reqps',
      min=0,
    ),
    g.timeseries(
      'Round-trip time p95',
      'p95 of the OPTIONS round-trip time per target; the line is the SipTrunkHighRtt threshold.',
      [g.query('A', 'histogram_quantile(0.95, sum by (target, le) (rate(%s[$__rate_interval]))) or histogram_quantile(0.95, sum by (target) (rate(%s[$__rate_interval])))' % [q('sip_probe_rtt_seconds_bucket'), q('sip_probe_rtt_seconds')], '{{target}}')],
      g.pos(0, 29, 12, 8),
      unit='s',
      thresholds=rtt,
      min=0,
    ),
    g.timeseries(
      'Availability (5m)',
      'Share of successful probes over 5 minutes per target; the line is the objective.',
      [g.query('A', q(rules.availabilityRecord('5m')), '{{target}}')],
      g.pos(12, 29, 12, 8),
      unit='percentunit',
      thresholds=availability,
      min=0,
      max=1,
    ),
    // --- /probe jobs: one probe per scrape, per URI ---------------------------------
    g.stateTimeline(
      '/probe: result',
      'Each scrape of a /probe job is one probe: OK or FAILED per probed URI (the "/probe job" and "/probe target" variables choose them). SipTrunkProbeFailed fires after ' + cfg.probeFailedFor + ' of failures.',
      [g.query('A', p('sip_probe_success'), '{{instance}}')],
      g.pos(0, 37, 24, 6),
      g.valueMappings({ '1': ['OK', 'green'], '0': ['FAILED', 'red'] }),
    ),
    g.timeseries(
      '/probe: timings',
      'Per probed URI: the whole probe (DNS, connection, exchange), its round-trip time (first transmission to final response) and its DNS lookup (0 for an IP literal).',
      [
        g.query('A', p('sip_probe_duration_seconds'), '{{instance}} total'),
        g.query('B', p('sip_probe_round_trip_seconds'), '{{instance}} RTT'),
        g.query('C', p('sip_probe_dns_lookup_time_seconds'), '{{instance}} DNS'),
      ],
      g.pos(0, 43, 12, 8),
      unit='s',
      min=0,
    ),
    g.timeseries(
      '/probe: failures by reason',
      'Probed URIs failing now, by the reason of sip_probe_failure_info (status_code: an unhealthy final response).',
      [g.query('A', 'count by (reason) (%s)' % p('sip_probe_failure_info'), '{{reason}}')],
      g.pos(12, 43, 12, 8),
      unit='none',
      min=0,
    ),
    g.barGauge(
      '/probe: certificate expiry',
      'Time until the earliest certificate of each TLS URI expires; orange within the SipTrunkProbeTlsCertificateExpiring window.',
      [g.query('A', 'min by (instance) (%s) - time()' % p('sip_probe_ssl_earliest_cert_expiry'), '{{instance}}', instant=true)],
      g.pos(0, 51, 12, 6),
      's',
      certExpiry,
    ),
    g.table(
      '/probe: address probed',
      'The address each URI was probed at (the one that decided the verdict) and its transport.',
      [g.query('A', p('sip_probe_address_info'), instant=true, format='table')],
      g.pos(12, 51, 12, 6),
      {
        excludeByName: { Time: true, __name__: true, job: true, Value: true },
        indexByName: { instance: 0, address: 1, transport: 2 },
        renameByName: { instance: 'URI', address: 'Address', transport: 'Transport' },
      },
    ),
  ],
)
