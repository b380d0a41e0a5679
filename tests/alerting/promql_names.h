#pragma once
// The metric names a PromQL expression reads, for checking rules and dashboards
// against what the exporter exposes. Knows PromQL's functions, aggregations and
// keywords, skips label matchers, ranges, strings, numbers and Grafana variables
// ($target, ${datasource}, $__rate_interval).
#include <set>
#include <string>
#include <string_view>

namespace stx::alerting {

std::set<std::string> metric_names(std::string_view s);

// Grafana's `label_values(SELECTOR, LABEL)` (or `label_values(LABEL)`): the metric
// names of SELECTOR. Throws std::invalid_argument for other variable queries.
std::set<std::string> label_values_metric_names(std::string_view query);

}  // namespace stx::alerting
