// Rules and dashboards name only metrics that exist: what the real exporter exposes
// (scraped while it probes a SIPp peer over UDP, Kamailio over TLS with keepalives and
// a Kamailio registrar with method = "register" and "invite", so response, RTT, address,
// TLS, keepalive, registered-contacts and post-dial delay series exist), what the recording
// rules produce, what /probe answers for a TLS and a refused probe, Prometheus's own `up`,
// and any metric announced for a later change.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <string>

#include "alerting_files.h"
#include "certs.h"
#include "harness.h"
#include "promql_names.h"
#include "transport_peers.h"

using namespace std::chrono_literals;

namespace stx::alerting {
namespace {

// Announced metric -> why it may be named before the exporter exposes it (none now:
// every metric the rules and dashboards name has landed).
const std::map<std::string, std::string> kAnnounced = {};

// Sample names and the families of "# TYPE" lines (empty families included);
// a histogram family stands for its _bucket, _sum and _count series.
std::set<std::string> names_in(const it::Exposition& e) {
  std::set<std::string> names;
  for (const auto& s : e.samples()) names.insert(s.name);
  static const std::regex type_re(R"(^# TYPE (\S+) (\S+))");
  for (const auto& line : it::split_lines(e.text())) {
    std::smatch m;
    if (!std::regex_search(line, m, type_re)) continue;
    names.insert(m[1]);
    if (m[2] == "histogram") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(m[1].str() + suffix);
    }
  }
  return names;
}

class ExposedMetricsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    it::TempDir dir("stx-exposed");
    it::SippPeer peer(dir.path(), "options_200.xml");
    it::TestCertificates certs;
    it::KamailioTransports kamailio(dir.path(), certs);
    // tests/integration/peers/kamailio_registrar.cfg: digest with the password s3cret.
    it::KamailioPeer registrar(dir.path(), "kamailio_registrar.cfg", 0, "registrar",
                               {{"@AUTH_ALGORITHM@", "MD5"}, {"@QOP_FLAGS@", "1"}});
    it::ExporterConfigSpec spec;
    spec.targets = {
        {"edge-live", peer.uri(), {{"carrier", "acme"}, {"site", "nyc"}}, {}},
        {"edge-tls",
         "sip:127.0.0.1:" + std::to_string(kamailio.ports().tls4) + ";transport=tls",
         {{"carrier", "acme"}, {"site", "ams"}},
         {{"tls_ca_file", it::toml_string(certs.ca().cert().string())},
          {"keepalive_interval", "\"5s\""}}},
        {"pbx-reg",
         registrar.uri(),
         {{"carrier", "acme"}, {"site", "par"}},
         {{"method", "\"register\""},
          {"aor", it::toml_string("sip:pbx01@127.0.0.1")},
          {"auth_user", it::toml_string("pbx01")},
          {"auth_password", it::toml_string("s3cret")}}},
        // A test call target: its post-dial delay histogram exists from the start.
        {"test-call", registrar.uri(), {{"carrier", "acme"}, {"site", "par"}},
         {{"method", "\"invite\""}, {"ruri_user", "\"echo\""}}},
    };
    spec.extra_toml =
        "\n[module.tls]\ntls_ca_file = " + it::toml_string(certs.ca().cert().string()) +
        "\ntimeout = \"2s\"\n";
    it::Exporter exporter(dir.path(), spec, "info");
    // prometheus-cpp leaves families without series out, so wait for each kind.
    auto scraped = exporter.scrape_until(30s, [](const it::Exposition& e) {
      return e.sum("sip_probe_responses_total", {{"target", "edge-live"}}) > 0 &&
             e.sum("sip_probe_responses_total", {{"target", "edge-tls"}}) > 0 &&
             e.sum("sip_tls_info") > 0 &&
             e.sum("sip_keepalives_total", {{"result", "success"}}) > 0 &&
             e.value("sip_target_registered_contacts", {{"target", "pbx-reg"}}).has_value();
    });
    ASSERT_TRUE(scraped.ok)
        << "no responses from SIPp and Kamailio, TLS info, keepalive pongs or a registrar's "
           "2xx in 30 s:\n"
        << scraped.last.text();
    exposed_ = names_in(scraped.last);
    // What a /probe job scrapes: a TLS probe that succeeds and a UDP one that fails.
    const std::string tls_probe = "/probe?module=tls&target=sip%3A127.0.0.1%3A" +
                                  std::to_string(kamailio.ports().tls4) + "%3Btransport%3Dtls";
    const std::string refused_probe =
        "/probe?target=sip%3A127.0.0.1%3A" + std::to_string(it::free_udp_port());
    for (const std::string& path : {tls_probe, refused_probe}) {
      const it::HttpResponse r = exporter.get(path);
      ASSERT_EQ(r.status, 200) << path << ": " << r.body;
      probe_exposed_.merge(names_in(it::Exposition::parse(r.body)));
    }
    exposed_.insert(probe_exposed_.begin(), probe_exposed_.end());
  }

  std::set<std::string> allowed() {
    std::set<std::string> names = exposed_;
    names.insert("up");  // Prometheus's scrape health of the exporter
    for (const auto& [name, why] : kAnnounced) names.insert(name);
    it::TempDir dir("stx-exposed-rules");
    for (const auto& rule : all_rules(load_yaml(rules_file(), dir.path()))) {
      if (rule.contains("record")) names.insert(rule.at("record").get<std::string>());
    }
    return names;
  }

  void expect_known(const std::set<std::string>& names, const std::string& where) {
    static const auto known = allowed();
    for (const auto& n : names) {
      EXPECT_EQ(known.count(n), 1u) << where << " names " << n
                                    << ", which the exporter does not expose and no recording rule produces";
    }
  }

  static std::set<std::string> exposed_;
  static std::set<std::string> probe_exposed_;  // by /probe
};

std::set<std::string> ExposedMetricsTest::exposed_;
std::set<std::string> ExposedMetricsTest::probe_exposed_;

TEST_F(ExposedMetricsTest, TheScrapeSawTheExportersMetricFamilies) {
  for (const char* name :
       {"sip_target_up", "sip_probes_total", "sip_probe_responses_total",
        "sip_probe_rtt_seconds_bucket", "sip_target_info", "sip_address_up",
        "sip_address_last_rtt_seconds", "sip_tls_cert_expiry_timestamp_seconds", "sip_tls_info",
        "sip_keepalives_total", "sip_exporter_config_last_reload_successful",
        // Issue 16's health states and Retry-After pause, which the alerts and dashboards use.
        "sip_target_state", "sip_address_state", "sip_target_retry_after_seconds",
        "sip_address_retry_after_timestamp_seconds",
        // A register target's bindings, which SipTrunkRegistrationMissing and the target
        // dashboard show.
        "sip_target_registered_contacts",
        // A test call's post-dial delay, which the target dashboard shows.
        "sip_invite_post_dial_delay_seconds_bucket"}) {
    EXPECT_EQ(exposed_.count(name), 1u) << name;
  }
}

TEST_F(ExposedMetricsTest, TheProbesSawTheProbeFamilies) {
  for (const char* name : {"sip_probe_success", "sip_probe_failure_info", "sip_probe_address_info",
                           "sip_probe_round_trip_seconds", "sip_probe_tls_version_info",
                           "sip_probe_ssl_earliest_cert_expiry"}) {
    EXPECT_EQ(probe_exposed_.count(name), 1u) << name;
  }
}

TEST_F(ExposedMetricsTest, RulesNameOnlyExistingMetrics) {
  it::TempDir dir("stx-exposed-rules");
  // PromQL inside annotation templates sits in backquoted printf formats.
  static const std::regex template_query("`([^`]*)`");
  for (const auto& rule : all_rules(load_yaml(rules_file(), dir.path()))) {
    std::string name = rule.value("alert", rule.value("record", ""));
    expect_known(metric_names(rule.at("expr").get<std::string>()), "rule " + name);
    const json annotations = rule.value("annotations", json::object());
    for (const auto& [key, text] : annotations.items()) {
      std::string s = text;
      for (std::sregex_iterator m(s.begin(), s.end(), template_query), end; m != end; ++m) {
        expect_known(metric_names((*m)[1].str()), "annotation " + key + " of " + name);
      }
    }
  }
}

TEST_F(ExposedMetricsTest, DashboardsNameOnlyExistingMetrics) {
  for (const auto& file : dashboard_files()) {
    json d = load_json(file);
    std::string where = file.filename().string();
    for (const auto& panel : d.at("panels")) {
      for (const auto& t : panel.at("targets")) {
        expect_known(metric_names(t.at("expr").get<std::string>()), where + " panel " + panel.at("title").get<std::string>());
      }
    }
    for (const auto& v : d.at("templating").at("list")) {
      if (v.at("type") != "query") continue;
      expect_known(label_values_metric_names(v.at("query").get<std::string>()),
                   where + " variable " + v.at("name").get<std::string>());
    }
  }
}

}  // namespace
}  // namespace stx::alerting
