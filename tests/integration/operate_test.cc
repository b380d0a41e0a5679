// Operating the exporter: /probe (blackbox style), live reload, readiness.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>

#include "harness.h"

namespace stx::it {
namespace {

using ::testing::HasSubstr;

std::string closed_udp_uri() { return "sip:127.0.0.1:" + std::to_string(free_udp_port()); }

std::string probe_path(const std::string& uri, const std::string& extra = "") {
  std::string encoded;
  for (char c : uri) encoded += c == ':' ? std::string("%3A") : std::string(1, c);
  return "/probe?target=" + encoded + extra;
}

class OperateTest : public ::testing::Test {
 protected:
  TempDir tmp_;
};

TEST_F(OperateTest, ProbeEndpointReportsOneProbeInAFreshRegistry) {
  SippPeer sipp(tmp_.path(), "options_200.xml");
  ExporterConfigSpec spec;  // no background targets: /probe must work on its own
  spec.extra_toml = "\n[module.only_404]\nhealthy_codes = [\"404\"]\ntimeout = \"2s\"\n";
  Exporter exporter(tmp_.path(), spec);

  HttpResponse up = exporter.get(probe_path(sipp.uri()));
  ASSERT_EQ(up.status, 200) << up.body;
  Exposition e = Exposition::parse(up.body);
  EXPECT_EQ(e.value("sip_probe_success"), 1.0) << up.body;
  EXPECT_EQ(e.value("sip_probe_status_code"), 200.0);
  ASSERT_TRUE(e.value("sip_probe_duration_seconds"));
  EXPECT_GT(*e.value("sip_probe_duration_seconds"), 0.0);
  EXPECT_EQ(e.find("sip_target_up").size(), 0u) << "only this probe's series";
  const CheckResult lint = promtool_check_metrics(up.body, tmp_.path());
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  EXPECT_EQ(lint.output, "");

  HttpResponse down = exporter.get(probe_path(closed_udp_uri()));
  ASSERT_EQ(down.status, 200) << down.body;
  e = Exposition::parse(down.body);
  EXPECT_EQ(e.value("sip_probe_success"), 0.0);
  EXPECT_EQ(e.value("sip_probe_status_code"), 0.0);

  // A module decides what counts: 200 is not healthy for only_404.
  HttpResponse strict = exporter.get(probe_path(sipp.uri(), "&module=only_404"));
  EXPECT_EQ(Exposition::parse(strict.body).value("sip_probe_success"), 0.0) << strict.body;

  // The background series are untouched by /probe.
  EXPECT_EQ(exporter.scrape().find("sip_probes_total").size(), 0u);
}

// What the probe saw, beyond its verdict: the address (an IP literal: no DNS), RTT,
// transmissions and, when it failed, why.
TEST_F(OperateTest, ProbeEndpointSaysWhatTheProbeSawAndWhyItFailed) {
  SippPeer sipp(tmp_.path(), "options_200.xml");
  ExporterConfigSpec spec;
  Exporter exporter(tmp_.path(), spec);

  HttpResponse up = exporter.get(probe_path(sipp.uri()));
  ASSERT_EQ(up.status, 200) << up.body;
  Exposition e = Exposition::parse(up.body);
  const std::vector<Sample> address = e.find("sip_probe_address_info");
  ASSERT_EQ(address.size(), 1u) << up.body;
  EXPECT_EQ(address[0].labels, (Labels{{"address", "127.0.0.1:" + std::to_string(sipp.port())},
                                       {"transport", "udp"}}));
  EXPECT_EQ(address[0].value, 1.0);
  EXPECT_EQ(e.value("sip_probe_ip_protocol"), 4.0);
  EXPECT_EQ(e.value("sip_probe_dns_lookup_time_seconds"), 0.0) << "an IP literal needs no DNS";
  EXPECT_EQ(e.value("sip_probe_transmissions"), 1.0);
  const auto rtt = e.value("sip_probe_round_trip_seconds");
  ASSERT_TRUE(rtt) << up.body;
  EXPECT_GT(*rtt, 0.0);
  EXPECT_LE(*rtt, *e.value("sip_probe_duration_seconds"));
  EXPECT_TRUE(e.find("sip_probe_failure_info").empty()) << up.body;
  EXPECT_TRUE(e.find("sip_probe_tls_version_info").empty()) << "no TLS over UDP";
  CheckResult lint = promtool_check_metrics(up.body, tmp_.path());
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  EXPECT_EQ(lint.output, "");

  const std::string closed = closed_udp_uri();
  HttpResponse down = exporter.get(probe_path(closed));
  ASSERT_EQ(down.status, 200) << down.body;
  e = Exposition::parse(down.body);
  const std::vector<Sample> why = e.find("sip_probe_failure_info");
  ASSERT_EQ(why.size(), 1u) << down.body;
  EXPECT_EQ(why[0].labels, (Labels{{"reason", "refused"}}));
  EXPECT_EQ(why[0].value, 1.0);
  EXPECT_EQ(e.value("sip_probe_round_trip_seconds"), 0.0);
  EXPECT_EQ(
      e.value("sip_probe_address_info", {{"address", closed.substr(4)}, {"transport", "udp"}}), 1.0)
      << down.body;
  lint = promtool_check_metrics(down.body, tmp_.path());
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  EXPECT_EQ(lint.output, "");
}

TEST_F(OperateTest, ProbeEndpointDebugAndErrors) {
  SippPeer sipp(tmp_.path(), "options_200.xml");
  Exporter exporter(tmp_.path(), ExporterConfigSpec{});

  HttpResponse debug = exporter.get(probe_path(sipp.uri(), "&debug=true"));
  ASSERT_EQ(debug.status, 200);
  EXPECT_THAT(debug.body, HasSubstr("Result: success, status code 200"));
  EXPECT_THAT(debug.body, HasSubstr("--- request ---\nOPTIONS " + sipp.uri() + " SIP/2.0\r\n"));
  EXPECT_THAT(debug.body, HasSubstr("--- response ---\nSIP/2.0 200 OK\r\n"));

  HttpResponse unknown = exporter.get(probe_path(sipp.uri(), "&module=nope"));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body, "unknown module \"nope\"\n");

  HttpResponse bad = exporter.get("/probe?target=sip%3A127.0.0.1%3A99999");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("out of range"));

  EXPECT_EQ(exporter.get("/probe").status, 400);
}

TEST_F(OperateTest, ProbeEndpointHonoursTheScrapeTimeout) {
  UdpSocket silent;  // open, never answers
  ExporterConfigSpec spec;
  spec.interval = "10s";
  spec.timeout = "5s";  // the module's own timeout is longer than the scrape allows
  Exporter exporter(tmp_.path(), spec);
  const auto t0 = Clock::now();
  HttpResponse r =
      exporter.get(probe_path("sip:127.0.0.1:" + std::to_string(silent.port()), "&debug=true"),
                   {{"X-Prometheus-Scrape-Timeout-Seconds", "1.5"}});
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("Timeout: 1s\n"));  // 1.5 s minus the 0.5 s offset
  EXPECT_THAT(r.body, HasSubstr("reason timeout"));
  EXPECT_LT(took, 1.5) << "answered before Prometheus gives up";
}

TEST_F(OperateTest, BrokenReloadKeepsProbingAndGoodReloadRemovesSeries) {
  SippPeer sipp(tmp_.path(), "options_200.xml");
  ExporterConfigSpec spec;
  spec.targets = {{"sipp", sipp.uri(), {}, {}}, {"dead", closed_udp_uri(), {}, {}}};
  Exporter exporter(tmp_.path(), spec);
  const Labels sipp_t{{"target", "sipp"}};
  auto ready = exporter.scrape_until(10s, [&](const Exposition& e) {
    return e.value("sip_target_up", sipp_t) == 1.0 &&
           e.value("sip_target_consecutive_failures", {{"target", "dead"}}).value_or(0) >= 1;
  });
  ASSERT_TRUE(ready.ok) << ready.last.text();
  EXPECT_EQ(ready.last.value("sip_exporter_config_last_reload_successful"), 1.0);
  EXPECT_EQ(exporter.get("/-/ready").status, 200);

  // A broken file on SIGHUP: rejected, old config keeps probing, metric says so.
  const std::string good = read_file(exporter.config_path());
  write_file(exporter.config_path(), good + "\n[[target]]\nname = \"sipp\"\n");
  exporter.process().signal(SIGHUP);
  auto rejected = exporter.scrape_until(5s, [](const Exposition& e) {
    return e.value("sip_exporter_config_last_reload_successful") == 0.0;
  });
  ASSERT_TRUE(rejected.ok) << rejected.last.grep("reload");
  const double before = rejected.last.sum("sip_probes_total", sipp_t);
  auto still = exporter.scrape_until(
      5s, [&](const Exposition& e) { return e.sum("sip_probes_total", sipp_t) >= before + 2; });
  EXPECT_TRUE(still.ok) << "probing stopped after a rejected reload";
  EXPECT_EQ(still.last.value("sip_target_up", sipp_t), 1.0);
  EXPECT_EQ(still.last.find("sip_target_up", {{"target", "dead"}}).size(), 1u);
  EXPECT_THAT(exporter.process().stderr_text(), HasSubstr("reload failed"));

  // A good file without "dead" through POST /-/reload: its series go, sipp's history stays.
  ExporterConfigSpec only_sipp = spec;
  only_sipp.targets.pop_back();
  write_file(exporter.config_path(), render_config(only_sipp));
  const double sipp_probes = exporter.scrape().sum("sip_probes_total", sipp_t);
  const RunResult post = run_command(
      "curl-reload",
      {require_tool("curl").string(), "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
       "http://127.0.0.1:" + std::to_string(exporter.port()) + "/-/reload"},
      tmp_.path());
  EXPECT_EQ(post.out, "200") << post.err;
  const Exposition after = exporter.scrape();
  EXPECT_EQ(after.value("sip_exporter_config_last_reload_successful"), 1.0);
  EXPECT_THAT(after.text(), ::testing::Not(HasSubstr("target=\"dead\"")));
  EXPECT_GE(after.sum("sip_probes_total", sipp_t), sipp_probes) << "history kept";
  EXPECT_EQ(after.value("sip_target_up", sipp_t), 1.0) << "state kept, not unknown";
  EXPECT_EQ(after.value("sip_target_state_changes_total", sipp_t), 0.0);
}

// New RTT buckets on reload: a histogram cannot change its buckets in place, so every
// target's series start over with the new ones, and probing goes on.
TEST_F(OperateTest, AReloadWithNewRttBucketsStartsTheHistogramsOver) {
  SippPeer sipp(tmp_.path(), "options_200.xml");
  ExporterConfigSpec spec;
  spec.targets = {{"sipp", sipp.uri(), {}, {}}};
  Exporter exporter(tmp_.path(), spec);
  const Labels sipp_t{{"target", "sipp"}};
  auto answered = [&](const Exposition& e) {
    return e.value("sip_probe_rtt_seconds_count", sipp_t).value_or(0) >= 1;
  };
  ASSERT_TRUE(exporter.scrape_until(10s, answered).ok);

  ExporterConfigSpec coarse = spec;
  coarse.extra_toml = "\n[exporter]\nrtt_buckets = [0.25, 4]\n";
  write_file(exporter.config_path(), render_config(coarse));
  exporter.process().signal(SIGHUP);
  auto rebucketed = exporter.scrape_until(10s, [&](const Exposition& e) {
    return !e.find("sip_probe_rtt_seconds_bucket", {{"target", "sipp"}, {"le", "4"}}).empty() &&
           answered(e);
  });
  ASSERT_TRUE(rebucketed.ok) << rebucketed.last.grep("sip_probe_rtt_seconds_bucket");
  EXPECT_EQ(rebucketed.last.value("sip_exporter_config_last_reload_successful"), 1.0);
  EXPECT_EQ(rebucketed.last.find("sip_probe_rtt_seconds_bucket", sipp_t).size(), 3u)
      << "0.25, 4 and +Inf only";
  EXPECT_EQ(
      rebucketed.last.value("sip_probe_rtt_seconds_bucket", {{"target", "sipp"}, {"le", "4"}}),
      rebucketed.last.value("sip_probe_rtt_seconds_count", sipp_t));
}

}  // namespace
}  // namespace stx::it
