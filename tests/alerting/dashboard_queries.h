#pragma once
// Runs every PromQL query of a dashboard (variables and panels) against a Prometheus-API
// server: Prometheus itself (dashboard_queries_test.cc) or the global view's
// VictoriaMetrics (ha_test.cc). Failures are gtest failures of the calling test.
#include <functional>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace stx::alerting {

using nlohmann::json;

// GET /api/v1/<path_and_query> and its parsed body.
using ApiGet = std::function<json(const std::string& path_and_query)>;

// Grafana's substitutions: the chosen variable values and its interval macros for a
// 1 s scrape interval ($__rate_interval is at least four scrape intervals).
std::string substitute_dashboard_variables(std::string expr,
                                           const std::map<std::string, std::string>& vars);

// Runs every query of dashboards/`file` with `vars`: none may fail or warn; `want_data`
// also requires results of each query (and values of each variable) but those whose
// expression (selector) contains one of `may_be_empty`, e.g. a metric name prefix. Panel queries
// run as Grafana does: instant at now, or a range over the last 30 s at a 1 s step.
void run_dashboard_queries(const ApiGet& api, const std::string& file,
                           const std::map<std::string, std::string>& vars, bool want_data,
                           const std::set<std::string>& may_be_empty = {});

}  // namespace stx::alerting
