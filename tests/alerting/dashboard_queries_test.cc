// Every PromQL query of the dashboards (panels and variables) run against a real
// Prometheus that scrapes a running exporter and evaluates the shipped recording
// rules: no query may fail, and each must return data where the target has it (a
// UDP target has no TLS series; a TLS target, answered by Kamailio, has them all).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "alerting_files.h"
#include "certs.h"
#include "dashboard_queries.h"
#include "harness.h"
#include "monitoring_stack.h"
#include "transport_peers.h"

using namespace std::chrono_literals;

namespace stx::alerting {
namespace {

constexpr const char* kLive = "edge-live";  // answered by SIPp
constexpr const char* kDead = "edge-dead";  // nothing listens: refused
constexpr const char* kTls = "edge-tls";    // Kamailio over TLS, certificate from the test CA

class DashboardQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    peer_ = std::make_unique<it::SippPeer>(dir_.path(), "options_200.xml");
    kamailio_ = std::make_unique<it::KamailioTransports>(dir_.path(), certs_);
    it::ExporterConfigSpec spec;
    spec.targets = {
        {kLive, peer_->uri(), {{"carrier", "acme"}, {"site", "nyc"}}, {}},
        {kDead,
         "sip:127.0.0.1:" + std::to_string(it::free_udp_port()),
         {{"carrier", "acme"}, {"site", "lax"}},
         {}},
        {kTls,
         "sip:127.0.0.1:" + std::to_string(kamailio_->ports().tls4) + ";transport=tls",
         {{"carrier", "acme"}, {"site", "ams"}},
         {{"tls_ca_file", it::toml_string(certs_.ca().cert().string())}}},
    };
    spec.extra_toml =
        "\n[module.tls]\ntls_ca_file = " + it::toml_string(certs_.ca().cert().string()) +
        "\ntimeout = \"2s\"\n";
    exporter_ = std::make_unique<it::Exporter>(dir_.path(), spec, "info");
    // A /probe job as README shows it, on the TLS peer (every /probe series) and on a
    // closed port (a failure reason).
    PrometheusServer::Options options;
    options.exporter_port = exporter_->port();
    options.rules_file = rules_file();
    options.probe_targets = {spec.targets[2].uri, spec.targets[1].uri};
    options.probe_module = "tls";
    prometheus_ = std::make_unique<PrometheusServer>(dir_.path(), options);
    // Data exists once every target has a verdict and Prometheus holds several
    // scrapes (rates need two samples; the recording rules run every second).
    bool ready = it::wait_until(
        60s,
        [&] {
          return !prometheus_->query("count(sip_target_last_change_timestamp_seconds > 0) == 3")
                      .empty() &&
                 !prometheus_
                      ->query(
                          "count(count_over_time(sip_probe_success{job=\"sip_probe\"}[1m]) >= 4) "
                          "== 2")
                      .empty() &&
                 !prometheus_->query("count_over_time(up{job=\"sip_trunk_exporter\"}[1m]) >= 8")
                      .empty();
        },
        250ms);
    ASSERT_TRUE(ready) << "Prometheus did not collect data from the exporter within 60 s";
  }

  void run_dashboard(const std::string& file, const std::map<std::string, std::string>& vars,
                     bool want_data, const std::set<std::string>& may_be_empty = {}) {
    run_dashboard_queries([&](const std::string& call) { return prometheus_->api(call); }, file,
                          vars, want_data, may_be_empty);
  }

  it::TempDir dir_{"stx-dashboard-queries"};
  it::TestCertificates certs_;
  std::unique_ptr<it::SippPeer> peer_;
  std::unique_ptr<it::KamailioTransports> kamailio_;
  std::unique_ptr<it::Exporter> exporter_;
  std::unique_ptr<PrometheusServer> prometheus_;
};

// One stack for all dashboards and variable choices (it takes seconds to fill).
TEST_F(DashboardQueriesTest, EveryPanelAndVariableQueryRunsAndReturnsData) {
  // The exporter's instance as the `instance` variable lists it (one value).
  json build = prometheus_->query("sip_exporter_build_info{job=\"sip_trunk_exporter\"}");
  ASSERT_EQ(build.size(), 1u) << build.dump();
  const std::string instance = build.at(0).at("metric").at("instance");
  // "All" jobs is the one listed; "All" instances is the allValue .*.
  const std::map<std::string, std::string> all = {
      {"$job", "sip_trunk_exporter"}, {"$instance", ".*"},    {"$carrier", ".*"}, {"$site", ".*"},
      {"$probe_job", "sip_probe"},    {"$probe_target", ".*"}};
  auto with = [&](std::map<std::string, std::string> vars) {
    vars.insert(all.begin(), all.end());  // keeps the values given
    return vars;
  };
  run_dashboard("sip-trunk-overview.json", with({{"$target", ".*"}}), true);
  run_dashboard("sip-trunk-overview.json",
                with({{"$instance", instance}, {"$carrier", "acme"}, {"$site", "nyc"}, {"$target", ".*"}}), true);
  // A UDP target has no TLS series; the TLS target has every series but those of
  // other probe methods (these targets probe with OPTIONS: no register bindings, no
  // INVITE post-dial delay).
  run_dashboard("sip-trunk-target.json", with({{"$target", kLive}}), true,
                {"sip_tls_", "sip_target_registered_contacts", "sip_invite_"});
  run_dashboard("sip-trunk-target.json", with({{"$instance", instance}, {"$target", kTls}}), true,
                {"sip_target_registered_contacts", "sip_invite_"});
  // A target that never answered has no RTTs or codes to show; its queries must
  // still be valid.
  run_dashboard("sip-trunk-target.json", with({{"$target", kDead}}), false);
}

}  // namespace
}  // namespace stx::alerting
