// The story end to end, on loopback: a carrier's SIP peer (Kamailio) dies;
// the exporter marks its trunk down, Prometheus fires SipTrunkDown from the shipped
// rules, and Alertmanager, configured from the shipped example, emails the on-call
// engineer and pages them (PagerDuty and Opsgenie stand-ins). The peer comes back
// and the resolved email follows. Prints the measured times.
//
// Timings: exporter interval 1 s, timeout 0.8 s, failures_before_down 3; Prometheus
// scrape and evaluation 1 s; the rules rendered with SipTrunkDown's `for` at 2 s;
// Alertmanager group_wait and group_interval 1 s. Worst case to the email:
// 3 x 1 s + 0.8 s + 1 s + 1 s + 2 s + 1 s = 8.8 s (a killed peer is refused at
// once, so less). The bound below leaves room for a loaded CI machine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "alerting_files.h"
#include "harness.h"
#include "monitoring_stack.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace stx::alerting {
namespace {

using ::testing::HasSubstr;

constexpr auto kBound = 30s;                     // peer death -> email, peer back -> resolved email
constexpr const char* kTrunk = "carrier-edge";   // probes the Kamailio that dies
constexpr const char* kOther = "carrier-edge-b";  // same carrier and site, stays up

using Clock = it::Clock;

std::string seconds(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", std::chrono::duration<double>(d).count());
  return buf;
}

void report(const char* what, const std::optional<Clock::duration>& d) {
  std::cout << "[e2e] " << what << ": " << (d ? seconds(*d) : std::string("not within ") + seconds(kBound))
            << std::endl;
}

bool mentions(const json& notification, const std::string& a, const std::string& b) {
  std::string text = notification.dump();
  return text.find(a) != std::string::npos && text.find(b) != std::string::npos;
}

// The first email whose subject starts with `status` ("[FIRING", "[RESOLVED")
// and names SipTrunkDown and `target`.
std::optional<json> trunk_down_mail(const NotificationSink& sink, const std::string& status, const std::string& target) {
  for (const auto& m : sink.mails()) {
    std::string subject = m.value("subject", "");
    if (subject.rfind(status, 0) == 0 && subject.find("SipTrunkDown") != std::string::npos &&
        subject.find(" " + target + " ") != std::string::npos) {
      return m;
    }
  }
  return std::nullopt;
}

// The first PagerDuty event with `action` ("trigger", "resolve") about `target`.
std::optional<json> trunk_down_page(const NotificationSink& sink, const std::string& action, const std::string& target) {
  for (const auto& p : sink.posts()) {
    if (p.value("path", "") == "/pagerduty" && p["body"].value("event_action", "") == action &&
        mentions(p["body"], "SipTrunkDown", target)) {
      return p;
    }
  }
  return std::nullopt;
}

TEST(TrunkDownEmailTest, DeadPeerIsEmailedAndPagedThenResolved) {
  it::TempDir dir("stx-e2e");
  NotificationSink sink(dir.path());
  AlertmanagerServer alertmanager(dir.path(), alertmanager_test_config(dir.path(), sink));
  it::KamailioPeer carrier(dir.path(), "kamailio.cfg");
  it::SippPeer other(dir.path(), "options_200.xml");
  it::ExporterConfigSpec spec;  // interval 1s, timeout 800ms, failures_before_down 3
  spec.targets = {
      {kTrunk, carrier.uri(), {{"carrier", "acme"}, {"site", "nyc"}}, {}},
      {kOther, other.uri(), {{"carrier", "acme"}, {"site", "nyc"}}, {}},
  };
  it::Exporter exporter(dir.path(), spec, "info");
  // Short durations, and the runbook where an operator would publish it.
  fs::path rules = render_rules(
      dir.path(),
      "{targetDownFor: '2s', groupDownFor: '2s', runbookURLPattern: 'https://wiki.example.net/sip/%s'}");
  PrometheusServer::Options options;
  options.exporter_port = exporter.port();
  options.rules_file = rules;
  options.alertmanager_port = alertmanager.port();
  PrometheusServer prometheus(dir.path(), options);

  const std::string trunk_up = std::string("sip_target_up{target=\"") + kTrunk + "\"} == 1";
  const std::string trunk_down = std::string("sip_target_up{target=\"") + kTrunk + "\"} == 0";
  const std::string firing =
      std::string("ALERTS{alertname=\"SipTrunkDown\",alertstate=\"firing\",target=\"") + kTrunk + "\"}";

  // Steady state first: Prometheus sees the trunk up and has found Alertmanager.
  ASSERT_TRUE(it::wait_until(30s, [&] {
    return !prometheus.query(trunk_up).empty() &&
           !prometheus.api("alertmanagers")["data"]["activeAlertmanagers"].empty();
  }, 100ms)) << "Prometheus never saw " << kTrunk << " up with Alertmanager connected";
  ASSERT_TRUE(prometheus.query("ALERTS").empty()) << prometheus.query("ALERTS").dump();
  ASSERT_TRUE(sink.mails().empty());

  // --- The peer dies ---------------------------------------------------------------
  const auto killed = Clock::now();
  carrier.kill();
  std::optional<Clock::duration> down_exporter, down_prometheus, alert_firing, emailed, paged;
  std::optional<json> mail;
  it::wait_until(kBound, [&] {
    auto since = Clock::now() - killed;
    if (!down_exporter && exporter.scrape().value("sip_target_up", {{"target", kTrunk}}) == 0.0) down_exporter = since;
    if (!down_prometheus && !prometheus.query(trunk_down).empty()) down_prometheus = since;
    if (!alert_firing && !prometheus.query(firing).empty()) alert_firing = since;
    if (!emailed && (mail = trunk_down_mail(sink, "[FIRING", kTrunk))) emailed = since;
    if (!paged && trunk_down_page(sink, "trigger", kTrunk)) paged = since;
    return emailed && paged;
  }, 50ms);
  report("peer killed -> target down at the exporter", down_exporter);
  report("peer killed -> target down in Prometheus", down_prometheus);
  report("peer killed -> SipTrunkDown firing", alert_firing);
  report("peer killed -> email delivered", emailed);
  report("peer killed -> PagerDuty page delivered", paged);

  ASSERT_TRUE(mail) << "no email about " << kTrunk << " within " << seconds(kBound);
  const std::string text = (*mail)["text"];
  EXPECT_THAT(text, HasSubstr("SIP target " + std::string(kTrunk) + " (carrier=acme"));  // which trunk
  EXPECT_THAT(text, HasSubstr("site=nyc"));
  EXPECT_THAT(text, HasSubstr("down since 20"));                 // since when
  EXPECT_THAT(text, HasSubstr("Last answer: none (refused)."));  // what it answered
  EXPECT_THAT(text, HasSubstr("Runbook: https://wiki.example.net/sip/siptrunkdown"));  // a link
  EXPECT_TRUE(paged) << "no PagerDuty event for " << kTrunk;
  bool opsgenie = false;
  for (const auto& p : sink.posts()) {
    opsgenie = opsgenie || (p.value("path", "").rfind("/opsgenie/", 0) == 0 && mentions(p["body"], "SipTrunkDown", kTrunk));
  }
  EXPECT_TRUE(opsgenie) << "no Opsgenie alert for " << kTrunk;
  // The peer that stayed up is in no alert.
  EXPECT_FALSE(trunk_down_mail(sink, "[FIRING", kOther));
  EXPECT_TRUE(prometheus.query(std::string("ALERTS{target=\"") + kOther + "\"}").empty());

  // --- The peer comes back -------------------------------------------------------------
  const auto restarted = Clock::now();
  carrier.restart();
  std::optional<Clock::duration> up_exporter, alert_resolved, resolved_email, resolved_page;
  std::optional<json> resolved;
  it::wait_until(kBound, [&] {
    auto since = Clock::now() - restarted;
    if (!up_exporter && exporter.scrape().value("sip_target_up", {{"target", kTrunk}}) == 1.0) up_exporter = since;
    if (up_exporter && !alert_resolved && prometheus.query(firing).empty()) alert_resolved = since;
    if (!resolved_email && (resolved = trunk_down_mail(sink, "[RESOLVED]", kTrunk))) resolved_email = since;
    if (!resolved_page && trunk_down_page(sink, "resolve", kTrunk)) resolved_page = since;
    return resolved_email && resolved_page;
  }, 50ms);
  report("peer restarted -> target up at the exporter", up_exporter);
  report("peer restarted -> SipTrunkDown resolved in Prometheus", alert_resolved);
  report("peer restarted -> resolved email delivered", resolved_email);
  report("peer restarted -> PagerDuty resolve delivered", resolved_page);

  ASSERT_TRUE(resolved) << "no resolved email about " << kTrunk << " within " << seconds(kBound);
  EXPECT_THAT((*resolved)["text"].get<std::string>(), HasSubstr("[RESOLVED] SipTrunkDown (critical)"));
  EXPECT_THAT((*resolved)["text"].get<std::string>(), HasSubstr("Resolved: 20"));
  EXPECT_TRUE(resolved_page) << "no PagerDuty resolve for " << kTrunk;
}

}  // namespace
}  // namespace stx::alerting
