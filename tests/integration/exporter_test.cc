// The exporter as a whole: several targets at once, the exposition format
// (checked by promtool), the HTTP endpoints and the command line.
#include <signal.h>

#include <cstring>
#include <map>
#include <regex>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness.h"

namespace stx::it {
namespace {

using ::testing::HasSubstr;

class ExporterTest : public ::testing::Test {
 protected:
  TempDir tmp_;
};

std::string regex_escape(std::string_view s) {
  static const std::string special = R"(\^$.|?*+()[]{})";
  std::string out;
  for (char c : s) {
    if (special.find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

// 8. A SIPp target, a Kamailio target and a dead port in one exporter.
TEST_F(ExporterTest, SideBySideTargetsAndValidExposition) {
  SippPeer sipp(tmp_.path(), "options_200.xml");
  KamailioPeer kam(tmp_.path(), "kamailio.cfg");
  const auto dead_port = free_udp_port();
  ExporterConfigSpec spec;
  spec.targets = {
      {"sipp", sipp.uri(), {{"carrier", "demo"}}, {}},
      {"kam", kam.uri(), {{"carrier", "kamco"}}, {}},
      // Label names at the edges of what the config accepts (case, a leading underscore,
      // names that merely start like the exporter's own), with values that need escaping:
      // promtool must still accept every line.
      {"dead",
       "sip:127.0.0.1:" + std::to_string(dead_port),
       {{"carrier", "nobody"},
        {"_x", "quote \" and backslash \\"},
        {"Carrier", "Gro\xc3\x9f & Co"},
        {"le_x", "1"},
        {"code_", "503"},
        {"target_group", "t"},
        {"instance_id", "i"},
        {"z9", ""}},
       {}},
  };
  Exporter exporter(tmp_.path(), spec);

  auto s = exporter.scrape_until(10s, [&](const Exposition& e) {
    return e.value("sip_target_up", {{"target", "sipp"}}) == 1.0 &&
           e.value("sip_target_up", {{"target", "kam"}}) == 1.0 &&
           e.value("sip_target_up", {{"target", "dead"}}) == 0.0 &&
           e.value("sip_probe_failures_total", {{"target", "dead"}, {"reason", "refused"}})
                   .value_or(0) >= 1 &&
           !e.find("sip_target_info", {{"target", "kam"}}).empty();
  });
  ASSERT_TRUE(s.ok) << s.last.grep("sip_target_up") << s.last.grep("sip_probe_failures_total");

  // Fetch once more, raw, so promtool sees exactly what a scraper sees.
  auto res = exporter.get("/metrics");
  ASSERT_EQ(res.status, 200);
  EXPECT_THAT(res.header("Content-Type").value_or(""), HasSubstr("text/plain"));
  const auto e = Exposition::parse(res.body);

  // Per-target values, all at once.
  EXPECT_EQ(e.value("sip_target_last_status_code", {{"target", "sipp"}}), 200.0);
  EXPECT_EQ(e.value("sip_target_last_status_code", {{"target", "kam"}}), 200.0);
  EXPECT_EQ(e.value("sip_target_last_status_code", {{"target", "dead"}}), 0.0);
  EXPECT_LT(e.value("sip_target_last_rtt_seconds", {{"target", "sipp"}}).value_or(1), 0.5);
  EXPECT_LT(e.value("sip_target_last_rtt_seconds", {{"target", "kam"}}).value_or(1), 0.5);
  EXPECT_EQ(
      e.value("sip_probe_failures_total", {{"target", "dead"}, {"reason", "timeout"}}).value_or(0),
      0.0);
  auto sipp_info = e.find("sip_target_info", {{"target", "sipp"}});
  ASSERT_EQ(sipp_info.size(), 1u);
  EXPECT_EQ(sipp_info[0].labels["server"], "SIPp-demo");
  auto kam_info = e.find("sip_target_info", {{"target", "kam"}});
  ASSERT_EQ(kam_info.size(), 1u);
  EXPECT_THAT(kam_info[0].labels["server"], HasSubstr("kamailio"));

  // promtool's linter accepts the whole exposition.
  auto check = promtool_check_metrics(res.body, tmp_.path());
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_EQ(check.output, "") << "promtool check metrics complained";

  // Every contract metric with its type.
  const std::pair<const char*, const char*> families[] = {
      {"sip_target_up", "gauge"},
      {"sip_probes_total", "counter"},
      {"sip_probe_responses_total", "counter"},
      {"sip_probe_failures_total", "counter"},
      {"sip_probe_rtt_seconds", "histogram"},
      {"sip_target_last_rtt_seconds", "gauge"},
      {"sip_target_last_status_code", "gauge"},
      {"sip_target_consecutive_failures", "gauge"},
      {"sip_target_state_changes_total", "counter"},
      {"sip_target_last_change_timestamp_seconds", "gauge"},
      {"sip_target_info", "gauge"},
      {"sip_exporter_build_info", "gauge"},
      {"sip_exporter_unmatched_responses_total", "counter"},
      {"sip_exporter_probes_in_flight", "gauge"},
      {"sip_exporter_schedule_lateness_seconds", "histogram"},
  };
  for (const auto& [family, type] : families) {
    EXPECT_EQ(e.type(family), type) << "# TYPE of " << family;
    EXPECT_TRUE(e.has_help(family)) << "# HELP of " << family;
  }

  auto build = e.find("sip_exporter_build_info");
  ASSERT_EQ(build.size(), 1u) << e.grep("build_info");
  EXPECT_EQ(build[0].value, 1.0);
  EXPECT_EQ(build[0].labels["version"], project_version());
  EXPECT_FALSE(build[0].labels["revision"].empty());
  EXPECT_TRUE(e.value("sip_exporter_unmatched_responses_total")) << e.grep("unmatched");
  auto in_flight = e.value("sip_exporter_probes_in_flight");
  ASSERT_TRUE(in_flight);
  EXPECT_GE(*in_flight, 0.0);
  EXPECT_LE(*in_flight, 3.0);
  // Every scheduled start so far was observed; none can be later than the 1 s bucket allows
  // on an idle loop with three targets.
  auto late = e.value("sip_exporter_schedule_lateness_seconds_count");
  ASSERT_TRUE(late) << e.grep("lateness");
  EXPECT_GE(*late, 3.0);

  // Per-target series carry the target's labels.
  const std::map<std::string, std::string> carrier = {
      {"sipp", "demo"}, {"kam", "kamco"}, {"dead", "nobody"}};
  for (const char* name : {"sip_target_up", "sip_probes_total", "sip_target_last_status_code",
                           "sip_target_consecutive_failures", "sip_target_info"}) {
    for (const auto& [target, c] : carrier) {
      EXPECT_FALSE(e.find(name, {{"target", target}, {"carrier", c}}).empty())
          << name << " for " << target << ":\n"
          << e.grep(name);
    }
  }
  const std::regex per_target("sip_(target|probe)_.*");
  for (const auto& sample : e.samples()) {
    if (!std::regex_match(sample.name, per_target)) continue;
    auto it = sample.labels.find("target");
    ASSERT_NE(it, sample.labels.end()) << sample.name << " without a target label";
    auto want = carrier.find(it->second);
    ASSERT_NE(want, carrier.end()) << "unknown target " << it->second;
    auto got = sample.labels.find("carrier");
    EXPECT_TRUE(got != sample.labels.end() && got->second == want->second)
        << sample.name << "{target=" << it->second << "} lacks carrier=" << want->second;
  }
}

// 9. HTTP endpoints.
TEST_F(ExporterTest, HttpEndpoints) {
  ExporterConfigSpec spec;
  spec.targets = {{"dead", "sip:127.0.0.1:" + std::to_string(free_udp_port()), {}, {}}};
  Exporter exporter(tmp_.path(), spec);

  auto index = exporter.get("/");
  EXPECT_EQ(index.status, 200);
  EXPECT_THAT(index.header("Content-Type").value_or(""), HasSubstr("text/html"));
  // An absolute or a relative link that resolves to /metrics from /.
  EXPECT_THAT(index.body, ::testing::ContainsRegex("<a [^>]*href=[\"']?(/|\\./)?metrics[\"' >]"));

  auto healthy = exporter.get("/-/healthy");
  EXPECT_EQ(healthy.status, 200);

  auto missing = exporter.get("/no/such/page");
  EXPECT_EQ(missing.status, 404);

  auto plain = exporter.get("/metrics");
  ASSERT_EQ(plain.status, 200);
  EXPECT_NE(plain.header("Content-Encoding").value_or(""), "gzip");
  EXPECT_THAT(plain.body, HasSubstr("sip_target_up"));

  auto gz = exporter.get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.header("Content-Encoding"), "gzip");
  ASSERT_GE(gz.body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz.body[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz.body[1]), 0x8b);
  const std::string text = gunzip(gz.body, tmp_.path());
  auto e = Exposition::parse(text);
  EXPECT_TRUE(e.value("sip_target_up", {{"target", "dead"}}).has_value()) << "gunzipped body:\n"
                                                                          << text.substr(0, 2000);
  EXPECT_EQ(e.type("sip_target_up"), "gauge");
}

// 10. Command line: --config.check, --version, signals.
TEST_F(ExporterTest, ConfigCheckAcceptsValidConfig) {
  ExporterConfigSpec spec;
  spec.targets = {{"a", "sip:127.0.0.1:5060", {{"carrier", "demo"}}, {}}};
  auto path = tmp_ / "valid.toml";
  write_file(path, render_config(spec));
  auto r =
      run_command("config-check",
                  {exporter_binary().string(), "--config.check", "--config.file=" + path.string()},
                  tmp_.path(), 10s);
  EXPECT_EQ(r.exit_code, 0) << describe_wait_status(r.status) << "\nstdout:\n"
                            << r.out << "\nstderr:\n"
                            << r.err;
}

struct InvalidConfig {
  const char* what;
  const char* toml;
  int line;  // line the error must point at
};

TEST_F(ExporterTest, ConfigCheckRejectsInvalidConfigWithLocation) {
  const InvalidConfig cases[] = {
      {"TOML syntax error (unterminated string)",
       "[defaults]\n"
       "interval = \"1s\n"
       "\n"
       "[[target]]\n"
       "name = \"a\"\n"
       "uri = \"sip:127.0.0.1:5060\"\n",
       2},
      {"interval below 1s",
       "[defaults]\n"
       "timeout = \"100ms\"\n"
       "interval = \"500ms\"\n"
       "\n"
       "[[target]]\n"
       "name = \"a\"\n"
       "uri = \"sip:127.0.0.1:5060\"\n",
       3},
      {"unknown healthy code class",
       "[[target]]\n"
       "name = \"a\"\n"
       "uri = \"sip:127.0.0.1:5060\"\n"
       "healthy_codes = [\"2xx\", \"banana\"]\n",
       4},
  };
  int i = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto path = tmp_ / ("invalid-" + std::to_string(i++) + ".toml");
    write_file(path, c.toml);
    auto r = run_command(
        "config-check",
        {exporter_binary().string(), "--config.check", "--config.file=" + path.string()},
        tmp_.path(), 10s);
    EXPECT_EQ(r.exit_code, 1) << describe_wait_status(r.status) << "\nstderr:\n" << r.err;
    EXPECT_THAT(r.err, ::testing::ContainsRegex(regex_escape(path.string()) + ":" +
                                                std::to_string(c.line) + ":[0-9]+"))
        << "stderr must name file:line:col";
  }
}

TEST_F(ExporterTest, VersionFlagPrintsVersion) {
  auto r = run_command("version", {exporter_binary().string(), "--version"}, tmp_.path(), 10s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out + r.err, HasSubstr(project_version()));
}

TEST_F(ExporterTest, SigtermAndSigintExitCleanly) {
  for (int sig : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(::strsignal(sig));
    ExporterConfigSpec spec;
    spec.targets = {{"dead", "sip:127.0.0.1:" + std::to_string(free_udp_port()), {}, {}}};
    Exporter exporter(tmp_.path(), spec, "info", sig == SIGTERM ? "exporter-term" : "exporter-int");
    ASSERT_EQ(exporter.get("/-/healthy").status, 200);
    const auto start = Clock::now();
    exporter.process().signal(sig);
    auto status = exporter.process().wait_exit(5s);
    ASSERT_TRUE(status) << "still running 5 s after the signal";
    EXPECT_LT(Clock::now() - start, 3s);
    EXPECT_EQ(exporter.process().exit_code(), 0) << describe_wait_status(*status);
    EXPECT_THROW(http_get(exporter.port(), "/-/healthy", {}, 1s), std::runtime_error)
        << "still serving HTTP after exiting";
  }
}

}  // namespace
}  // namespace stx::it
