// Native histograms end to end: Debian's Prometheus with --enable-feature=native-histograms
// asks /metrics for the protobuf exposition and ingests sip_probe_rtt_seconds as a native
// histogram, while the exporter probes a SIPp peer on loopback.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "alerting_files.h"
#include "dashboard_queries.h"
#include "harness.h"
#include "monitoring_stack.h"

using namespace std::chrono_literals;

namespace stx::alerting {
namespace {

// The PromQL of every panel, rows' panels included.
std::vector<std::string> panel_queries(const json& dashboard) {
  std::vector<std::string> out;
  const std::function<void(const json&)> walk = [&](const json& panels) {
    for (const json& p : panels) {
      for (const json& t : p.value("targets", json::array())) {
        if (t.contains("expr")) out.push_back(t.at("expr"));
      }
      if (p.contains("panels")) walk(p.at("panels"));
    }
  };
  walk(dashboard.at("panels"));
  return out;
}

double value_of(const json& result) {
  return std::stod(result.at(0).at("value").at(1).get<std::string>());
}

TEST(NativeHistogram, PrometheusIngestsTheRttAsANativeHistogram) {
  it::TempDir dir("stx-native-histogram");
  it::SippPeer peer(dir.path(), "options_200.xml");
  it::ExporterConfigSpec spec;  // a probe a second
  spec.targets = {{"edge", peer.uri(), {{"carrier", "acme"}}, {}}};
  it::Exporter exporter(dir.path(), spec, "info");
  PrometheusServer::Options options;  // a scrape a second
  options.exporter_port = exporter.port();
  options.rules_file = rules_file();
  options.extra_flags = {"--enable-feature=native-histograms"};
  PrometheusServer prometheus(dir.path(), options);

  const std::string rtt = "sip_probe_rtt_seconds{job=\"sip_trunk_exporter\",target=\"edge\"}";
  json count;
  const bool ingested = it::wait_until(
      20s,
      [&] {
        count = prometheus.query("histogram_count(" + rtt + ") >= 2");
        return !count.empty();
      },
      250ms);
  ASSERT_TRUE(ingested) << "no native histogram with two RTTs within 20 s: "
                        << prometheus.query(rtt).dump() << "\n"
                        << prometheus.process().describe();
  EXPECT_GE(value_of(count), 2);

  // The sample is a histogram, not a float, and its median is a loopback RTT: above 0 and
  // under the 800 ms timeout.
  const json raw = prometheus.query(rtt);
  ASSERT_EQ(raw.size(), 1u) << raw.dump();
  EXPECT_TRUE(raw.at(0).contains("histogram")) << raw.dump();
  const json median = prometheus.query("histogram_quantile(0.5, " + rtt + ")");
  ASSERT_EQ(median.size(), 1u) << median.dump();
  EXPECT_GT(value_of(median), 0);
  EXPECT_LT(value_of(median), 0.8);
  const json sum = prometheus.query("histogram_sum(" + rtt + ")");
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_GT(value_of(sum), 0);

  // Prometheus 2.42 takes the native histogram instead of the classic buckets of the same
  // series, not beside them.
  EXPECT_TRUE(prometheus.query("sip_probe_rtt_seconds_bucket{target=\"edge\"}").empty());
  // Every other family came through the protobuf too.
  EXPECT_FALSE(prometheus.query("sip_target_up{target=\"edge\",carrier=\"acme\"} == 1").empty());
  EXPECT_FALSE(prometheus.query("sip_exporter_build_info").empty());
  EXPECT_FALSE(
      prometheus.query("process_resident_memory_bytes{job=\"sip_trunk_exporter\"}").empty());
  EXPECT_FALSE(prometheus.query("sip_exporter_schedule_lateness_seconds_count").empty());

  // The shipped SipTrunkHighRtt alert reads either kind of histogram: here its classic half
  // is empty and the native half gives the target's p95 (threshold 0 instead of 500 ms).
  std::string high_rtt;
  for (const json& rule : all_rules(load_yaml(rules_file(), dir.path()))) {
    if (rule.value("alert", "") == "SipTrunkHighRtt") high_rtt = rule.at("expr");
  }
  ASSERT_NE(high_rtt.find('>'), std::string::npos) << high_rtt;
  // rate() needs two samples in its window: the first ingest above may have been the first.
  const std::string p95_query = high_rtt.substr(0, high_rtt.rfind('>')) + ">= 0";
  json p95;
  it::wait_until(
      20s,
      [&] {
        p95 = prometheus.query(p95_query);
        return !p95.empty();
      },
      250ms);
  ASSERT_EQ(p95.size(), 1u) << p95_query << "\n" << p95.dump();
  EXPECT_EQ(p95.at(0).at("metric").value("target", ""), "edge");

  // So do the dashboards' RTT quantile panels (the heatmap shows classic buckets only).
  const std::map<std::string, std::string> vars = {{"$job", "sip_trunk_exporter"},
                                                   {"$instance", ".*"},
                                                   {"$carrier", ".*"},
                                                   {"$site", ".*"},
                                                   {"$target", "edge"}};
  int quantile_panels = 0;
  for (const char* file : {"sip-trunk-overview.json", "sip-trunk-target.json"}) {
    for (const std::string& expr : panel_queries(load_json(dashboards_dir() / file))) {
      if (expr.find("histogram_quantile") == std::string::npos ||
          expr.find("sip_probe_rtt_seconds") == std::string::npos) {
        continue;
      }
      ++quantile_panels;
      EXPECT_FALSE(prometheus.query(substitute_dashboard_variables(expr, vars)).empty())
          << file << ": " << expr;
    }
  }
  EXPECT_EQ(quantile_panels, 5);  // overview: slowest, p95; target: p50, p95, p99
}

}  // namespace
}  // namespace stx::alerting
