// The Grafana dashboards in dashboards/: rendered from their jsonnet source, typed
// against Grafana's own dashboard and panel types (@grafana/schema, checked by tsc),
// provisionable from files (a datasource variable, no ${DS_...} inputs), with
// variables for the target and the static labels, and the panels the issue asks for.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "alerting_files.h"
#include "harness.h"
#include "promql_names.h"
#include "tools.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace stx::alerting {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A panel about /probe jobs (its title says so): it shows one probe per scrape per URI,
// from series with only `job` and `instance` (the URI), so it filters by the
// probe_job and probe_target variables instead of the exporter's.
bool is_probe_panel(const json& panel) {
  return panel.at("title").get<std::string>().rfind("/probe", 0) == 0;
}

// Grafana panel type -> its folder under @grafana/schema's raw/composable.
const std::map<std::string, std::string> kPanelTypes = {
    {"timeseries", "timeseries"}, {"stat", "stat"},         {"state-timeline", "statetimeline"},
    {"table", "table"},           {"bargauge", "bargauge"}, {"heatmap", "heatmap"},
};

// A TypeScript file that types `dashboard` as Grafana's Dashboard, and each panel's
// options and custom field config as that panel plugin's Options and FieldConfig.
std::string typescript_for(const json& dashboard, const fs::path& node_modules) {
  const std::string schema = (node_modules / "@grafana/schema/dist/types").string();
  std::string ts = "import type { Dashboard } from '" + schema + "/index';\n";
  for (const auto& [type, folder] : kPanelTypes) {
    ts += "import type * as " + folder + " from '" + schema + "/raw/composable/" + folder +
          "/panelcfg/x/types.gen';\n";
  }
  // JSON has no enum values: the schema's string enums become their literal values,
  // so "absolute" checks against ThresholdsMode and a typo does not.
  ts += "type Json<T> = T extends string ? `${T}` : T extends readonly (infer U)[] ? Json<U>[] : "
        "T extends object ? { [K in keyof T]: Json<T[K]> } : T;\n";
  ts += "export const d: Json<Dashboard> = " + dashboard.dump(1) + ";\n";
  int i = 0;
  for (const auto& panel : dashboard.at("panels")) {
    const std::string type = panel.at("type");
    auto it = kPanelTypes.find(type);
    if (it == kPanelTypes.end()) {
      throw std::runtime_error("panel type '" + type + "' has no entry in kPanelTypes (dashboards_test.cc)");
    }
    const std::string n = std::to_string(i++);
    ts += "export const options" + n + ": Json<" + it->second + ".Options> = " +
          panel.value("options", json::object()).dump() + ";\n";
    const json& defaults = panel.at("fieldConfig").at("defaults");
    if (defaults.contains("custom")) {
      ts += "export const custom" + n + ": Json<" + it->second + ".FieldConfig> = " + defaults.at("custom").dump() +
            ";\n";
    }
  }
  return ts;
}

class DashboardsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = dashboard_files();
    ASSERT_EQ(files_.size(), 2u) << "expected the overview and the target dashboards";
    for (const auto& f : files_) dashboards_[f.filename().string()] = load_json(f);
  }

  // Runs tsc on the files `sources` (name -> TypeScript); returns its result.
  it::RunResult tsc(const std::map<std::string, std::string>& sources, const fs::path& dir) {
    auto modules = node_modules();
    json files = json::array();
    for (const auto& [name, text] : sources) {
      it::write_file(dir / name, text);
      files.push_back(name);
    }
    json tsconfig = {{"compilerOptions",
                      {{"strict", true},
                       {"noEmit", true},
                       {"target", "ES2020"},
                       {"module", "ES2020"},
                       {"moduleResolution", "node"},
                       {"skipLibCheck", true},
                       {"types", json::array()}}},
                     {"files", files}};
    it::write_file(dir / "tsconfig.json", tsconfig.dump(1));
    return it::run_command("tsc",
                           {require_tool("node").string(), (modules / "typescript/bin/tsc").string(), "-p",
                            (dir / "tsconfig.json").string()},
                           dir, 120s);
  }

  static const json& variable(const json& dashboard, const std::string& name) {
    for (const auto& v : dashboard.at("templating").at("list")) {
      if (v.at("name") == name) return v;
    }
    throw std::runtime_error("no variable " + name);
  }
  const json& overview() { return dashboards_.at("sip-trunk-overview.json"); }
  const json& target() { return dashboards_.at("sip-trunk-target.json"); }

  it::TempDir dir_{"stx-dashboards"};
  std::vector<fs::path> files_;
  std::map<std::string, json> dashboards_;
};

TEST_F(DashboardsTest, CheckedInJsonIsRenderedFromTheJsonnetSource) {
  run_render_script(dashboards_dir() / "render.sh", dir_.path());
  for (const auto& f : files_) {
    std::string fresh = it::read_file(dir_.path() / f.filename());
    ASSERT_FALSE(fresh.empty()) << f << " has no jsonnet source";
    EXPECT_EQ(it::read_file(f), fresh)
        << "dashboards/" << f.filename().string() << " is stale: run dashboards/render.sh and commit the result";
  }
}

TEST_F(DashboardsTest, JsonnetSourcesAreFormatted) {
  auto jsonnetfmt = require_tool("jsonnetfmt");
  for (const auto& e : fs::recursive_directory_iterator(dashboards_dir())) {
    auto ext = e.path().extension();
    if (ext != ".jsonnet" && ext != ".libsonnet") continue;
    auto r = it::run_command("jsonnetfmt", {jsonnetfmt.string(), "--test", e.path().string()}, dir_.path(), 30s);
    EXPECT_EQ(r.exit_code, 0) << e.path() << " is not formatted: run jsonnetfmt -i on it";
  }
}

TEST_F(DashboardsTest, TypeCheckAgainstGrafanasDashboardAndPanelTypes) {
  std::map<std::string, std::string> sources;
  for (const auto& [name, d] : dashboards_) sources[fs::path(name).stem().string() + ".ts"] = typescript_for(d, node_modules());
  auto r = tsc(sources, dir_.path());
  EXPECT_EQ(r.exit_code, 0) << "tsc found dashboards that do not fit @grafana/schema:\n" << r.out << r.err;
}

// The type check bites: a dashboard with an unknown property, a misspelt panel
// option and an enum value Grafana does not know is rejected, each one reported.
TEST_F(DashboardsTest, TypeCheckRejectsWhatGrafanaWouldNotUnderstand) {
  json broken = overview();
  broken["refreshInterval"] = "30s";
  for (auto& panel : broken["panels"]) {
    if (panel["type"] == "stat") panel["options"]["colourMode"] = "background";
    if (panel["type"] == "timeseries") panel["options"]["legend"]["displayMode"] = "lst";
  }
  auto r = tsc({{"broken.ts", typescript_for(broken, node_modules())}}, dir_.path());
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("'\"refreshInterval\"' does not exist"));
  EXPECT_THAT(r.out, HasSubstr("'\"colourMode\"' does not exist"));
  EXPECT_THAT(r.out, HasSubstr("Type '\"lst\"' is not assignable"));
}

// File provisioning does not resolve ${DS_...} inputs: every panel and query uses
// the `datasource` variable instead.
TEST_F(DashboardsTest, UseADatasourceVariableAndNoInputs) {
  for (const auto& [name, d] : dashboards_) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(d.contains("__inputs"));
    EXPECT_THAT(d.dump(), Not(HasSubstr("${DS_")));
    const json& first = d.at("templating").at("list").at(0);
    EXPECT_EQ(first.at("name"), "datasource");
    EXPECT_EQ(first.at("type"), "datasource");
    EXPECT_EQ(first.at("query"), "prometheus");
    const json ref = {{"type", "prometheus"}, {"uid", "${datasource}"}};
    for (const auto& panel : d.at("panels")) {
      EXPECT_EQ(panel.at("datasource"), ref) << panel.at("title");
      for (const auto& t : panel.at("targets")) EXPECT_EQ(t.at("datasource"), ref) << panel.at("title");
    }
    for (const auto& v : d.at("templating").at("list")) {
      if (v.at("type") == "query") {
        EXPECT_EQ(v.at("datasource"), ref) << v.at("name");
      }
    }
  }
}

// A variable for the target and for each static label of config/example.toml,
// listing the values the exporter's series carry.
TEST_F(DashboardsTest, HaveVariablesForTheTargetAndTheStaticLabels) {
  for (const auto& [name, d] : dashboards_) {
    SCOPED_TRACE(name);
    std::map<std::string, json> vars;
    for (const auto& v : d.at("templating").at("list")) vars[v.at("name")] = v;
    for (const char* label : {"target", "carrier", "site"}) {
      ASSERT_EQ(vars.count(label), 1u) << "no variable " << label;
      const json& v = vars[label];
      EXPECT_EQ(v.at("type"), "query");
      std::string query = v.at("query");
      EXPECT_THAT(query, HasSubstr("label_values(sip_target_up{"));
      EXPECT_THAT(query, HasSubstr(", " + std::string(label) + ")"));
    }
    // Every panel filters by them (the detail dashboard by its one target), but those
    // about /probe jobs, whose series have no target or static labels.
    for (const auto& panel : d.at("panels")) {
      if (is_probe_panel(panel)) continue;
      for (const auto& t : panel.at("targets")) {
        std::string expr = t.at("expr");
        EXPECT_THAT(expr, HasSubstr("$target")) << panel.at("title");
        if (name == "sip-trunk-overview.json") {
          EXPECT_THAT(expr, HasSubstr("carrier=~\"$carrier\"")) << panel.at("title");
          EXPECT_THAT(expr, HasSubstr("site=~\"$site\"")) << panel.at("title");
        }
      }
    }
  }
  EXPECT_TRUE(variable(overview(), "target").at("multi").get<bool>());
  EXPECT_FALSE(variable(target(), "target").at("multi").get<bool>());
}

// Problems of `expr` for a Prometheus with several exporters: a selector (braces
// or none) without the `job` or `instance` variable's matcher (`matchers`). Empty if none.
std::vector<std::string> missing_exporter_matchers(const std::string& expr,
                                                   const std::vector<std::string>& matchers = {
                                                       "job=~\"$job\"",
                                                       "instance=~\"$instance\""}) {
  std::vector<std::string> problems;
  for (const auto& name : metric_names(expr)) {
    // Every occurrence of the name as a selector, with its matchers if any.
    const std::regex selector_re("(^|[^A-Za-z0-9_:])" + name + "(?![A-Za-z0-9_:])(\\{[^}]*\\})?");
    for (std::sregex_iterator it(expr.begin(), expr.end(), selector_re), end; it != end; ++it) {
      const std::string given = (*it)[2].str();
      for (const std::string& m : matchers) {
        if (given.find(m) == std::string::npos) problems.push_back(name + " without " + m);
      }
    }
  }
  return problems;
}

TEST(MissingExporterMatchersTest, FindsEverySelectorWithoutBoth) {
  EXPECT_THAT(missing_exporter_matchers(R"(count(a{job=~"$job",instance=~"$instance",x="1"} == 1) or vector(0))"),
              ::testing::IsEmpty());
  EXPECT_THAT(missing_exporter_matchers(R"(a_bucket{job=~"$job",instance=~"$instance"} - on (job) a{job=~"$job"})"),
              ::testing::ElementsAre("a without instance=~\"$instance\""));
  EXPECT_THAT(missing_exporter_matchers(R"(sum(rate(c_total[5m])) / c_total{instance=~"$instance"})"),
              ::testing::UnorderedElementsAre("c_total without job=~\"$job\"", "c_total without job=~\"$job\"",
                                              "c_total without instance=~\"$instance\""));
}

// Several exporters (or Prometheus jobs) in one data source: `job` and `instance`
// variables as node-mixin and blackbox-mixin have them, and every query, panels'
// and other variables', filtered by both.
TEST_F(DashboardsTest, EveryQueryFiltersByTheJobAndInstanceVariables) {
  for (const auto& [name, d] : dashboards_) {
    SCOPED_TRACE(name);
    const json& list = d.at("templating").at("list");
    ASSERT_GE(list.size(), 3u);
    // Right after the data source, as the variables below depend on them.
    const json& job = list.at(1);
    const json& instance = list.at(2);
    EXPECT_EQ(job.at("name"), "job");
    EXPECT_EQ(instance.at("name"), "instance");
    for (const json* v : {&job, &instance}) {
      EXPECT_EQ(v->at("type"), "query");
      EXPECT_TRUE(v->at("multi").get<bool>()) << v->at("name");
      EXPECT_TRUE(v->at("includeAll").get<bool>()) << v->at("name");
    }
    EXPECT_EQ(job.at("query"), "label_values(sip_exporter_build_info{job=\"sip_trunk_exporter\"}, job)");
    // "All" jobs are the jobs listed, not any job that has these metric names.
    EXPECT_FALSE(job.contains("allValue"));
    EXPECT_EQ(instance.at("query"), "label_values(sip_exporter_build_info{job=~\"$job\"}, instance)");
    for (std::size_t i = 3; i < list.size(); ++i) {
      const json& v = list.at(i);
      if (v.at("type") != "query") continue;
      std::string query = v.at("query");
      std::string selector = query.substr(0, query.rfind(','));  // label_values(SELECTOR, LABEL)
      // /probe jobs have variables of their own: the jobs probeSelector selects, and
      // their URIs (`instance`) by job.
      if (v.at("name") == "probe_job") {
        EXPECT_EQ(query, "label_values(sip_probe_success{job=\"sip_probe\"}, job)");
        continue;
      }
      const std::vector<std::string> matchers =
          v.at("name") == "probe_target"
              ? std::vector<std::string>{"job=~\"$probe_job\""}
              : std::vector<std::string>{"job=~\"$job\"", "instance=~\"$instance\""};
      EXPECT_THAT(missing_exporter_matchers(selector, matchers), ::testing::IsEmpty())
          << "variable " << v.at("name");
    }
    int exprs = 0;
    for (const auto& panel : d.at("panels")) {
      const std::vector<std::string> matchers =
          is_probe_panel(panel)
              ? std::vector<std::string>{"job=~\"$probe_job\"", "instance=~\"$probe_target\""}
              : std::vector<std::string>{"job=~\"$job\"", "instance=~\"$instance\""};
      for (const auto& t : panel.at("targets")) {
        ++exprs;
        std::string expr = t.at("expr");
        EXPECT_THAT(missing_exporter_matchers(expr, matchers), ::testing::IsEmpty())
            << panel.at("title") << " / " << t.at("refId") << ": " << expr;
      }
    }
    EXPECT_GT(exprs, 10);
  }
}

// README shows a /probe job: the overview has panels for it, on its series only, with
// variables for its jobs and URIs that the alerts' probeSelector selects.
TEST_F(DashboardsTest, OverviewHasPanelsForProbeJobs) {
  std::set<std::string> names;
  int panels = 0;
  for (const auto& p : overview().at("panels")) {
    if (!is_probe_panel(p)) continue;
    ++panels;
    for (const auto& t : p.at("targets")) {
      for (const auto& n : metric_names(t.at("expr").get<std::string>())) names.insert(n);
    }
  }
  EXPECT_GE(panels, 4);
  for (const std::string& n : names) EXPECT_THAT(n, ::testing::StartsWith("sip_probe_")) << n;
  for (const char* n :
       {"sip_probe_success", "sip_probe_round_trip_seconds", "sip_probe_failure_info",
        "sip_probe_ssl_earliest_cert_expiry", "sip_probe_address_info"}) {
    EXPECT_EQ(names.count(n), 1u) << n;
  }
  EXPECT_EQ(variable(overview(), "probe_target").at("query"),
            "label_values(sip_probe_success{job=~\"$probe_job\"}, instance)");
  EXPECT_FALSE(variable(overview(), "probe_job").contains("allValue"));
}

// The overview's status table tells exporters apart and opens the target dashboard
// on the row's exporter.
TEST_F(DashboardsTest, OverviewLinksATargetOnItsExporter) {
  const json* table = nullptr;
  for (const auto& p : overview().at("panels")) {
    if (p.at("type") == "table" && !is_probe_panel(p)) table = &p;
  }
  ASSERT_NE(table, nullptr);
  const json& organize = table->at("transformations").at(1).at("options");
  EXPECT_FALSE(organize.at("excludeByName").contains("instance"));
  EXPECT_TRUE(organize.at("indexByName").contains("instance"));
  std::string url = table->at("fieldConfig").at("overrides").at(0).at("properties").at(1).at("value").at(0).at("url");
  EXPECT_THAT(url, HasSubstr("${job:queryparam}"));
  EXPECT_THAT(url, HasSubstr("var-instance=${__data.fields.instance}"));
  EXPECT_THAT(url, HasSubstr("var-target=${__value.raw}"));
}

TEST_F(DashboardsTest, PanelsAreLaidOutAndQueriedConsistently) {
  const std::set<std::string> query_keys = {"refId", "datasource", "expr", "legendFormat", "instant", "range", "format"};
  std::set<std::string> uids;
  for (const auto& [name, d] : dashboards_) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(uids.insert(d.at("uid").get<std::string>()).second) << "duplicate uid";
    std::set<int> ids;
    std::vector<json> boxes;
    for (const auto& panel : d.at("panels")) {
      std::string title = panel.at("title");
      EXPECT_TRUE(ids.insert(panel.at("id").get<int>()).second) << "duplicate id in " << title;
      const json& g = panel.at("gridPos");
      EXPECT_LE(g.at("x").get<int>() + g.at("w").get<int>(), 24) << title << " is wider than the dashboard";
      for (const auto& other : boxes) {
        bool apart = g["x"].get<int>() >= other["x"].get<int>() + other["w"].get<int>() ||
                     other["x"].get<int>() >= g["x"].get<int>() + g["w"].get<int>() ||
                     g["y"].get<int>() >= other["y"].get<int>() + other["h"].get<int>() ||
                     other["y"].get<int>() >= g["y"].get<int>() + g["h"].get<int>();
        EXPECT_TRUE(apart) << title << " overlaps another panel";
      }
      boxes.push_back(g);
      std::set<std::string> refs;
      ASSERT_FALSE(panel.at("targets").empty()) << title;
      for (const auto& t : panel.at("targets")) {
        EXPECT_TRUE(refs.insert(t.at("refId").get<std::string>()).second) << title;
        EXPECT_FALSE(t.at("expr").get<std::string>().empty()) << title;
        for (const auto& [key, value] : t.items()) EXPECT_EQ(query_keys.count(key), 1u) << title << ": " << key;
      }
    }
  }
}

TEST_F(DashboardsTest, ProvisioningFileIsAFileProvider) {
  json p = load_yaml(dashboards_dir() / "provisioning" / "sip_trunk_exporter.yml", dir_.path());
  EXPECT_EQ(p.at("apiVersion"), 1);
  ASSERT_EQ(p.at("providers").size(), 1u);
  const json& provider = p.at("providers").at(0);
  EXPECT_EQ(provider.at("type"), "file");
  EXPECT_FALSE(provider.at("options").at("path").get<std::string>().empty());
}

// What the issue's story needs on screen, by panel type and the metrics queried.
TEST_F(DashboardsTest, ShowWhatTheOnCallEngineerLooksFor) {
  auto panels_of = [](const json& d) {
    std::multimap<std::string, std::string> out;  // type -> all its exprs joined
    for (const auto& p : d.at("panels")) {
      std::string exprs;
      for (const auto& t : p.at("targets")) exprs += t.at("expr").get<std::string>() + "\n";
      out.emplace(p.at("type"), exprs);
    }
    return out;
  };
  auto has = [](const std::multimap<std::string, std::string>& panels, const std::string& type,
                const std::vector<std::string>& needles) {
    auto [b, e] = panels.equal_range(type);
    for (auto it = b; it != e; ++it) {
      bool all = true;
      for (const auto& n : needles) all = all && it->second.find(n) != std::string::npos;
      if (all) return true;
    }
    return false;
  };

  auto o = panels_of(overview());
  EXPECT_TRUE(has(o, "state-timeline", {"sip_target_state"})) << "state timeline of every target";
  EXPECT_TRUE(has(o, "table", {"sip_target_state", "sip_target_last_status_code", "sip_target_last_rtt_seconds",
                               "ratio_rate1d", "ratio_rate30d"}))
      << "current status table";
  for (const char* state : {"unknown", "up", "degraded", "down"}) {
    EXPECT_TRUE(has(o, "stat", {"sip_target_state{", "state=\"" + std::string(state) + "\"} == 1"}))
        << "count of targets " << state;
  }
  EXPECT_TRUE(has(o, "bargauge", {"topk", "sip_probe_rtt_seconds_bucket"})) << "top RTT";
  EXPECT_TRUE(has(o, "timeseries", {"sip_probe_responses_total"})) << "response-code rates";
  EXPECT_TRUE(has(o, "stat", {"sip_address_state{", "state=\"down\"} == 1"})) << "count of addresses down";

  auto t = panels_of(target());
  EXPECT_TRUE(has(t, "heatmap", {"sip_probe_rtt_seconds_bucket"})) << "RTT heatmap";
  EXPECT_TRUE(has(t, "timeseries", {"histogram_quantile(0.5,", "histogram_quantile(0.95,", "histogram_quantile(0.99,"}))
      << "p50/p95/p99";
  EXPECT_TRUE(has(t, "timeseries", {"sip_probe_responses_total"})) << "response codes over time";
  EXPECT_TRUE(has(t, "timeseries", {"sip_probe_failures_total"})) << "failure reasons over time";
  EXPECT_TRUE(has(t, "timeseries", {"sip_target_state_changes_total"})) << "state changes";
  EXPECT_TRUE(has(t, "timeseries", {"sip_target_registered_contacts"}))
      << "a register target's bindings over time";
  EXPECT_TRUE(has(t, "timeseries",
                  {"histogram_quantile(0.5,", "histogram_quantile(0.95,",
                   "histogram_quantile(0.99,", "sip_invite_post_dial_delay_seconds_bucket"}))
      << "an INVITE target's post-dial delay p50/p95/p99";
  EXPECT_TRUE(has(t, "stat", {"sip_tls_cert_expiry_timestamp_seconds"})) << "TLS expiry";
  EXPECT_TRUE(has(t, "table", {"sip_target_info"})) << "server header";
  EXPECT_TRUE(has(t, "table",
                  {"sip_address_state", "sip_address_last_rtt_seconds",
                   "sip_address_retry_after_timestamp_seconds", "by (address, transport)"}))
      << "addresses with state, last RTT and Retry-After pause";
  EXPECT_TRUE(has(t, "state-timeline", {"sip_target_state"})) << "state timeline of the target";
  EXPECT_TRUE(has(t, "state-timeline", {"sip_address_state", "by (address, transport)"}))
      << "state timeline per address";
  EXPECT_TRUE(has(t, "timeseries", {"sip_address_retry_after_timestamp_seconds", "sip_target_retry_after_seconds"}))
      << "Retry-After pause over time";
  EXPECT_TRUE(
      has(t, "table", {"sip_tls_cert_expiry_timestamp_seconds", "sip_tls_info", "version, cipher"}))
      << "TLS per address: days left, version and cipher";
  // Every state shown, in its colour: unknown grey, up green, degraded orange, down red.
  const std::map<std::string, std::pair<std::string, std::string>> colours = {
      {"0", {"UNKNOWN", "gray"}}, {"1", {"UP", "green"}}, {"2", {"DEGRADED", "orange"}}, {"3", {"DOWN", "red"}}};
  for (const json* d : {&overview(), &target()}) {
    int timelines = 0;
    for (const auto& p : d->at("panels")) {
      if (p.at("type") != "state-timeline") continue;
      // The /probe result timeline shows OK/FAILED of sip_probe_success, not a state.
      const std::string expr = p.at("targets").at(0).at("expr");
      if (expr.find("sip_target_state") == std::string::npos &&
          expr.find("sip_address_state") == std::string::npos) {
        continue;
      }
      ++timelines;
      const json& options = p.at("fieldConfig").at("defaults").at("mappings").at(0).at("options");
      EXPECT_EQ(options.size(), colours.size()) << p.at("title");
      for (const auto& [value, want] : colours) {
        ASSERT_TRUE(options.contains(value)) << p.at("title") << " maps no " << value;
        EXPECT_EQ(options.at(value).at("text"), want.first) << p.at("title");
        EXPECT_EQ(options.at(value).at("color"), want.second) << p.at("title");
      }
    }
    EXPECT_GE(timelines, 1);
  }
  for (const auto& p : target().at("panels")) {
    if (p.at("type") == "heatmap") {
      EXPECT_EQ(p.at("targets").at(0).at("format"), "heatmap");
    }
  }
}

}  // namespace
}  // namespace stx::alerting
