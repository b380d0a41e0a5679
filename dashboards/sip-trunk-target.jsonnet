// "SIP trunk target": one target in detail. Rendered to sip-trunk-target.json by
// dashboards/render.sh.
local g = import 'lib/grafana.libsonnet';
local cfg = (import '../alerts/config.libsonnet')._config;
local rules = import '../alerts/rules.libsonnet';

local sel = g.exporterMatchers + ',target="$target"';
local q(metric) = '%s{%s}' % [metric, sel];

// 0 unknown, 1 up, 2 degraded (alive, answering a degraded code such as 503), 3 down;
// grey, green, orange, red. The same per address (sip_address_state).
local stateExpr = g.stateValue('sip_target_state', sel);
local addressStateExpr = g.stateValue('sip_address_state', sel);
local stateMappings = g.stateMappings;
// Seconds left of the Retry-After pause per address (0: not paused).
local pauseLeft = 'max by (address, transport) (clamp_min(%s - time(), 0))' % q('sip_address_retry_after_timestamp_seconds');
local certDaysLeft = g.thresholds([['red'], ['orange', 0], ['green', cfg.certExpiryWarningDays]]);
local availability = g.thresholds([['red'], ['green', cfg.availabilityObjective]]);
local rtt = g.thresholds([['green'], ['red', cfg.highRttThresholdSeconds]]);
// Classic buckets, or the native histogram a Prometheus with native histograms enabled
// stores instead of them (sip_probe_rtt_seconds): one side of the `or` is empty.
local quantile(qt, refId, histogram='sip_probe_rtt_seconds') = g.query(
  refId,
  'histogram_quantile(%g, sum by (le) (rate(%s[$__rate_interval]))) or histogram_quantile(%g, sum(rate(%s[$__rate_interval])))' % [qt, q(histogram + '_bucket'), qt, q(histogram)],
  'p%g' % (qt * 100),
);

g.dashboard(
  'sip-trunk-target',
  'SIP trunk target',
  'One SIP target probed by sip_trunk_exporter: state, round-trip times, answers, failures, certificate and peer software.',
  g.exporterVariables(cfg.exporterSelector) + [
    g.labelVariable('carrier', 'Carrier', 'sip_target_up{%s}' % g.exporterMatchers),
    g.labelVariable('site', 'Site', 'sip_target_up{%s,carrier=~"$carrier"}' % g.exporterMatchers),
    g.labelVariable('target', 'Target', 'sip_target_up{%s,carrier=~"$carrier",site=~"$site"}' % g.exporterMatchers, multi=false),
  ],
  [
    g.stat('State',
           'Up, degraded (alive, answering a degraded code such as 503), down, or unknown (no verdict yet since the exporter started).',
           [g.query('A', stateExpr, instant=true)],
           g.pos(0, 0, 3, 4),
           mappings=stateMappings),
    g.stat('Since',
           'When the target entered its current state.',
           [g.query('A', '%s * 1000 > 0' % q('sip_target_last_change_timestamp_seconds'), instant=true)],
           g.pos(3, 0, 3, 4),
           unit='dateTimeFromNow',
           thresholds=g.thresholds([['blue']])),
    g.stat('Last answer',
           'SIP code of the last final response; none when the last probe got no answer.',
           [g.query('A', q('sip_target_last_status_code'), instant=true)],
           g.pos(6, 0, 3, 4),
           thresholds=g.thresholds([['red'], ['green', 200], ['orange', 300], ['red', 400]]),
           mappings=g.valueMappings({ '0': ['none', 'red'] })),
    g.stat('Last RTT',
           'Round-trip time of the last probe that got a final response.',
           [g.query('A', q('sip_target_last_rtt_seconds'), instant=true)],
           g.pos(9, 0, 3, 4),
           unit='s',
           thresholds=rtt),
    g.stat('Failures in a row',
           'Consecutive failed probes (failures_before_down of them make the target down).',
           [g.query('A', q('sip_target_consecutive_failures'), instant=true)],
           g.pos(12, 0, 3, 4),
           thresholds=g.thresholds([['green'], ['orange', 1]])),
    g.stat('Availability 24h',
           'Successful probes over the last day.',
           [g.query('A', q(rules.availabilityRecord('1d')), instant=true)],
           g.pos(15, 0, 3, 4),
           unit='percentunit',
           thresholds=availability,
           decimals=2),
    g.stat('Availability 30d',
           'Successful probes over the last 30 days.',
           [g.query('A', q(rules.availabilityRecord('30d')), instant=true)],
           g.pos(18, 0, 3, 4),
           unit='percentunit',
           thresholds=availability,
           decimals=3),
    g.stat('TLS certificate expires in',
           'Time left until the first certificate the target presents at any of its addresses expires (TLS targets only).',
           [g.query('A', 'min(%s) - time()' % q('sip_tls_cert_expiry_timestamp_seconds'), instant=true)],
           g.pos(21, 0, 3, 4),
           unit='dtdurations',
           noValue='no TLS',
           thresholds=g.thresholds([['red'], ['orange', 0], ['green', cfg.certExpiryWarningDays * 86400]])),
    g.table(
      'Peer',
      'The target as configured, and the Server (or User-Agent) header of its last response.',
      [g.query('A', q('sip_target_info'), instant=true, format='table')],
      g.pos(0, 4, 24, 3),
      {
        excludeByName: { Time: true, __name__: true, job: true, Value: true },
        indexByName: { target: 0, server: 1, uri: 2, transport: 3, instance: 4 },
      },
    ),
    g.table(
      'Addresses',
      'Every address the target resolved to (one per DNS/SRV answer, or the URI literal): its state after hysteresis, the RTT of its last answered probe, and how long its Retry-After pause still runs (no probe goes to it before).',
      [
        g.query('A', 'max by (address, transport) (%s)' % addressStateExpr, instant=true, format='table'),
        g.query('B', 'max by (address, transport) (%s > 0)' % q('sip_address_last_rtt_seconds'), instant=true, format='table'),
        g.query('C', pauseLeft, instant=true, format='table'),
      ],
      g.pos(0, 7, 12, 7),
      {
        excludeByName: { Time: true },
        indexByName: { address: 0, transport: 1, 'Value #A': 2, 'Value #B': 3, 'Value #C': 4 },
      },
      [
        g.byName('address', [{ id: 'displayName', value: 'Address' }]),
        g.byName('transport', [{ id: 'displayName', value: 'Transport' }]),
        g.byName('Value #A', [
          { id: 'displayName', value: 'State' },
          { id: 'mappings', value: stateMappings },
          { id: 'custom.cellOptions', value: { type: 'color-background' } },
        ]),
        g.byName('Value #B', [
          { id: 'displayName', value: 'Last RTT' },
          { id: 'unit', value: 's' },
          { id: 'thresholds', value: rtt },
          { id: 'custom.cellOptions', value: { type: 'color-text' } },
        ]),
        g.byName('Value #C', [
          { id: 'displayName', value: 'Retry-After pause left' },
          { id: 'unit', value: 's' },
          { id: 'thresholds', value: g.thresholds([['green'], ['orange', 1]]) },
          { id: 'custom.cellOptions', value: { type: 'color-text' } },
        ]),
      ],
    ),
    g.table(
      'TLS',
      'Per TLS address: days until the first certificate of the chain the peer presents expires (set after every handshake, a failed one too), and the version and cipher of the last successful handshake.',
      [
        g.query('A', 'max by (address) (%s - time()) / 86400' % q('sip_tls_cert_expiry_timestamp_seconds'), instant=true, format='table'),
        g.query('B', 'max by (address, version, cipher) (%s)' % q('sip_tls_info'), instant=true, format='table'),
      ],
      g.pos(12, 7, 12, 7),
      {
        excludeByName: { Time: true, 'Value #B': true },
        indexByName: { address: 0, 'Value #A': 1, version: 2, cipher: 3 },
      },
      [
        g.byName('address', [{ id: 'displayName', value: 'Address' }]),
        g.byName('Value #A', [
          { id: 'displayName', value: 'Certificate days left' },
          { id: 'decimals', value: 1 },
          { id: 'thresholds', value: certDaysLeft },
          { id: 'custom.cellOptions', value: { type: 'color-background' } },
        ]),
        g.byName('version', [{ id: 'displayName', value: 'TLS version' }]),
        g.byName('cipher', [{ id: 'displayName', value: 'Cipher' }]),
      ],
    ),
    g.heatmap(
      'Round-trip time distribution',
      'Probes per round-trip-time bucket of sip_probe_rtt_seconds.',
      [g.query('A', 'sum by (le) (increase(%s[$__rate_interval]))' % q('sip_probe_rtt_seconds_bucket'), '{{le}}', format='heatmap')],
      g.pos(0, 14, 12, 9),
      's',
    ),
    g.timeseries(
      'Round-trip time',
      'Quantiles from the histogram and the last RTT; the line is the SipTrunkHighRtt threshold.',
      [
        quantile(0.5, 'A'),
        quantile(0.95, 'B'),
        quantile(0.99, 'C'),
        g.query('D', q('sip_target_last_rtt_seconds'), 'last'),
      ],
      g.pos(12, 14, 12, 9),
      unit='s',
      thresholds=rtt,
      min=0,
    ),
    g.timeseries(
      'Response codes',
      'Final responses per second by SIP status code.',
      [g.query('A', 'sum by (code) (rate(%s[$__rate_interval]))' % q('sip_probe_responses_total'), '{{code}}')],
      g.pos(0, 23, 12, 8),
      unit='reqps',
      min=0,
    ),
    g.timeseries(
      'Failure reasons',
      'Probes per second that got no final response, by reason.',
      [g.query('A', 'sum by (reason) (rate(%s[$__rate_interval]))' % q('sip_probe_failures_total'), '{{reason}}')],
      g.pos(12, 23, 12, 8),
      unit='reqps',
      min=0,
    ),
    g.stateTimeline(
      'State',
      'Unknown (grey), up (green), degraded (orange: alive, refusing service) or down (red) over time.',
      [g.query('A', stateExpr, '{{target}}')],
      g.pos(0, 31, 12, 6),
      stateMappings,
    ),
    g.stateTimeline(
      'Address state',
      'The state of each address over time, in the same colours.',
      [g.query('A', 'max by (address, transport) (%s)' % addressStateExpr, '{{address}} {{transport}}')],
      g.pos(0, 37, 12, 6),
      stateMappings,
    ),
    g.timeseries(
      'Retry-After pause',
      "Per address, the seconds left before the exporter probes it again because the peer asked for it (Retry-After on a degraded or 5xx answer, capped at 3600 s); and the Retry-After of the target's last final response.",
      [
        g.query('A', pauseLeft, 'pause left {{address}} {{transport}}'),
        g.query('B', 'max(%s)' % q('sip_target_retry_after_seconds'), 'last Retry-After'),
      ],
      g.pos(12, 37, 12, 6),
      unit='s',
      min=0,
    ),
    g.timeseries(
      'State changes and failures in a row',
      'Transitions between states (up, degraded, down), and consecutive failed probes.',
      [
        g.query('A', 'sum(increase(%s[$__rate_interval]))' % q('sip_target_state_changes_total'), 'state changes'),
        g.query('B', 'max(%s)' % q('sip_target_consecutive_failures'), 'failures in a row'),
      ],
      g.pos(12, 31, 12, 6),
      min=0,
    ),
    g.timeseries(
      'Registered contacts',
      'method = "register" targets only: the Contact bindings the registrar listed for the address of record (aor) in its last 2xx (sip_target_registered_contacts). Fewer than the target\'s min_contacts make it down with reason no_binding (SipTrunkRegistrationMissing). No data for other targets (OPTIONS probes), and for a register target until its first 2xx.',
      [g.query('A', 'max(%s)' % q('sip_target_registered_contacts'), 'bindings')],
      g.pos(0, 43, 12, 6),
      min=0,
    ) + { fieldConfig+: { defaults+: { decimals: 0 } } },
    g.timeseries(
      'Post-dial delay',
      'INVITE probes only: quantiles of the post-dial delay, the time from the INVITE to its first 180 Ringing or 183 Session Progress (sip_invite_post_dial_delay_seconds). No data for other targets (OPTIONS or REGISTER probes).',
      [
        quantile(0.5, 'A', 'sip_invite_post_dial_delay_seconds'),
        quantile(0.95, 'B', 'sip_invite_post_dial_delay_seconds'),
        quantile(0.99, 'C', 'sip_invite_post_dial_delay_seconds'),
      ],
      g.pos(12, 43, 12, 6),
      unit='s',
      min=0,
    ),
  ],
)
