// Alerting rules. Every threshold and duration comes from _config (config.libsonnet).
local num(x) = '%g' % x;

{
  prometheusAlerts+:: {
    local cfg = $._config,
    local sel = cfg.exporterSelector,
    local groupBy = std.join(', ', cfg.groupLabels),
    local groupSel = std.join(',', [sel] + ['%s!=""' % l for l in cfg.groupLabels]),
    // The labels that tell apart exporters probing the same target (instance, vantage):
    // aggregated away, one series per trunk (job, target and its static labels) remains.
    local vantages = std.join(', ', cfg.vantageAggregationLabels),
    local vantageName = '(or (index .Labels "%s") .Labels.instance)' % cfg.vantageLabel,

    // --- Annotation snippets (Go templates evaluated by Prometheus) -------------

    // "carrier=x, instance=y, ...": every label of the alert but the target itself,
    // the state that sip_target_state's alerts select (their name says it) and the
    // metric name a filtering comparison keeps.
    local otherLabels =
      '{{ $sep := "" }}{{ range $k, $v := $labels }}{{ if and (ne $k "target") (ne $k "__name__") (ne $k "state") }}' +
      '{{ $sep }}{{ $k }}={{ $v }}{{ $sep = ", " }}{{ end }}{{ end }}',
    local targetWithLabels = '{{ $labels.target }} (' + otherLabels + ')',

    // A per-target series of the alerting target, for template queries.
    local seriesQuery(metric) =
      'printf `' + metric + '{target=%q,instance=%q,job=%q}` $labels.target $labels.instance $labels.job',
    // The same over every exporter probing the target, for the alerts that aggregate
    // the vantages away (no `instance`): a trunk is its job and target.
    local trunkQuery(metric) =
      'printf `' + metric + '{target=%q,job=%q}` $labels.target $labels.job',
    local sinceOf(q) =
      '{{ with ' + q + ' | query }}{{ . | first | value | humanizeTimestamp }}{{ end }}',
    local since = sinceOf(seriesQuery('sip_target_last_change_timestamp_seconds')),
    // Down since the last exporter saw it go down: from then on, every one sees it down.
    local trunkSince = sinceOf('printf `max(sip_target_last_change_timestamp_seconds{target=%q,job=%q})` $labels.target $labels.job'),
    // "SIP 503", or "none (refused)" when the last probes got no final response.
    local lastAnswerOf(codeQuery, failuresMatchers, failuresArgs) =
      '{{ with ' + codeQuery +
      ' | query }}{{ with . | first | value }}SIP {{ . }}{{ else }}none{{ end }}{{ end }}' +
      '{{ with printf `topk(1, increase(sip_probe_failures_total{' + failuresMatchers + '}[5m]) > 0)`' +
      ' ' + failuresArgs + ' | query }} ({{ . | first | label "reason" }}){{ end }}',
    local lastAnswer = lastAnswerOf(seriesQuery('sip_target_last_status_code'),
                                    'target=%q,instance=%q,job=%q',
                                    '$labels.target $labels.instance $labels.job'),
    local trunkLastAnswer = lastAnswerOf(trunkQuery('sip_target_last_status_code'),
                                         'target=%q,job=%q',
                                         '$labels.target $labels.job'),
    // " Seen down from 2 of 2 vantages: fra, iad." when more than one exporter reports
    // the target (their vantage label, or instance without one); nothing with one.
    local downFromVantages =
      '{{ with printf `count(sip_target_state{target=%q,job=%q,state="down"}) > 1` $labels.target $labels.job | query }}' +
      ' Seen down from {{ $value }} of {{ . | first | value }} vantages:' +
      '{{ range $i, $s := printf `sip_target_state{target=%q,job=%q,state="down"} == 1` $labels.target $labels.job' +
      ' | query | sortByLabel "instance" }}{{ if $i }},{{ end }} {{ ' + vantageName + ' }}{{ end }}.{{ end }}',

    // "answering 503, Retry-After 30s" for SipTrunkDegraded: the code of the last final
    // response and the Retry-After it carried (sip_target_retry_after_seconds, 0: none).
    local degradedAnswer =
      'answering {{ with ' + seriesQuery('sip_target_last_status_code') +
      ' | query }}{{ . | first | value }}{{ else }}a degraded code{{ end }}, ' +
      '{{ with ' + seriesQuery('sip_target_retry_after_seconds') +
      ' | query }}{{ with . | first | value }}Retry-After {{ . }}s{{ else }}no Retry-After{{ end }}' +
      '{{ else }}no Retry-After{{ end }}',

    // " for more than 1m", or nothing for a rule that fires at once.
    local forText(d) = if d == '0s' then '' else ' for more than ' + d,
    // /probe series carry no `target`: the probed URI is the `instance` (README's
    // relabelling), with the job's other labels.
    local probeSel = cfg.probeSelector,
    local probeOtherLabels =
      '{{ $sep := "" }}{{ range $k, $v := $labels }}{{ if and (ne $k "instance") (ne $k "__name__") }}' +
      '{{ $sep }}{{ $k }}={{ $v }}{{ $sep = ", " }}{{ end }}{{ end }}',
    local probeWithLabels = '{{ $labels.instance }} (' + probeOtherLabels + ')',
    local probeFailureReason =
      '{{ with printf `sip_probe_failure_info{instance=%q,job=%q}` $labels.instance $labels.job | query }}' +
      '{{ . | first | label "reason" }}{{ else }}unknown{{ end }}',

    local groupLabelsText = std.join(' ', ['%s={{ $labels.%s }}' % [l, l] for l in cfg.groupLabels]),
    local groupMembersQuery =
      'printf `group without (' + vantages + ') (sip_target_state{' + sel + ',' +
      std.join(',', ['%s=%%q' % l for l in cfg.groupLabels]) + ',state="down"} == 1)` ' +
      std.join(' ', ['$labels.%s' % l for l in cfg.groupLabels]),

    local alert(name, severity, expr, forDuration, summary, description) = {
      alert: name,
      expr: expr,
      'for': forDuration,
      labels: { severity: severity },
      annotations: {
        summary: summary,
        description: description,
        runbook_url: cfg.runbookURLPattern % std.asciiLower(name),
      },
    },

    // A target is down once the exporter says so: unreachable or answering an
    // unhealthy code (no answer, refused, 403, 500, ...). sip_target_up is 0 as well
    // while it is unknown (after a start, before its first verdict) and while it is
    // degraded (alive, answering 503): neither pages as down. A first verdict decides
    // at once, so a target down since the exporter started (no transition yet) must
    // also have failed targetDownAtStartFailures probes in a row: one lost probe after
    // a restart pages nobody. SipTrunkGroupDown counts the same targets per group.
    local confirmedDown(s) = |||
      sip_target_state{%(s)s,state="down"} == 1
      and on (job, instance, target)
      (
        sip_target_state_changes_total{%(s)s} > 0
        or
        sip_target_consecutive_failures{%(s)s} >= %(n)d
      )
    ||| % { s: s, n: cfg.targetDownAtStartFailures },
    // Down from every vantage: each exporter with a verdict on the target (up,
    // degraded or down; not an unknown one, just started) has it confirmed down. One
    // series per trunk, its value the number of exporters that see it down. With a
    // single exporter: its confirmed down targets, less the `instance` label.
    local downEverywhere(s) = |||
      count without (%(v)s) (
        %(down)s)
      ==
      count without (%(v)s) (
        sip_target_state{%(s)s,state="down"}
        unless on (job, instance, target)
        sip_target_state{%(s)s,state="unknown"} == 1
      )
    ||| % {
      s: s,
      v: vantages,
      down: std.strReplace(std.rstripChars(confirmedDown(s), '\n'), '\n', '\n  '),
    },
    local downTargets = downEverywhere(sel),
    // A target SipTrunkDown pages for whose probes failed with `reason` in the window
    // (from any vantage): the same series (labels) as SipTrunkDown's, so Alertmanager
    // can match the two.
    local downFor(reason, window) =
      downTargets + |||
        and on (job, target)
        sum without (%(v)s, reason) (increase(sip_probe_failures_total{%(s)s,reason="%(r)s"}[%(w)s])) > 0
      ||| % { s: sel, v: vantages, r: reason, w: window },
    // Down from some vantages (one series per exporter that has it confirmed down)
    // while at least one other exporter sees it up.
    local downFromSome = confirmedDown(sel) + |||
      and on (job, target)
      sum without (%(v)s, state) (sip_target_state{%(s)s,state="up"}) > 0
    ||| % { s: sel, v: vantages },
    // An exporter's share of targets down (of those it has a verdict on).
    local byExporter = 'job, ' + vantages,
    local exporterDown = 'sum by (%s) (sip_target_state{%s,state="down"})' % [byExporter, sel],
    local exporterShareDown = |||
      (
        %(down)s
        /
        sum by (%(by)s) (sip_target_state{%(s)s,state=~"up|degraded|down"})
      )
    ||| % { down: exporterDown, by: byExporter, s: sel },
    // "Contact bindings at the registrar: 0" (sip_target_registered_contacts, from the
    // last 2xx answer to a register probe).
    local registeredContacts =
      '{{ with ' + trunkQuery('sip_target_registered_contacts') +
      ' | query }}Contact bindings at the registrar: {{ . | first | value }}{{ else }}too few Contact bindings at the registrar{{ end }}',
    local degradedTargets = 'sip_target_state{%s,state="degraded"} == 1\n' % sel,

    // An address is down once it got its first verdict. Its series reads 0 until then
    // too, so it counts only while its target is up: the target's verdict comes from
    // a probe cycle, and every cycle probes each of its addresses, so after a start
    // or reload no address is unknown by then. Only an address new in a DNS answer
    // is unknown under an up target, until its first probe; `for` rides that out.
    // A down target is SipTrunkDown's (and, with up_when = "all", is down whenever
    // an address is).
    local downAddresses = |||
      sip_address_up{%(s)s} == 0
      and on (job, instance, target)
      sip_target_up{%(s)s} == 1
    ||| % { s: sel },

    local answerRatio(codeMatcher) = |||
      (
        sum without (code) (rate(sip_probe_responses_total{%(sel)s,%(codes)s}[%(w)s]))
        /
        sum without (result) (rate(sip_probes_total{%(sel)s}[%(w)s]))
      )
    ||| % { sel: sel, codes: codeMatcher, w: cfg.answerRatioWindow },

    local failureRatio(window) =
      '(1 - %s{%s})' % [$.availabilityRecord(window), sel],
    local burnThreshold =
      '(%s * (1 - %s))' % [num(cfg.availabilityBurnRate), num(cfg.availabilityObjective)],
    local objectivePercent = num(cfg.availabilityObjective * 100) + '%',

    groups+: [
      {
        name: 'sip_trunk_exporter.alerts',
        rules: [
          alert(
            'SipTrunkDown',
            'critical',
            downTargets,
            cfg.targetDownFor,
            'SIP trunk {{ $labels.target }} is down.',
            'SIP target ' + targetWithLabels + ' has answered no healthy OPTIONS to failures_before_down probes in a row' +
            forText(cfg.targetDownFor) + ': down since ' + trunkSince + '. Last answer: ' + trunkLastAnswer + '.' +
            downFromVantages,
          ),
          alert(
            'SipTrunkDownFromSomeVantages',
            'warning',
            downFromSome,
            cfg.someVantagesDownFor,
            'SIP trunk {{ $labels.target }} is down from {{ $labels.%s }}{{ if not $labels.%s }}{{ $labels.instance }}{{ end }} only.' % [cfg.vantageLabel, cfg.vantageLabel],
            'SIP target ' + targetWithLabels + ' has been down' + forText(cfg.someVantagesDownFor) + ' (since ' + since +
            ') as seen by this exporter, while others see it up. Down from:' +
            '{{ range $i, $s := printf `sip_target_state{target=%q,job=%q,state="down"} == 1` $labels.target $labels.job' +
            ' | query | sortByLabel "instance" }}{{ if $i }},{{ end }} {{ ' + vantageName + ' }}{{ end }}; up from:' +
            '{{ range $i, $s := printf `sip_target_state{target=%q,job=%q,state="up"} == 1` $labels.target $labels.job' +
            ' | query | sortByLabel "instance" }}{{ if $i }},{{ end }} {{ ' + vantageName + ' }}{{ end }}.' +
            ' Last answer here: ' + lastAnswer + '. The path from this vantage to the trunk fails, not the trunk.',
          ),
          alert(
            'SipTrunkAuthFailing',
            'critical',
            downFor('auth', cfg.authFailingWindow),
            cfg.authFailingFor,
            'SIP trunk {{ $labels.target }} is down: credentials refused (401/407 after digest).',
            'SIP target ' + targetWithLabels + ' has been down' + forText(cfg.authFailingFor) + ' (since ' + trunkSince +
            '), and its probes in the last ' + cfg.authFailingWindow + ' failed with reason auth: the peer challenged' +
            ' the request that carried our digest credentials (auth_user) again, so it refuses them (expired or rotated).' +
            ' Last answer: ' + trunkLastAnswer + '.' + downFromVantages + ' This alert replaces its SipTrunkDown in Alertmanager.',
          ),
          alert(
            'SipTrunkRegistrationMissing',
            'critical',
            downFor('no_binding', cfg.registrationMissingWindow),
            cfg.registrationMissingFor,
            'SIP trunk {{ $labels.target }} is down: registration missing (' + registeredContacts + ').',
            'SIP target ' + targetWithLabels + ' has been down' + forText(cfg.registrationMissingFor) + ' (since ' + trunkSince +
            '), and its probes in the last ' + cfg.registrationMissingWindow + ' failed with reason no_binding: the registrar' +
            ' answers the REGISTER fetch but lists fewer Contact bindings for the address of record (aor) than min_contacts,' +
            ' so the PBX is not registered right now. Last answer: ' + trunkLastAnswer + '.' + downFromVantages + ' This alert replaces its SipTrunkDown in Alertmanager.',
          ),
          alert(
            'SipTrunkDegraded',
            'warning',
            degradedTargets,
            cfg.targetDegradedFor,
            'SIP trunk {{ $labels.target }} is degraded: ' + degradedAnswer + '.',
            'SIP target ' + targetWithLabels + ' is alive but refuses service: it has answered its probes with a degraded code' +
            forText(cfg.targetDegradedFor) + ', since ' + since + '. The exporter honours the Retry-After: it sends nothing to a paused address before the pause ends.',
          ),
          alert(
            'SipTrunkGroupDown',
            'critical',
            |||
              count by (%(by)s) (
                %(down)s)
              == count by (%(by)s) (group without (%(v)s) (sip_target_state{%(gsel)s,state="down"}))
              and
              count by (%(by)s) (group without (%(v)s) (sip_target_state{%(gsel)s,state="down"})) >= %(min)d
            ||| % {
              by: groupBy,
              v: vantages,
              gsel: groupSel,
              min: cfg.groupDownMinTargets,
              down: std.strReplace(std.rstripChars(downEverywhere(groupSel), '\n'), '\n', '\n  '),
            },
            cfg.groupDownFor,
            'All SIP targets of ' + groupLabelsText + ' are down.',
            'All {{ $value }} SIP targets with ' + groupLabelsText +
            ' are down' + forText(cfg.groupDownFor) + ':' +
            '{{ range ' + groupMembersQuery + ' | query | sortByLabel "target" }} {{ .Labels.target }}{{ end }}.' +
            ' Their own SipTrunkDown alerts are inhibited in Alertmanager.',
          ),
          alert(
            'SipTrunkHighRtt',
            'warning',
            // Classic buckets, or the native histogram that a Prometheus with native
            // histograms enabled stores instead of them: one of the two is empty.
            |||
              (
                histogram_quantile(%(q)s, rate(sip_probe_rtt_seconds_bucket{%(sel)s}[%(w)s]))
                or
                histogram_quantile(%(q)s, rate(sip_probe_rtt_seconds{%(sel)s}[%(w)s]))
              )
              > %(t)s
            ||| % {
              q: num(cfg.highRttQuantile),
              sel: sel,
              w: cfg.highRttWindow,
              t: num(cfg.highRttThresholdSeconds),
            },
            cfg.highRttFor,
            'SIP trunk {{ $labels.target }} answers slowly.',
            'The p%s OPTIONS round-trip time of %s has been {{ $value | humanizeDuration }} over the last %s, above %sms.' % [
              num(cfg.highRttQuantile * 100),
              targetWithLabels,
              cfg.highRttWindow,
              num(cfg.highRttThresholdSeconds * 1000),
            ],
          ),
          alert(
            'SipTrunkServerErrors',
            'warning',
            answerRatio('code=~"5..",code!="503"') +
            '> %s\nand\nsip_target_up{%s} == 1\n' % [num(cfg.serverErrorRatio), sel],
            cfg.answerRatioFor,
            'SIP trunk {{ $labels.target }} answers with server errors.',
            'SIP target ' + targetWithLabels + ' is up but answered {{ $value | humanizePercentage }} of its probes over the last ' +
            cfg.answerRatioWindow + ' with a 5xx server error (other than 503). Last answer: ' + lastAnswer + '.',
          ),
          alert(
            'SipTrunkOverloaded',
            'warning',
            answerRatio('code="503"') +
            '> %s\nand\nsip_target_up{%s} == 1\n' % [num(cfg.overloadedRatio), sel],
            cfg.answerRatioFor,
            'SIP trunk {{ $labels.target }} says it is overloaded (503).',
            'SIP target ' + targetWithLabels + ' is up but answered {{ $value | humanizePercentage }} of its probes over the last ' +
            cfg.answerRatioWindow + ' with 503 Service Unavailable (a target answering it to every probe is degraded:' +
            ' SipTrunkDegraded). Last answer: ' + lastAnswer + '.',
          ),
          alert(
            'SipTrunkFlapping',
            'warning',
            'increase(sip_target_state_changes_total{%s}[%s]) >= %d\n' % [sel, cfg.flappingWindow, cfg.flappingTransitions],
            cfg.flappingFor,
            'SIP trunk {{ $labels.target }} is flapping.',
            'SIP target ' + targetWithLabels + ' changed between up and down {{ printf "%.0f" $value }} times in the last ' +
            cfg.flappingWindow + '. Last answer: ' + lastAnswer + '.',
          ),
          alert(
            'SipTrunkAddressDown',
            'warning',
            downAddresses,
            cfg.addressDownFor,
            'Address {{ $labels.address }} of SIP trunk {{ $labels.target }} is down.',
            'Address {{ $labels.address }} ({{ $labels.transport }}) of SIP target ' + targetWithLabels +
            ' has answered no healthy OPTIONS for more than ' + cfg.addressDownFor +
            ', while the target is still up through its other addresses. The exporter logs why (msg="address state changed").',
          ),
          alert(
            'SipTrunkKeepaliveFailing',
            'warning',
            'sum without (result) (increase(sip_keepalives_total{%s,result="failure"}[%s])) > 0\n' % [sel, cfg.keepaliveFailingWindow],
            cfg.keepaliveFailingFor,
            'Keepalives to SIP trunk {{ $labels.target }} at {{ $labels.address }} get no pong.',
            'RFC 5626 keepalives to SIP target ' + targetWithLabels + ' at {{ $labels.address }} have kept failing for more than ' +
            cfg.keepaliveFailingFor + ': {{ printf "%.0f" $value }} got no pong in the last ' + cfg.keepaliveFailingWindow +
            '. Each failure closes the connection, and the exporter opens it again.',
          ),
          alert(
            'SipTrunkTlsCertificateExpiring',
            'warning',
            '(sip_tls_cert_expiry_timestamp_seconds{%s} - time()) < %d * 86400 > 0\n' % [sel, cfg.certExpiryWarningDays],
            cfg.certExpiringFor,
            'The TLS certificate of SIP trunk {{ $labels.target }} expires soon.',
            'The TLS certificate that SIP target ' + targetWithLabels + ' presents at {{ $labels.address }} expires in {{ $value | humanizeDuration }} (less than ' +
            cfg.certExpiryWarningDays + ' days).',
          ),
          alert(
            'SipTrunkTlsCertificateExpired',
            'critical',
            'sip_tls_cert_expiry_timestamp_seconds{%s} <= time()\n' % sel,
            cfg.certExpiredFor,
            'The TLS certificate of SIP trunk {{ $labels.target }} has expired.',
            'The TLS certificate that SIP target ' + targetWithLabels + ' presents at {{ $labels.address }} expired at {{ $value | humanizeTimestamp }}.',
          ),
          alert(
            'SipTrunkAvailabilityBudgetBurn',
            'warning',
            '%s > %s\nand\n%s > %s\n' % [failureRatio('1h'), burnThreshold, failureRatio('5m'), burnThreshold],
            cfg.availabilityBurnFor,
            'SIP trunk {{ $labels.target }} is burning its availability error budget.',
            'SIP target ' + targetWithLabels + ' failed {{ $value | humanizePercentage }} of its probes in the last hour: at this rate the ' +
            objectivePercent + ' availability objective over 30 days is missed within ' + num(30 * 24 / cfg.availabilityBurnRate) + ' hours.',
          ),
          alert(
            'SipTrunkAvailabilityBelowObjective',
            'info',
            '%s{%s} < %s\n' % [$.availabilityRecord('30d'), sel, num(cfg.availabilityObjective)],
            cfg.availabilityBelowObjectiveFor,
            'SIP trunk {{ $labels.target }} is below its availability objective.',
            'SIP target ' + targetWithLabels + ' answered {{ $value | humanizePercentage }} of its probes healthily over the last 30 days, below the ' +
            objectivePercent + ' objective.',
          ),
          alert(
            'SipTrunkProbeFailed',
            'critical',
            'sip_probe_success{%s} == 0\n' % probeSel,
            cfg.probeFailedFor,
            'SIP probe of {{ $labels.instance }} fails.',
            'Every probe of ' + probeWithLabels + ' through /probe has failed for more than ' +
            cfg.probeFailedFor + '. Last reason: ' + probeFailureReason + '.',
          ),
          alert(
            'SipTrunkProbeTlsCertificateExpiring',
            'warning',
            '(sip_probe_ssl_earliest_cert_expiry{%s} - time()) < %d * 86400 > 0\n' % [probeSel, cfg.certExpiryWarningDays],
            cfg.certExpiringFor,
            'The TLS certificate of SIP URI {{ $labels.instance }} expires soon.',
            'The TLS certificate chain that ' + probeWithLabels + ' presents to /probe expires in {{ $value | humanizeDuration }} (less than ' +
            cfg.certExpiryWarningDays + ' days).',
          ),
          alert(
            'SipTrunkProbeTlsCertificateExpired',
            'critical',
            'sip_probe_ssl_earliest_cert_expiry{%s} <= time()\n' % probeSel,
            cfg.certExpiredFor,
            'The TLS certificate of SIP URI {{ $labels.instance }} has expired.',
            'The TLS certificate chain that ' + probeWithLabels + ' presents to /probe expired at {{ $value | humanizeTimestamp }}.',
          ),
          alert(
            'SipTrunkExporterDown',
            'critical',
            'up{%s} == 0\n' % sel,
            cfg.exporterDownFor,
            'SIP trunk exporter {{ $labels.instance }} is not scraped.',
            'Prometheus has failed to scrape the SIP trunk exporter {{ $labels.instance }} (job {{ $labels.job }}) for more than ' +
            cfg.exporterDownFor + ': the trunks it probes are not monitored and their alerts cannot fire.',
          ),
          alert(
            'SipExporterIsolated',
            'critical',
            |||
              %(share)s>= %(t)s
              and
              %(down)s >= %(min)d
              and on (job)
              %(share)s< %(t)s
            ||| % {
              share: exporterShareDown,
              down: exporterDown,
              t: num(cfg.exporterIsolatedShare),
              min: cfg.exporterIsolatedMinTargets,
            },
            cfg.exporterIsolatedFor,
            'SIP trunk exporter {{ $labels.instance }} sees its targets down, the others of its job do not.',
            'The SIP trunk exporter {{ $labels.instance }} (job {{ $labels.job }}{{ with $labels.%s }}, vantage {{ . }}{{ end }}) has seen ' % cfg.vantageLabel +
            '{{ $value | humanizePercentage }} of its targets down' + forText(cfg.exporterIsolatedFor) +
            '{{ with printf `sum(sip_target_state{instance=%q,job=%q,state="down"})` $labels.instance $labels.job | query }}' +
            ' ({{ . | first | value }} targets){{ end }}, while another exporter of the job sees fewer down (targets up from the others:' +
            '{{ range $i, $s := printf `sum by (%s) (sip_target_state{instance!=%%q,job=%%q,state="up"})` $labels.instance $labels.job' % vantages +
            ' | query | sortByLabel "instance" }}{{ if $i }},{{ end }} {{ ' + vantageName + ' }} {{ .Value }}{{ end }}).' +
            ' Its own network (uplink, DNS, firewall, routes) fails, not the trunks: its per-trunk alerts are inhibited in Alertmanager.',
          ),
          alert(
            'SipTrunkExporterConfigReloadFailed',
            'critical',
            'sip_exporter_config_last_reload_successful{%s} == 0\n' % sel,
            cfg.configReloadFailedFor,
            'SIP trunk exporter {{ $labels.instance }} failed to reload its configuration.',
            'The SIP trunk exporter {{ $labels.instance }} (job {{ $labels.job }}) could not load its changed configuration and still runs the previous one; its log names the file, line and key at fault.',
          ),
        ],
      },
    ],
  },
}
