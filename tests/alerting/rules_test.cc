// The Prometheus rules in alerts/: rendered from their jsonnet source, clean for
// promtool, unit-tested (tests/alerting/rules_test.yml) alert by alert, and written
// in the monitoring-mixin conventions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "alerting_files.h"
#include "harness.h"
#include "tools.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace stx::alerting {
namespace {

using ::testing::HasSubstr;

// The anchors GitHub gives the headings of a Markdown file: the heading's text in
// lower case, punctuation but '-' and '_' dropped, spaces as '-', a repeated anchor
// numbered -1, -2, ... Lines in fenced code blocks are no headings.
std::set<std::string> github_anchors(const std::string& markdown) {
  std::set<std::string> anchors;
  std::map<std::string, int> seen;
  std::istringstream in(markdown);
  bool fenced = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("```", 0) == 0) fenced = !fenced;
    static const std::regex heading_re("^#{1,6} +(.*?)[ #]*$");
    std::smatch m;
    if (fenced || !std::regex_match(line, m, heading_re)) continue;
    std::string anchor;
    for (char c : m[1].str()) {
      auto u = static_cast<unsigned char>(c);
      if (std::isalnum(u) || c == '-' || c == '_') anchor += static_cast<char>(std::tolower(u));
      if (c == ' ') anchor += '-';
    }
    int n = seen[anchor]++;
    anchors.insert(n == 0 ? anchor : anchor + "-" + std::to_string(n));
  }
  return anchors;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class RulesTest : public ::testing::Test {
 protected:
  it::TempDir dir_{"stx-rules"};
};

TEST_F(RulesTest, CheckedInRulesFileIsRenderedFromTheJsonnetSource) {
  run_render_script(alerts_dir() / "render.sh", dir_.path());
  std::string fresh = it::read_file(dir_ / "sip_trunk_exporter.rules.yml");
  ASSERT_FALSE(fresh.empty());
  EXPECT_EQ(it::read_file(rules_file()), fresh)
      << "alerts/sip_trunk_exporter.rules.yml is stale: run alerts/render.sh and commit the result";
}

TEST_F(RulesTest, JsonnetSourcesAreFormatted) {
  auto jsonnetfmt = require_tool("jsonnetfmt");
  for (const auto& e : fs::directory_iterator(alerts_dir())) {
    auto ext = e.path().extension();
    if (ext != ".jsonnet" && ext != ".libsonnet") continue;
    auto r = it::run_command("jsonnetfmt", {jsonnetfmt.string(), "--test", e.path().string()},
                             dir_.path(), 30s);
    EXPECT_EQ(r.exit_code, 0) << e.path() << " is not formatted: run jsonnetfmt -i on it";
  }
}

TEST_F(RulesTest, PromtoolCheckRulesIsCleanWithAllLints) {
  auto promtool = require_tool("promtool");
  auto r = it::run_command(
      "promtool-check",
      {promtool.string(), "check", "rules", "--lint=all", "--lint-fatal", rules_file().string()},
      dir_.path(), 60s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("SUCCESS")) << r.out << r.err;
}

TEST_F(RulesTest, PromtoolUnitTestsPass) {
  auto promtool = require_tool("promtool");
  auto r = it::run_command(
      "promtool-test",
      {promtool.string(), "test", "rules", (tests_dir() / "rules_test.yml").string()}, dir_.path(),
      120s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("SUCCESS")) << r.out << r.err;
}

// Each alert must be shown firing (non-empty exp_alerts) and not firing (an empty
// one) by the promtool tests, and each recording rule's value must be checked.
TEST_F(RulesTest, UnitTestsCoverEveryAlertFiringAndNotFiringAndEveryRecordingRule) {
  json rules = load_yaml(rules_file(), dir_.path());
  json tests = load_yaml(tests_dir() / "rules_test.yml", dir_.path());

  std::set<std::string> firing, silent, exprs;
  for (const auto& t : tests.at("tests")) {
    for (const auto& a : t.value("alert_rule_test", json::array())) {
      bool empty = !a.contains("exp_alerts") || a.at("exp_alerts").empty();
      (empty ? silent : firing).insert(a.at("alertname").get<std::string>());
    }
    for (const auto& e : t.value("promql_expr_test", json::array()))
      exprs.insert(e.at("expr").get<std::string>());
  }

  int alerts = 0, records = 0;
  for (const auto& rule : all_rules(rules)) {
    if (rule.contains("alert")) {
      ++alerts;
      std::string name = rule.at("alert");
      EXPECT_EQ(firing.count(name), 1u) << name << " is never shown firing in rules_test.yml";
      EXPECT_EQ(silent.count(name), 1u) << name << " is never shown not firing in rules_test.yml";
    } else {
      ++records;
      std::string name = rule.at("record");
      bool tested = std::any_of(exprs.begin(), exprs.end(),
                                [&](const std::string& e) { return e.rfind(name, 0) == 0; });
      EXPECT_TRUE(tested) << "recording rule " << name << " has no promql_expr_test";
    }
  }
  EXPECT_GE(alerts, 12);
  EXPECT_EQ(records, 4);  // availability over 5m, 1h, 1d, 30d
}

TEST_F(RulesTest, FollowTheMixinConventions) {
  json rules = load_yaml(rules_file(), dir_.path());
  std::string runbook = it::read_file(alerts_dir() / "runbook.md");

  // One group for alerts, one for recording rules.
  ASSERT_EQ(rules.at("groups").size(), 2u);
  for (const auto& group : rules.at("groups")) {
    std::set<std::string> kinds;
    for (const auto& r : group.at("rules")) kinds.insert(r.contains("alert") ? "alert" : "record");
    EXPECT_EQ(kinds.size(), 1u) << "group " << group.at("name")
                                << " mixes alerts and recording rules";
  }

  // SipTrunk* for a trunk's alerts, SipExporter* for one about the monitor itself.
  const std::regex name_re("^Sip(Trunk|Exporter)[A-Z][A-Za-z0-9]*$");
  const std::regex record_re("^[a-z_]+:[a-z_]+:[a-z0-9_]+$");  // level:metric:operations
  const std::set<std::string> severities = {"critical", "warning", "info"};
  std::set<std::string> seen_severities;
  for (const auto& rule : all_rules(rules)) {
    if (rule.contains("record")) {
      EXPECT_TRUE(std::regex_match(rule.at("record").get<std::string>(), record_re))
          << rule.at("record");
      continue;
    }
    std::string name = rule.at("alert");
    SCOPED_TRACE(name);
    EXPECT_TRUE(std::regex_match(name, name_re))
        << "not CamelCase with the SipTrunk/SipExporter prefix";
    EXPECT_TRUE(rule.contains("for"));
    std::string severity = rule.at("labels").value("severity", "");
    EXPECT_EQ(severities.count(severity), 1u) << "severity '" << severity << "'";
    seen_severities.insert(severity);

    const json& ann = rule.at("annotations");
    for (const char* key : {"summary", "description"}) {
      // Each names what the alert is about: a target, a group's labels or an exporter.
      EXPECT_THAT(ann.value(key, ""), HasSubstr("{{ $labels.")) << key << " names no label";
    }
    std::string url = ann.value("runbook_url", "");
    auto hash = url.find('#');
    ASSERT_NE(hash, std::string::npos) << "runbook_url without a section: " << url;
    EXPECT_EQ(url.substr(hash + 1), lower(name));
    EXPECT_THAT(runbook, HasSubstr("\n## " + name + "\n"))
        << "alerts/runbook.md has no section " << name;
  }
  EXPECT_EQ(seen_severities, severities);
}

// README shows the core of SipTrunkDown as a starting point; it must be the shipped rule's.
TEST_F(RulesTest, ReadmeExampleIsTheShippedSipTrunkDown) {
  const std::string readme = it::read_file(alerts_dir().parent_path() / "README.md");
  const auto intro = readme.find("The core of the shipped `SipTrunkDown` rule");
  ASSERT_NE(intro, std::string::npos);
  const auto open = readme.find("```yaml\n", intro);
  ASSERT_NE(open, std::string::npos);
  const auto close = readme.find("```", open + 8);
  it::write_file(dir_ / "readme_rule.yml", readme.substr(open + 8, close - open - 8));
  const json example = load_yaml(dir_ / "readme_rule.yml", dir_.path());
  const json& shown = example.at("groups").at(0).at("rules").at(0);

  const json rules = load_yaml(rules_file(), dir_.path());
  const auto all = all_rules(rules);
  const auto shipped = std::find_if(
      all.begin(), all.end(), [](const json& r) { return r.value("alert", "") == "SipTrunkDown"; });
  ASSERT_NE(shipped, all.end());
  auto squeeze = [](const std::string& s) {  // the same expression however it is wrapped
    std::string out;
    for (char c : s) {
      if (!std::isspace(static_cast<unsigned char>(c))) out += c;
    }
    return out;
  };
  EXPECT_EQ(shown.at("alert"), "SipTrunkDown");
  EXPECT_EQ(squeeze(shown.at("expr")), squeeze(shipped->at("expr")));
  EXPECT_EQ(shown.at("for"), shipped->at("for"));
  EXPECT_EQ(shown.at("labels").at("severity"), shipped->at("labels").at("severity"));
}

TEST(GithubAnchorsTest, FollowGitHubsRules) {
  EXPECT_EQ(github_anchors("# Runbook: sip_trunk_exporter alerts\n\n## SipTrunkDown\n"
                           "## What `sip_address_up` means ##\n## SipTrunkDown\n"
                           "```sh\n# not a heading\n```\n#nor this\n"),
            (std::set<std::string>{"runbook-sip_trunk_exporter-alerts", "siptrunkdown",
                                   "what-sip_address_up-means", "siptrunkdown-1"}));
}

// Notifications carry the runbook_url as is: it must be an absolute link, and its
// anchor one that GitHub (or any renderer with its rules) gives a runbook heading.
TEST_F(RulesTest, RunbookUrlsAreAbsoluteLinksToRunbookSections) {
  json rules = load_yaml(rules_file(), dir_.path());
  const auto anchors = github_anchors(it::read_file(alerts_dir() / "runbook.md"));
  ASSERT_GE(anchors.size(), 12u);
  const std::regex url_re(R"(^https://[A-Za-z0-9.-]+\.[A-Za-z]+(/[^\s#%]*)?#([^\s#%]+)$)");
  int alerts = 0;
  for (const auto& rule : all_rules(rules)) {
    if (!rule.contains("alert")) continue;
    ++alerts;
    std::string url = rule.at("annotations").value("runbook_url", "");
    std::smatch m;
    if (!std::regex_match(url, m, url_re)) {
      ADD_FAILURE() << rule.at("alert") << ": not an absolute URL: " << url;
      continue;
    }
    EXPECT_EQ(anchors.count(m[2].str()), 1u)
        << rule.at("alert") << ": alerts/runbook.md has no heading with the anchor #" << m[2].str();
  }
  EXPECT_GE(alerts, 12);
}

// runbookURLPattern moves every runbook_url, with the lower-case alert name in
// place of %s, and changes nothing else.
TEST_F(RulesTest, RunbookUrlPatternSetsEveryRunbookUrl) {
  json shipped = load_yaml(rules_file(), dir_.path());
  json moved =
      load_yaml(render_rules(dir_.path(), "{runbookURLPattern: 'https://wiki.example.net/sip/%s'}"),
                dir_.path());
  auto shipped_rules = all_rules(shipped);
  auto moved_rules = all_rules(moved);
  ASSERT_EQ(shipped_rules.size(), moved_rules.size());
  for (std::size_t i = 0; i < shipped_rules.size(); ++i) {
    json a = shipped_rules[i];
    json b = moved_rules[i];
    if (a.contains("alert")) {
      std::string name = a.at("alert");
      EXPECT_EQ(b.at("annotations").at("runbook_url"),
                "https://wiki.example.net/sip/" + lower(name));
      a["annotations"].erase("runbook_url");
      b["annotations"].erase("runbook_url");
    }
    EXPECT_EQ(a, b);
  }
}

// Per-target alerts carry every label of the target into the description, so the
// email shows carrier, site and any other static label.
TEST_F(RulesTest, PerTargetDescriptionsListTheTargetsLabels) {
  // Their expressions aggregate the target away or are about the exporter.
  const std::set<std::string> without_target = {"SipTrunkGroupDown", "SipTrunkExporterDown",
                                                "SipTrunkExporterConfigReloadFailed",
                                                "SipExporterIsolated"};
  // /probe series carry no `target`: the probed URI is the `instance`.
  const std::set<std::string> per_probed_uri = {"SipTrunkProbeFailed",
                                                "SipTrunkProbeTlsCertificateExpiring",
                                                "SipTrunkProbeTlsCertificateExpired"};
  json rules = load_yaml(rules_file(), dir_.path());
  int probe_alerts = 0;
  for (const auto& rule : all_rules(rules)) {
    if (!rule.contains("alert") || without_target.count(rule.at("alert")) > 0) continue;
    std::string description = rule.at("annotations").at("description");
    const bool probe = per_probed_uri.count(rule.at("alert")) > 0;
    probe_alerts += probe ? 1 : 0;
    EXPECT_THAT(description, HasSubstr(probe ? "{{ $labels.instance }}" : "{{ $labels.target }}"))
        << rule.at("alert");
    EXPECT_THAT(description, HasSubstr("range $k, $v := $labels")) << rule.at("alert");
  }
  EXPECT_EQ(probe_alerts, 3);
}

// The shortened copy the end-to-end test loads differs from the shipped rules only
// in the durations it overrides.
TEST_F(RulesTest, ConfigOverridesChangeOnlyTheirSettings) {
  json shipped = load_yaml(rules_file(), dir_.path());
  json fast =
      load_yaml(render_rules(dir_.path(), "{targetDownFor: '2s', highRttThresholdSeconds: 0.25}"),
                dir_.path());
  auto shipped_rules = all_rules(shipped);
  auto fast_rules = all_rules(fast);
  ASSERT_EQ(shipped_rules.size(), fast_rules.size());
  for (std::size_t i = 0; i < shipped_rules.size(); ++i) {
    const json& a = shipped_rules[i];
    const json& b = fast_rules[i];
    std::string name = a.value("alert", a.value("record", ""));
    SCOPED_TRACE(name);
    // The alerts naming why a target is down follow SipTrunkDown's `for` (they must fire
    // with it to inhibit it in Alertmanager).
    if (name == "SipTrunkDown" || name == "SipTrunkAuthFailing" ||
        name == "SipTrunkRegistrationMissing") {
      EXPECT_EQ(b.at("for"), "2s");
      EXPECT_THAT(b.at("annotations").at("description").get<std::string>(),
                  HasSubstr("more than 2s"));
    } else if (name == "SipTrunkHighRtt") {
      EXPECT_THAT(b.at("expr").get<std::string>(), HasSubstr("> 0.25"));
      EXPECT_THAT(b.at("annotations").at("description").get<std::string>(),
                  HasSubstr("above 250ms"));
    } else {
      EXPECT_EQ(a, b);
    }
  }
}

}  // namespace
}  // namespace stx::alerting
