// The inhibit rules of alerts/alertmanager.yml in a running Alertmanager: a whole
// carrier/site group down silences its members' alerts, a target's critical
// alert silences its warnings (per-address ones included), and an alert naming why a
// target is down (credentials refused, registration missing) replaces its
// SipTrunkDown, and an exporter cut off from its targets (SipExporterIsolated) silences
// its own per-trunk alerts, not another exporter's; everything else is notified,
// critical alerts paged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <map>
#include <string>

#include "alerting_files.h"
#include "harness.h"
#include "monitoring_stack.h"

using namespace std::chrono_literals;

namespace stx::alerting {
namespace {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&s, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

json alert(const std::map<std::string, std::string>& labels) {
  auto now = std::chrono::system_clock::now();
  return {{"labels", labels},
          {"annotations", {{"summary", "test"}}},
          // Now, not earlier: Alertmanager flushes a group at once for an alert older than
          // group_wait, which would race its inhibitor's view of the source alerts.
          {"startsAt", rfc3339(now)},
          {"endsAt", rfc3339(now + 10min)}};
}

// "alertname target[ @instance][ address]" (or "alertname carrier/site") -> the alert's
// state; the instance only for a target's alert that has one.
std::map<std::string, std::string> states(const json& alerts) {
  std::map<std::string, std::string> out;
  for (const auto& a : alerts) {
    const json& l = a.at("labels");
    std::string key = l.at("alertname").get<std::string>() + " " +
                      (l.contains("target") ? l.at("target").get<std::string>()
                                            : l.value("carrier", "") + "/" + l.value("site", ""));
    if (l.contains("target") && l.contains("instance")) {
      key += " @" + l.at("instance").get<std::string>();
    }
    if (l.contains("address")) key += " " + l.at("address").get<std::string>();
    out[key] = a.at("status").at("state");
  }
  return out;
}

TEST(AlertmanagerInhibitionTest, GroupDownAndCriticalAlertsInhibitTheirConsequences) {
  it::TempDir dir("stx-am-inhibit");
  NotificationSink sink(dir.path());
  // group_wait 5 s, not the other tests' 1 s: Alertmanager's inhibitor learns of the posted
  // source alerts asynchronously, and on a loaded machine a group flushed a member alert
  // before its group alert was known. The shipped 10 s leaves no such race.
  AlertmanagerServer am(dir.path(), alertmanager_test_config(dir.path(), sink, "5s"));

  am.post_alerts(
      json::array({
          // All of acme/nyc is down: the group alert and a member's own.
          alert({{"alertname", "SipTrunkGroupDown"},
                 {"severity", "critical"},
                 {"carrier", "acme"},
                 {"site", "nyc"}}),
          alert({{"alertname", "SipTrunkDown"},
                 {"severity", "critical"},
                 {"target", "nyc-1"},
                 {"carrier", "acme"},
                 {"site", "nyc"}}),
          // acme/lax has one target down, which is also slow and burning budget.
          alert({{"alertname", "SipTrunkDown"},
                 {"severity", "critical"},
                 {"target", "lax-1"},
                 {"carrier", "acme"},
                 {"site", "lax"}}),
          alert({{"alertname", "SipTrunkHighRtt"},
                 {"severity", "warning"},
                 {"target", "lax-1"},
                 {"carrier", "acme"},
                 {"site", "lax"}}),
          alert({{"alertname", "SipTrunkAvailabilityBelowObjective"},
                 {"severity", "info"},
                 {"target", "lax-1"},
                 {"carrier", "acme"},
                 {"site", "lax"}}),
          // lax-1's edges: one down just before the target, keepalives failing on the other.
          alert({{"alertname", "SipTrunkAddressDown"},
                 {"severity", "warning"},
                 {"target", "lax-1"},
                 {"carrier", "acme"},
                 {"site", "lax"},
                 {"address", "192.0.2.1:5061"}}),
          alert({{"alertname", "SipTrunkKeepaliveFailing"},
                 {"severity", "warning"},
                 {"target", "lax-1"},
                 {"carrier", "acme"},
                 {"site", "lax"},
                 {"address", "192.0.2.2:5061"}}),
          // lax-1 was degraded (503) just before it went down.
          alert({{"alertname", "SipTrunkDegraded"},
                 {"severity", "warning"},
                 {"target", "lax-1"},
                 {"carrier", "acme"},
                 {"site", "lax"}}),
          // ber-1 is degraded: answers 503 to every probe; its 503 ratio alerts too.
          alert({{"alertname", "SipTrunkDegraded"},
                 {"severity", "warning"},
                 {"target", "ber-1"},
                 {"carrier", "solo"},
                 {"site", "ber"}}),
          alert({{"alertname", "SipTrunkOverloaded"},
                 {"severity", "warning"},
                 {"target", "ber-1"},
                 {"carrier", "solo"},
                 {"site", "ber"}}),
          alert({{"alertname", "SipTrunkServerErrors"},
                 {"severity", "warning"},
                 {"target", "ber-1"},
                 {"carrier", "solo"},
                 {"site", "ber"}}),
          // Another target is only slow; an exporter is down (no target).
          alert({{"alertname", "SipTrunkHighRtt"},
                 {"severity", "warning"},
                 {"target", "ams-1"},
                 {"carrier", "solo"},
                 {"site", "ams"}}),
          alert({{"alertname", "SipTrunkAddressDown"},
                 {"severity", "warning"},
                 {"target", "ams-1"},
                 {"carrier", "solo"},
                 {"site", "ams"},
                 {"address", "198.51.100.1:5060"}}),
          alert({{"alertname", "SipTrunkKeepaliveFailing"},
                 {"severity", "warning"},
                 {"target", "ams-1"},
                 {"carrier", "solo"},
                 {"site", "ams"},
                 {"address", "198.51.100.2:5061"}}),
          // par-1's credentials are refused and par-2's PBX is not registered: each cause
          // fires with the SipTrunkDown of its target. Both are one alert per trunk (job and
          // target), aggregated over the exporters that probe it: no `instance`.
          alert({{"alertname", "SipTrunkAuthFailing"},
                 {"severity", "critical"},
                 {"job", "sip_trunk_exporter"},
                 {"target", "par-1"},
                 {"carrier", "solo"},
                 {"site", "par"}}),
          alert({{"alertname", "SipTrunkDown"},
                 {"severity", "critical"},
                 {"job", "sip_trunk_exporter"},
                 {"target", "par-1"},
                 {"carrier", "solo"},
                 {"site", "par"}}),
          alert({{"alertname", "SipTrunkRegistrationMissing"},
                 {"severity", "critical"},
                 {"job", "sip_trunk_exporter"},
                 {"target", "par-2"},
                 {"carrier", "solo"},
                 {"site", "par"}}),
          alert({{"alertname", "SipTrunkDown"},
                 {"severity", "critical"},
                 {"job", "sip_trunk_exporter"},
                 {"target", "par-2"},
                 {"carrier", "solo"},
                 {"site", "par"}}),
          // A target named par-3 in two jobs: one's refused credentials say nothing
          // about why the other's par-3 is down.
          alert({{"alertname", "SipTrunkAuthFailing"},
                 {"severity", "critical"},
                 {"job", "sip_trunk_exporter"},
                 {"target", "par-3"},
                 {"carrier", "solo"},
                 {"site", "par"}}),
          alert({{"alertname", "SipTrunkDown"},
                 {"severity", "critical"},
                 {"job", "sip_trunk_exporter_lab"},
                 {"target", "par-3"},
                 {"carrier", "solo"},
                 {"site", "par"}}),
          alert({{"alertname", "SipTrunkExporterDown"},
                 {"severity", "critical"},
                 {"instance", "pbx:15060"}}),
          // exp-fra:15060 (vantage fra) is cut off: it sees all of its targets down while
          // exp-iad:15060 sees them up. Its per-trunk alerts are the isolation's news;
          // exp-iad's own alerts are not, and neither is a SipTrunkDown (every vantage).
          alert({{"alertname", "SipExporterIsolated"},
                 {"severity", "critical"},
                 {"job", "sip_trunk_exporter"},
                 {"instance", "exp-fra:15060"},
                 {"vantage", "fra"}}),
          alert({{"alertname", "SipTrunkDownFromSomeVantages"},
                 {"severity", "warning"},
                 {"job", "sip_trunk_exporter"},
                 {"instance", "exp-fra:15060"},
                 {"vantage", "fra"},
                 {"target", "fra-1"},
                 {"state", "down"}}),
          alert({{"alertname", "SipTrunkDegraded"},
                 {"severity", "warning"},
                 {"job", "sip_trunk_exporter"},
                 {"instance", "exp-fra:15060"},
                 {"vantage", "fra"},
                 {"target", "fra-2"},
                 {"state", "degraded"}}),
          alert({{"alertname", "SipTrunkDownFromSomeVantages"},
                 {"severity", "warning"},
                 {"job", "sip_trunk_exporter"},
                 {"instance", "exp-iad:15060"},
                 {"vantage", "iad"},
                 {"target", "iad-1"},
                 {"state", "down"}}),
          alert({{"alertname", "SipTrunkDegraded"},
                 {"severity", "warning"},
                 {"job", "sip_trunk_exporter"},
                 {"instance", "exp-iad:15060"},
                 {"vantage", "iad"},
                 {"target", "fra-2"},
                 {"state", "degraded"}}),
          alert({{"alertname", "SipTrunkDown"},
                 {"severity", "critical"},
                 {"job", "sip_trunk_exporter"},
                 {"target", "fra-4"},
                 {"state", "down"}}),
      }),
      dir.path());

  const std::map<std::string, std::string> expected = {
      {"SipTrunkGroupDown acme/nyc", "active"},
      {"SipTrunkDown nyc-1", "suppressed"},  // its group is down
      {"SipTrunkDown lax-1", "active"},
      {"SipTrunkHighRtt lax-1", "suppressed"},                     // its target is down
      {"SipTrunkAvailabilityBelowObjective lax-1", "active"},      // info: not a warning
      {"SipTrunkAddressDown lax-1 192.0.2.1:5061", "suppressed"},  // its target is down
      {"SipTrunkKeepaliveFailing lax-1 192.0.2.2:5061", "suppressed"},
      {"SipTrunkDegraded lax-1", "suppressed"},     // down (critical) inhibits degraded
      {"SipTrunkDegraded ber-1", "active"},
      {"SipTrunkOverloaded ber-1", "suppressed"},   // degraded says it
      {"SipTrunkServerErrors ber-1", "suppressed"},
      {"SipTrunkHighRtt ams-1", "active"},  // nothing critical there
      {"SipTrunkAddressDown ams-1 198.51.100.1:5060", "active"},
      {"SipTrunkKeepaliveFailing ams-1 198.51.100.2:5061", "active"},
      {"SipTrunkAuthFailing par-1", "active"},
      {"SipTrunkDown par-1", "suppressed"},  // the cause replaces it
      {"SipTrunkRegistrationMissing par-2", "active"},
      {"SipTrunkDown par-2", "suppressed"},
      {"SipTrunkAuthFailing par-3", "active"},
      {"SipTrunkDown par-3", "active"},  // another job's target
      {"SipTrunkExporterDown /", "active"},
      {"SipExporterIsolated /", "active"},
      // Its exporter is cut off: SipExporterIsolated says it.
      {"SipTrunkDownFromSomeVantages fra-1 @exp-fra:15060", "suppressed"},
      {"SipTrunkDegraded fra-2 @exp-fra:15060", "suppressed"},
      {"SipTrunkDownFromSomeVantages iad-1 @exp-iad:15060", "active"},  // another exporter's
      {"SipTrunkDegraded fra-2 @exp-iad:15060", "active"},
      {"SipTrunkDown fra-4", "active"},  // down from every vantage
  };
  std::map<std::string, std::string> got;
  it::wait_until(15s, [&] { return (got = states(am.alerts())) == expected; }, 100ms);
  EXPECT_EQ(got, expected);

  // Notifications: each active alert is emailed and the critical ones paged; once
  // they are all in, none of the inhibited ones has been emailed.
  auto emailed = [&](const std::string& alertname, const std::string& who) {
    for (const auto& m : sink.mails()) {
      std::string s = m.value("subject", "");
      if (s.find(alertname + " ") != std::string::npos && s.find(who) != std::string::npos) return true;
    }
    return false;
  };
  auto paged = [&](const std::string& alertname, const std::string& who) {
    for (const auto& p : sink.posts()) {
      std::string b = p.dump();
      if (p.value("path", "") == "/pagerduty" && b.find(alertname) != std::string::npos && b.find(who) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  bool all_in = it::wait_until(
      20s,
      [&] {
        return emailed("SipTrunkGroupDown", "acme nyc") && emailed("SipTrunkDown", "lax-1") &&
               emailed("SipTrunkHighRtt", "ams-1") &&
               emailed("SipTrunkAvailabilityBelowObjective", "lax-1") &&
               emailed("SipTrunkAddressDown", "ams-1") &&
               emailed("SipTrunkKeepaliveFailing", "ams-1") &&
               emailed("SipTrunkExporterDown", "pbx:15060") && emailed("SipTrunkDegraded", "ber-1") &&
               paged("SipTrunkGroupDown", "nyc") &&
               paged("SipTrunkDown", "lax-1") && paged("SipTrunkExporterDown", "pbx:15060") &&
               emailed("SipTrunkAuthFailing", "par-1") && paged("SipTrunkAuthFailing", "par-1") &&
               emailed("SipTrunkRegistrationMissing", "par-2") &&
               paged("SipTrunkRegistrationMissing", "par-2") &&
               emailed("SipTrunkAuthFailing", "par-3") && emailed("SipTrunkDown", "par-3") &&
               paged("SipTrunkDown", "par-3") && emailed("SipExporterIsolated", "exp-fra:15060") &&
               paged("SipExporterIsolated", "exp-fra:15060") &&
               emailed("SipTrunkDownFromSomeVantages", "exp-iad:15060") &&
               emailed("SipTrunkDegraded", "exp-iad:15060") && emailed("SipTrunkDown", "fra-4") &&
               paged("SipTrunkDown", "fra-4");
      },
      100ms);
  EXPECT_TRUE(all_in) << "not every active alert was emailed and paged";
  EXPECT_FALSE(emailed("SipTrunkDown", "nyc-1"));
  EXPECT_FALSE(emailed("SipTrunkHighRtt", "lax-1"));
  EXPECT_FALSE(emailed("SipTrunkAddressDown", "lax-1"));
  EXPECT_FALSE(emailed("SipTrunkKeepaliveFailing", "lax-1"));
  EXPECT_FALSE(emailed("SipTrunkDegraded", "lax-1"));
  EXPECT_FALSE(emailed("SipTrunkOverloaded", "ber-1"));
  EXPECT_FALSE(emailed("SipTrunkServerErrors", "ber-1"));
  // One page and one email per target down for a named cause: the cause's.
  EXPECT_FALSE(emailed("SipTrunkDown", "par-1"));
  EXPECT_FALSE(paged("SipTrunkDown", "par-1"));
  EXPECT_FALSE(emailed("SipTrunkDown", "par-2"));
  EXPECT_FALSE(paged("SipTrunkDown", "par-2"));
  EXPECT_FALSE(paged("SipTrunkDegraded", "ber-1")) << "a warning paged";
  // One page for an exporter cut off, none of its per-trunk alerts emailed.
  EXPECT_FALSE(emailed("SipTrunkDownFromSomeVantages", "exp-fra:15060"));
  EXPECT_FALSE(emailed("SipTrunkDegraded", "exp-fra:15060"));
  EXPECT_FALSE(paged("SipTrunkDownFromSomeVantages", "iad-1")) << "a warning paged";
  EXPECT_FALSE(paged("SipTrunkAddressDown", "ams-1")) << "a warning paged";
  EXPECT_FALSE(paged("SipTrunkHighRtt", "ams-1")) << "a warning paged";
}

}  // namespace
}  // namespace stx::alerting
