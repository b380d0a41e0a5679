// alerts/alertmanager.yml: valid for amtool, and its routing tree sends each kind of
// alert where the README says (critical: pager and email; the rest: email).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "alerting_files.h"
#include "harness.h"
#include "tools.h"

using namespace std::chrono_literals;

namespace stx::alerting {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

class AlertmanagerConfigTest : public ::testing::Test {
 protected:
  // `amtool config routes test --verify.receivers=EXPECTED LABELS...`: exit 0 when
  // the labels route to exactly EXPECTED (comma-separated, in tree order).
  it::RunResult route(const std::string& expected, const std::vector<std::string>& labels) {
    std::vector<std::string> argv = {require_tool("amtool").string(),     "config", "routes", "test",
                                     "--config.file=" + alertmanager_example().string(),
                                     "--verify.receivers=" + expected};
    argv.insert(argv.end(), labels.begin(), labels.end());
    return it::run_command("amtool-routes", argv, dir_.path(), 30s);
  }

  it::TempDir dir_{"stx-am-config"};
};

TEST_F(AlertmanagerConfigTest, AmtoolCheckConfigIsClean) {
  auto r = it::run_command("amtool-check",
                           {require_tool("amtool").string(), "check-config", alertmanager_example().string()},
                           dir_.path(), 30s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("SUCCESS")) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("5 inhibit rules")) << r.out;
}

TEST_F(AlertmanagerConfigTest, CriticalAlertsPageAndAreEmailed) {
  for (const auto& labels : std::vector<std::vector<std::string>>{
           {"alertname=SipTrunkDown", "severity=critical", "target=edge-a", "carrier=acme", "site=nyc"},
           {"alertname=SipTrunkGroupDown", "severity=critical", "carrier=acme", "site=nyc"},
           {"alertname=SipTrunkAuthFailing", "severity=critical", "target=edge-a"},
           {"alertname=SipTrunkRegistrationMissing", "severity=critical", "target=pbx01"},
           {"alertname=SipTrunkTlsCertificateExpired", "severity=critical", "target=edge-a"},
           {"alertname=SipTrunkExporterDown", "severity=critical", "instance=pbx:15060"},
           {"alertname=SipTrunkExporterConfigReloadFailed", "severity=critical", "instance=pbx:15060"},
           {"alertname=SipExporterIsolated", "severity=critical", "job=sip_trunk_exporter",
            "instance=exp-fra:15060", "vantage=fra"},
       }) {
    auto r = route("pager,email", labels);
    EXPECT_EQ(r.exit_code, 0) << labels[0] << ": " << r.out << r.err;
  }
}

TEST_F(AlertmanagerConfigTest, WarningAndInfoAlertsAreOnlyEmailed) {
  for (const auto& labels : std::vector<std::vector<std::string>>{
           {"alertname=SipTrunkHighRtt", "severity=warning", "target=edge-a"},
           {"alertname=SipTrunkOverloaded", "severity=warning", "target=edge-a"},
           {"alertname=SipTrunkDownFromSomeVantages", "severity=warning", "target=edge-a",
            "instance=exp-fra:15060", "vantage=fra"},
           {"alertname=SipTrunkAddressDown", "severity=warning", "target=edge-a",
            "address=192.0.2.1:5061"},
           {"alertname=SipTrunkKeepaliveFailing", "severity=warning", "target=edge-a",
            "address=192.0.2.1:5061"},
           {"alertname=SipTrunkAvailabilityBelowObjective", "severity=info", "target=edge-a"},
           {"alertname=SomethingElse"},  // no severity at all: still reaches someone
       }) {
    auto r = route("email", labels);
    EXPECT_EQ(r.exit_code, 0) << labels[0] << ": " << r.out << r.err;
  }
}

// The routing check above can fail: a wrong expectation is reported by amtool.
TEST_F(AlertmanagerConfigTest, RouteVerificationRejectsAWrongExpectation) {
  auto r = route("email", {"alertname=SipTrunkDown", "severity=critical", "target=edge-a"});
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
}

TEST_F(AlertmanagerConfigTest, GroupsByAlertAndTargetAndSendsResolved) {
  json config = load_yaml(alertmanager_example(), dir_.path());
  const json& group_by = config.at("route").at("group_by");
  EXPECT_THAT(group_by, Contains("alertname"));
  EXPECT_THAT(group_by, Contains("target"));
  int notifiers = 0;
  for (const auto& receiver : config.at("receivers")) {
    for (const char* kind : {"email_configs", "pagerduty_configs", "opsgenie_configs"}) {
      for (const auto& c : receiver.value(kind, json::array())) {
        ++notifiers;
        EXPECT_TRUE(c.value("send_resolved", false)) << receiver.at("name") << " " << kind;
      }
    }
  }
  EXPECT_EQ(notifiers, 3);  // email, PagerDuty, Opsgenie
}

}  // namespace
}  // namespace stx::alerting
