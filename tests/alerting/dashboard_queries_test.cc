// Every PromQL query of the dashboards (panels and variables) run against a real
// Prometheus that scrapes a running exporter and evaluates the shipped recording
// rules: no query may fail, and each must return data, except the TLS panels:
// sip_tls_cert_expiry_timestamp_seconds lands with TLS probing, and until then the
// exporter (UDP only) has no such series, so those panels are empty today.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "alerting_files.h"
#include "harness.h"
#include "monitoring_stack.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace stx::alerting {
namespace {

constexpr const char* kLive = "edge-live";  // answered by SIPp
constexpr const char* kDead = "edge-dead";  // nothing listens: refused

// Grafana's substitutions: the chosen variable values and its interval macros for a
// 1 s scrape interval ($__rate_interval is at least four scrape intervals).
std::string substitute(std::string expr, const std::map<std::string, std::string>& vars) {
  std::map<std::string, std::string> all = vars;
  all["$__rate_interval"] = "4s";
  all["$__interval"] = "1s";
  all["$__range"] = "60s";
  for (const auto& [from, to] : all) {
    for (auto pos = expr.find(from); pos != std::string::npos; pos = expr.find(from, pos + to.size())) {
      expr.replace(pos, from.size(), to);
    }
  }
  if (expr.find('$') != std::string::npos) throw std::runtime_error("unsubstituted variable in: " + expr);
  return expr;
}

class DashboardQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    peer_ = std::make_unique<it::SippPeer>(dir_.path(), "options_200.xml");
    it::ExporterConfigSpec spec;
    spec.targets = {
        {kLive, peer_->uri(), {{"carrier", "acme"}, {"site", "nyc"}}, {}},
        {kDead, "sip:127.0.0.1:" + std::to_string(it::free_udp_port()), {{"carrier", "acme"}, {"site", "lax"}}, {}},
    };
    exporter_ = std::make_unique<it::Exporter>(dir_.path(), spec, "info");
    prometheus_ = std::make_unique<PrometheusServer>(
        dir_.path(), PrometheusServer::Options{exporter_->port(), rules_file(), std::nullopt});
    // Data exists once both targets have a verdict and Prometheus holds several
    // scrapes (rates need two samples; the recording rules run every second).
    bool ready = it::wait_until(60s, [&] {
      return !prometheus_->query("count(sip_target_last_change_timestamp_seconds > 0) == 2").empty() &&
             !prometheus_->query("count_over_time(up{job=\"sip_trunk_exporter\"}[1m]) >= 8").empty();
    }, 250ms);
    ASSERT_TRUE(ready) << "Prometheus did not collect data from the exporter within 60 s";
  }

  // Runs every query of `dashboard` with `vars`; `want_data` also requires results.
  void run_dashboard(const std::string& file, const std::map<std::string, std::string>& vars, bool want_data) {
    SCOPED_TRACE(file + " with $target=" + vars.at("$target") + " $carrier=" + vars.at("$carrier") +
                 " $site=" + vars.at("$site"));
    json d = load_json(dashboards_dir() / file);
    auto& prom = *prometheus_;
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    int queries = 0;

    for (const auto& v : d.at("templating").at("list")) {
      if (v.at("type") != "query") continue;
      // label_values(SELECTOR, LABEL) is Grafana's call of the label-values API.
      std::string q = v.at("query");
      auto open = q.find('('), comma = q.rfind(','), close = q.rfind(')');
      std::string selector = substitute(q.substr(open + 1, comma - open - 1), vars);
      std::string label = q.substr(comma + 1, close - comma - 1);
      label.erase(0, label.find_first_not_of(' '));
      json body = prom.api("label/" + label + "/values?match[]=" + url_encode(selector));
      ++queries;
      EXPECT_EQ(body.value("status", ""), "success") << "variable " << v.at("name") << ": " << body.dump();
      if (want_data) {
        EXPECT_FALSE(body["data"].empty()) << "variable " << v.at("name") << " lists nothing";
      }
    }

    for (const auto& panel : d.at("panels")) {
      std::string title = panel.at("title");
      for (const auto& t : panel.at("targets")) {
        std::string expr = substitute(t.at("expr"), vars);
        SCOPED_TRACE(title + " / " + t.at("refId").get<std::string>() + ": " + expr);
        std::string call = t.value("instant", false)
                               ? "query?query=" + url_encode(expr) + "&time=" + std::to_string(now)
                               : "query_range?query=" + url_encode(expr) + "&start=" + std::to_string(now - 30) +
                                     "&end=" + std::to_string(now) + "&step=1";
        json body = prom.api(call);
        ++queries;
        ASSERT_EQ(body.value("status", ""), "success") << body.dump();
        EXPECT_FALSE(body.contains("warnings")) << body.dump();
        bool tls = expr.find("sip_tls_cert_expiry_timestamp_seconds") != std::string::npos;
        if (want_data && !tls) {
          EXPECT_FALSE(body["data"]["result"].empty()) << "no data";
        }
      }
    }
    EXPECT_GT(queries, 10);
  }

  it::TempDir dir_{"stx-dashboard-queries"};
  std::unique_ptr<it::SippPeer> peer_;
  std::unique_ptr<it::Exporter> exporter_;
  std::unique_ptr<PrometheusServer> prometheus_;
};

// One stack for all dashboards and variable choices (it takes seconds to fill).
TEST_F(DashboardQueriesTest, EveryPanelAndVariableQueryRunsAndReturnsData) {
  run_dashboard("sip-trunk-overview.json", {{"$carrier", ".*"}, {"$site", ".*"}, {"$target", ".*"}}, true);
  run_dashboard("sip-trunk-overview.json", {{"$carrier", "acme"}, {"$site", "nyc"}, {"$target", ".*"}}, true);
  run_dashboard("sip-trunk-target.json", {{"$carrier", ".*"}, {"$site", ".*"}, {"$target", kLive}}, true);
  // A target that never answered has no RTTs or codes to show; its queries must
  // still be valid.
  run_dashboard("sip-trunk-target.json", {{"$carrier", ".*"}, {"$site", ".*"}, {"$target", kDead}}, false);
}

}  // namespace
}  // namespace stx::alerting
