// The one place for alert thresholds and durations. Tune them here (or override
// `_config` from your own jsonnet), then run alerts/render.sh; the dashboards read
// the same values for their threshold lines.
{
  _config+:: {
    // Label matchers that select this exporter's series (its scrape job).
    exporterSelector: 'job="sip_trunk_exporter"',

    // Label matchers that select the series of a blackbox-style job scraping /probe
    // (README: Multi-target probing); `instance` is then the probed URI.
    probeSelector: 'job="sip_probe"',

    // Static target labels that form a carrier/site group for SipTrunkGroupDown.
    groupLabels: ['carrier', 'site'],
    // A group of one target is that target: SipTrunkDown already covers it.
    groupDownMinTargets: 2,

    // runbook_url = runbookURLPattern % lower-case alert name (kubernetes-mixin's
    // setting): an absolute URL, so that emails and pages carry a link. The name is
    // the GitHub anchor of the alert's section in alerts/runbook.md. The default is a
    // placeholder host: set it to where you publish this repository (a literal %
    // is written %%).
    runbookURLPattern: 'https://git.example.com/sip_trunk_exporter/blob/main/alerts/runbook.md#%s',

    // SipTrunkDown / SipTrunkGroupDown: sip_target_state is already debounced by the
    // exporter (failures_before_down probes in a row, re-checked at fast_interval), and
    // a target is unknown, not down, after an exporter start: the rule pages on the
    // exporter's verdict at the first evaluation that sees it. README "From silence to
    // email" adds up the shipped settings; a `for` adds to that sum one for one.
    targetDownFor: '0s',
    groupDownFor: '0s',
    // After an exporter start a target's first verdict decides its state at once, so
    // one lost probe makes it down; a target that has not been up since the start
    // pages only once it has failed this many probes in a row. Keep it at the
    // exporter's failures_before_down (shipped: 3): then every page, after a restart
    // too, takes that many failed probes (a trunk dead at the start pages two
    // down_intervals later). A target that went down from up or degraded pages at once.
    targetDownAtStartFailures: 3,

    // Several vantages: exporters probing the same targets from different places
    // (and/or replicas), told apart by `instance` and by vantageLabel, a target label
    // set in the scrape config (static_configs: [{targets: [...], labels: {vantage:
    // fra}}]), not exported. The rules aggregate these labels away to get one series
    // per trunk (job, target and its static labels). A target probed by one exporter
    // without the label behaves as with a single exporter.
    vantageLabel: 'vantage',
    vantageAggregationLabels: ['instance', self.vantageLabel],
    // SipTrunkDown fires when every exporter with a verdict (up, degraded or down) on
    // the target sees it down. SipTrunkDownFromSomeVantages (warning): some see it
    // down while at least one sees it up, for this long (one alert per vantage that
    // sees it down).
    someVantagesDownFor: '2m',
    // SipExporterIsolated (critical): one exporter sees at least this share of its
    // targets down (1.0: all), and at least this many, while another exporter of the
    // same job sees less than that share down: the monitor's own network, not the
    // trunks. It inhibits that exporter's per-trunk alerts in Alertmanager, so keep
    // its `for` at most that of the alerts it replaces (someVantagesDownFor,
    // targetDegradedFor): it must fire no later than they do.
    exporterIsolatedShare: 1.0,
    exporterIsolatedMinTargets: 3,
    exporterIsolatedFor: '1m',

    // SipTrunkDegraded (warning): the target answers a degraded_codes code (503 by
    // default), alive but refusing service. Also debounced by the exporter; `for`
    // lets a short overload (a carrier's CPS spike, a quick restart) pass unmailed.
    targetDegradedFor: '1m',

    // SipTrunkAuthFailing / SipTrunkRegistrationMissing (critical): a target that
    // SipTrunkDown pages for, whose probes failed with reason `auth` (credentials
    // refused: 401/407 to the request that carried them) / `no_binding` (a register
    // target's 2xx listed fewer than min_contacts bindings) within the window. Each
    // inhibits that target's SipTrunkDown in Alertmanager, so the on-call gets one
    // page naming the cause. While down, a target is probed every down_interval
    // (shipped 10s, default its interval; README's register example: 60s): keep the
    // window above several of those, so every window holds a failure of a target that
    // stays down. A longer window only keeps the cause named a little longer after
    // the failures turn to another reason.
    authFailingWindow: '5m',
    registrationMissingWindow: '5m',
    // Keep them at targetDownFor (they follow it unless set): they must fire with
    // SipTrunkDown, or its notification goes out before they can inhibit it.
    authFailingFor: self.targetDownFor,
    registrationMissingFor: self.targetDownFor,

    // SipTrunkHighRtt: this quantile of the probe RTT over the window, in seconds.
    highRttQuantile: 0.95,
    highRttThresholdSeconds: 0.5,
    highRttWindow: '10m',
    highRttFor: '10m',

    // SipTrunkServerErrors (5xx but 503) and SipTrunkOverloaded (503): share of
    // probes answered so while the target is still up. A target that answers 503 to
    // every probe is degraded, not up: SipTrunkDegraded takes over (and inhibits
    // these two in Alertmanager).
    serverErrorRatio: 0.1,
    overloadedRatio: 0.1,
    answerRatioWindow: '10m',
    answerRatioFor: '10m',

    // SipTrunkFlapping: at least this many up/down transitions within the window.
    flappingTransitions: 4,
    flappingWindow: '30m',
    flappingFor: '1m',

    // SipTrunkAddressDown: one address of a target (a DNS/SRV answer or the URI's
    // literal) is down while the target is still up through the others. Keep it
    // above the longest probe interval: an address new in a DNS answer reads 0 until
    // its first probe.
    addressDownFor: '5m',

    // SipTrunkKeepaliveFailing: RFC 5626 keepalives to an address got no pong in
    // every window for `for`. Keep the window above the longest keepalive_interval
    // (plus 10 s for the pong), or failures cannot show in every window.
    keepaliveFailingWindow: '5m',
    keepaliveFailingFor: '10m',

    // SipTrunkTlsCertificateExpiring / ...Expired.
    certExpiryWarningDays: 21,
    certExpiringFor: '10m',
    certExpiredFor: '1m',

    // SipTrunkProbeFailed: a URI probed through /probe failed every scrape for this
    // long (each scrape is one probe, so it rides out a lost packet or two).
    probeFailedFor: '5m',
    // SipTrunkProbeTlsCertificateExpiring / ...Expired use certExpiryWarningDays,
    // certExpiringFor and certExpiredFor above.

    // SipTrunkExporterDown / SipTrunkExporterConfigReloadFailed.
    exporterDownFor: '2m',
    configReloadFailedFor: '5m',

    // Availability = share of successful probes (recording rules over 5m/1h/1d/30d).
    // SipTrunkAvailabilityBudgetBurn: the 1h and 5m failure ratios both exceed
    // availabilityBurnRate times the error budget (1 - objective), i.e. the 30-day
    // budget would be gone in 30d / 14.4 = 50 hours.
    availabilityObjective: 0.995,
    availabilityBurnRate: 14.4,
    availabilityBurnFor: '2m',
    // SipTrunkAvailabilityBelowObjective (info): the 30-day availability is below
    // the objective.
    availabilityBelowObjectiveFor: '1h',
  },
}
