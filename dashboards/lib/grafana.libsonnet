// Minimal builders for Grafana dashboard JSON (schema of Grafana 11+, checked by
// tests/alerting against @grafana/schema). Every panel and query uses the data source
// chosen in the `datasource` variable, so file provisioning needs no ${DS_...} input.
{
  datasource:: { type: 'prometheus', uid: '${datasource}' },

  // --- Variables -------------------------------------------------------------

  datasourceVariable:: {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: '',
    skipUrlSync: false,
  },

  // A variable listing the values of `labelName` (default: the variable's name) on
  // `metric` (a series selector). With allValue null, "All" stands for the values
  // listed rather than any value.
  labelVariable(name, label, metric, multi=true, allValue='.*', labelName=null):: {
    name: name,
    label: label,
    type: 'query',
    datasource: $.datasource,
    query: 'label_values(%s, %s)' % [metric, if labelName != null then labelName else name],
    hide: 0,
    includeAll: multi,
    multi: multi,
    options: [],
    refresh: 2,  // on time range change: targets come and go
    regex: '',
    skipUrlSync: false,
    sort: 1,
  } + (if multi && allValue != null then { allValue: allValue } else {}),

  // `job` and `instance` (the node-mixin and blackbox-mixin convention), for a
  // Prometheus that scrapes several exporters. The jobs listed are those that
  // `exporterSelector` selects, and "All" means just them; every other variable and
  // every query filters by both (`exporterMatchers`).
  exporterVariables(exporterSelector):: [
    $.labelVariable('job', 'Job', 'sip_exporter_build_info{%s}' % exporterSelector, allValue=null),
    $.labelVariable('instance', 'Instance', 'sip_exporter_build_info{job=~"$job"}'),
  ],
  exporterMatchers:: 'job=~"$job",instance=~"$instance"',

  // The same pair for a blackbox-style job scraping /probe (`probeSelector`): there
  // `instance` is the probed URI. Panels about /probe filter by these instead.
  probeVariables(probeSelector):: [
    $.labelVariable('probe_job', '/probe job', 'sip_probe_success{%s}' % probeSelector, allValue=null, labelName='job'),
    $.labelVariable('probe_target', '/probe target', 'sip_probe_success{job=~"$probe_job"}', labelName='instance'),
  ],
  probeMatchers:: 'job=~"$probe_job",instance=~"$probe_target"',

  // --- Queries -----------------------------------------------------------------

  query(refId, expr, legend='', instant=false, format='time_series'):: {
    refId: refId,
    datasource: $.datasource,
    expr: expr,
    legendFormat: legend,
    instant: instant,
    range: !instant,
    format: format,
  },

  // --- Field config --------------------------------------------------------------

  thresholds(steps):: {
    mode: 'absolute',
    steps: [{ color: steps[0][0], value: null }] + [{ color: s[0], value: s[1] } for s in steps[1:]],
  },

  // Value mappings {value: [text, color]}.
  valueMappings(map):: [{
    type: 'value',
    options: {
      [k]: { text: map[k][0], color: map[k][1], index: i }
      for i in std.range(0, std.length(std.objectFields(map)) - 1)
      for k in [std.objectFields(map)[i]]
    },
  }],

  // --- Target and address state (sip_target_state, sip_address_state) --------------

  // The exporter exposes one series per state, 1 for the current one. As one number
  // per target (or address): 0 unknown, 1 up, 2 degraded, 3 down.
  stateValue(metric, matchers)::
    'max without (state) (%(m)s{%(s)s,state="up"} * 1 or %(m)s{%(s)s,state="degraded"} * 2 or %(m)s{%(s)s,state="down"} * 3)' % {
      m: metric,
      s: matchers,
    },
  // Its colours: unknown grey, up green, degraded orange, down red.
  stateMappings:: $.valueMappings({
    '0': ['UNKNOWN', 'gray'],
    '1': ['UP', 'green'],
    '2': ['DEGRADED', 'orange'],
    '3': ['DOWN', 'red'],
  }),

  // A field override for the table column (or series) `name`.
  byName(name, properties):: {
    matcher: { id: 'byName', options: name },
    properties: properties,
  },

  // --- Panels --------------------------------------------------------------------

  local optional(key, value) = if value != null then { [key]: value } else {},

  local panel(type, title, description, targets, gridPos) = {
    type: type,
    title: title,
    description: description,
    datasource: $.datasource,
    gridPos: gridPos,
    targets: targets,
  },

  pos(x, y, w, h):: { x: x, y: y, w: w, h: h },

  legend:: { calcs: [], displayMode: 'list', placement: 'bottom', showLegend: true },
  tooltip:: { mode: 'multi', sort: 'desc' },

  stat(title, description, targets, gridPos, unit='none', thresholds=$.thresholds([['green']]), mappings=[], noValue=null, decimals=null)::
    local defaults = {
      unit: unit,
      color: { mode: 'thresholds' },
      thresholds: thresholds,
      mappings: mappings,
    };
    panel('stat', title, description, targets, gridPos) + {
      fieldConfig: {
        defaults: defaults + optional('noValue', noValue) + optional('decimals', decimals),
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        orientation: 'auto',
        colorMode: 'background',
        graphMode: 'none',
        justifyMode: 'auto',
        textMode: 'value',
        wideLayout: true,
        showPercentChange: false,
        percentChangeColorMode: 'standard',
      },
    },

  timeseries(title, description, targets, gridPos, unit='none', thresholds=null, min=null, max=null)::
    local custom = {
      drawStyle: 'line',
      lineWidth: 1,
      fillOpacity: 10,
      showPoints: 'never',
      spanNulls: false,
      axisPlacement: 'auto',
    };
    local defaults = {
      unit: unit,
      color: { mode: 'palette-classic' },
      // A threshold is drawn as a line (e.g. SipTrunkHighRtt's).
      custom: custom + (if thresholds != null then { thresholdsStyle: { mode: 'line' } } else {}),
    };
    panel('timeseries', title, description, targets, gridPos) + {
      fieldConfig: {
        defaults: defaults + optional('thresholds', thresholds) + optional('min', min) + optional('max', max),
        overrides: [],
      },
      options: { legend: $.legend, tooltip: $.tooltip },
    },

  stateTimeline(title, description, targets, gridPos, mappings)::
    panel('state-timeline', title, description, targets, gridPos) + {
      fieldConfig: {
        defaults: {
          color: { mode: 'thresholds' },
          thresholds: $.thresholds([['text']]),
          mappings: mappings,
          custom: { fillOpacity: 80, lineWidth: 0 },
        },
        overrides: [],
      },
      options: {
        legend: $.legend,
        tooltip: { mode: 'single', sort: 'none' },
        rowHeight: 0.9,
        showValue: 'never',
        mergeValues: true,
        alignValue: 'left',
      },
    },

  // A table from instant queries in table format, merged on their labels.
  table(title, description, targets, gridPos, organize, overrides=[])::
    panel('table', title, description, targets, gridPos) + {
      fieldConfig: {
        defaults: {
          custom: { align: 'auto', cellOptions: { type: 'auto' }, inspect: false },
          color: { mode: 'thresholds' },
          thresholds: $.thresholds([['text']]),
        },
        overrides: overrides,
      },
      options: { showHeader: true, frameIndex: 0, cellHeight: 'sm' },
      transformations: [
        { id: 'merge', options: {} },
        { id: 'organize', options: organize },
      ],
    },

  barGauge(title, description, targets, gridPos, unit, thresholds)::
    panel('bargauge', title, description, targets, gridPos) + {
      fieldConfig: {
        defaults: { unit: unit, color: { mode: 'thresholds' }, thresholds: thresholds, min: 0 },
        overrides: [],
      },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        orientation: 'horizontal',
        displayMode: 'gradient',
        valueMode: 'color',
        namePlacement: 'auto',
        showUnfilled: true,
        sizing: 'auto',
        minVizHeight: 16,
        minVizWidth: 8,
        maxVizHeight: 300,
        legend: $.legend { showLegend: false },
      },
    },

  // Buckets of a Prometheus histogram (format "heatmap", one series per `le`).
  heatmap(title, description, targets, gridPos, unit)::
    panel('heatmap', title, description, targets, gridPos) + {
      fieldConfig: {
        defaults: { custom: { scaleDistribution: { type: 'linear' } } },
        overrides: [],
      },
      options: {
        calculate: false,
        cellGap: 1,
        color: {
          mode: 'scheme',
          scheme: 'Oranges',
          fill: 'dark-orange',
          scale: 'exponential',
          exponent: 0.5,
          steps: 64,
          reverse: false,
        },
        exemplars: { color: 'rgba(255,0,255,0.7)' },
        legend: { show: true },
        rowsFrame: { layout: 'auto' },
        showValue: 'never',
        tooltip: { mode: 'single', yHistogram: true, showColorScale: false },
        yAxis: { axisPlacement: 'left', unit: unit, reverse: false },
      },
    },

  // --- Dashboard -------------------------------------------------------------------

  // Panels get ids in order; `links` join the dashboards of this folder by tag.
  dashboard(uid, title, description, variables, panels):: {
    uid: uid,
    title: title,
    description: description,
    tags: ['sip_trunk_exporter'],
    editable: true,
    graphTooltip: 1,
    refresh: '30s',
    schemaVersion: 39,
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: '',
    fiscalYearStartMonth: 0,
    liveNow: false,
    version: 1,
    annotations: {
      list: [{
        builtIn: 1,
        datasource: { type: 'grafana', uid: '-- Grafana --' },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      }],
    },
    links: [{
      title: 'SIP trunk dashboards',
      type: 'dashboards',
      tags: ['sip_trunk_exporter'],
      asDropdown: true,
      icon: 'external link',
      includeVars: true,
      keepTime: true,
      targetBlank: false,
      tooltip: '',
    }],
    templating: { list: [$.datasourceVariable] + variables },
    panels: [panels[i] { id: i + 1 } for i in std.range(0, std.length(panels) - 1)],
  },
}
