// Issue 16's promise with the settings the project ships, end to end on loopback: a
// trunk whose peer goes silent (SIGSTOP: no answer and no ICMP, every probe runs into
// its timeout) is emailed as SipTrunkDown within 75 s; a peer that answers 503 with
// Retry-After: 5 is emailed as SipTrunkDegraded ("answering 503, Retry-After 5s") and
// never as down; a peer silenced just long enough to fail one probe recovers through
// the fast re-check and is emailed about not at all.
//
// Everything runs as shipped, only addresses and ports replaced: the exporter's
// [defaults] verbatim from deploy/config.toml, the checked-in rules, Prometheus with
// deploy/prometheus/prometheus.yml's scrape and evaluation intervals, Alertmanager from
// alerts/alertmanager.yml with its timers. README "From silence to email" gives the
// arithmetic (expected ~45 s, at worst 68 s). Real-time waits: about two and a half
// minutes in all. Prints the measured times.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "alerting_files.h"
#include "harness.h"
#include "monitoring_stack.h"
#include "shipped_settings.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace stx::alerting {
namespace {

using ::testing::HasSubstr;
using Clock = it::Clock;

constexpr auto kSilentBound = 75s;          // the bound, silence -> email
constexpr auto kSilentWait = 95s;           // how long we wait to report a miss
constexpr auto kDegradedWait = 180s;        // exporter start -> degraded email (for 1m)
constexpr const char* kSilent = "silent-peer";
constexpr const char* kBusy = "busy-peer";        // 503, Retry-After: 5
constexpr const char* kBlip = "recovering-peer";  // silent for one probe

std::string seconds(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", std::chrono::duration<double>(d).count());
  return buf;
}

void report(const char* what, const std::optional<Clock::duration>& d) {
  std::cout << "[shipped-e2e] " << what << ": " << (d ? seconds(*d) : std::string("not seen")) << std::endl;
}

// SIGSTOP and SIGCONT for a SIPp peer; resumes it on destruction, so that the peer's
// own destructor (declared before this) can stop it with SIGTERM even on failure.
class Pausable {
 public:
  explicit Pausable(it::Process& p) : p_(p) {}
  ~Pausable() {
    if (stopped_) p_.signal(SIGCONT);
  }
  Pausable(const Pausable&) = delete;
  Pausable& operator=(const Pausable&) = delete;
  void stop() {
    p_.signal(SIGSTOP);
    stopped_ = true;
  }
  void resume() {
    p_.signal(SIGCONT);
    stopped_ = false;
  }
  bool stopped() const { return stopped_; }

 private:
  it::Process& p_;
  bool stopped_ = false;
};

// The exporter with deploy/config.toml's [defaults] as they are and our targets.
class ShippedExporter {
 public:
  ShippedExporter(const fs::path& dir, const std::vector<it::TargetSpec>& targets) {
    std::ostringstream config;
    config << "# [defaults] copied verbatim from deploy/config.toml\n"
           << toml_table_text(deploy_config(), "defaults");
    for (const auto& t : targets) {
      config << "\n[[target]]\nname = " << it::toml_string(t.name) << "\nuri = " << it::toml_string(t.uri)
             << "\nlabels = { ";
      for (std::size_t i = 0; i < t.labels.size(); ++i) {
        config << (i ? ", " : "") << t.labels[i].first << " = " << it::toml_string(t.labels[i].second);
      }
      config << " }\n";
    }
    const fs::path path = dir / "exporter.toml";
    it::write_file(path, config.str());
    it::retry_start(3, [&] {
      port_ = it::free_tcp_port();
      auto p = std::make_unique<it::Process>(
          "exporter",
          std::vector<std::string>{it::exporter_binary().string(), "--config.file=" + path.string(),
                                   "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=info"},
          dir);
      bool healthy = it::wait_until(10s, [&] {
        if (!p->running()) return true;
        try {
          return it::http_get(port_, "/-/healthy", {}, 1s).status == 200;
        } catch (const std::exception&) {
          return false;
        }
      });
      if (!healthy || !p->running()) {
        std::string what = p->describe();
        p->stop();
        throw std::runtime_error("the exporter did not become healthy with the shipped [defaults]:\n" +
                                 config.str() + what);
      }
      process_ = std::move(p);
    });
  }
  std::uint16_t port() const { return port_; }
  it::Exposition metrics() { return it::Exposition::parse(it::http_get(port_, "/metrics", {}, 5s).body); }

 private:
  std::uint16_t port_ = 0;
  std::unique_ptr<it::Process> process_;
};

// The state whose sip_target_state series reads 1, or "" when none does.
std::string state_of(const it::Exposition& e, const std::string& target) {
  for (const char* s : {"unknown", "up", "degraded", "down"}) {
    if (e.value("sip_target_state", {{"target", target}, {"state", s}}) == 1.0) return s;
  }
  return "";
}

double probes(const it::Exposition& e, const std::string& target, const std::string& result) {
  return e.sum("sip_probes_total", {{"target", target}, {"result", result}});
}

// The first email whose subject starts with `status` and names `alertname` and `target`.
std::optional<json> mail(const NotificationSink& sink, const std::string& status, const std::string& alertname,
                         const std::string& target) {
  for (const auto& m : sink.mails()) {
    std::string subject = m.value("subject", "");
    if (subject.rfind(status, 0) == 0 && subject.find(alertname + " ") != std::string::npos &&
        subject.find(target) != std::string::npos) {
      return m;
    }
  }
  return std::nullopt;
}

bool mailed_about(const NotificationSink& sink, const std::string& target) {
  for (const auto& m : sink.mails()) {
    if (m.value("subject", "").find(target) != std::string::npos) return true;
  }
  return false;
}

bool paged(const NotificationSink& sink, const std::string& alertname, const std::string& target) {
  for (const auto& p : sink.posts()) {
    std::string body = p.dump();
    if (p.value("path", "") == "/pagerduty" && body.find(alertname) != std::string::npos &&
        body.find(target) != std::string::npos) {
      return true;
    }
  }
  return false;
}

TEST(ShippedSettingsEmailTest, SilentTrunkEmailedWithin75sBusyOneAsDegradedAndABlipNotAtAll) {
  it::TempDir dir("stx-shipped-e2e");
  const ShippedSettings shipped = load_shipped_settings(dir.path());
  std::cout << "[shipped-e2e] settings: interval " << shipped.interval << " s (+" << shipped.jitter
            << " s), fast_interval " << shipped.fast_interval << " s, timeout " << shipped.timeout
            << " s, failures_before_down " << shipped.failures_before_down << "; scrape "
            << shipped.scrape_interval_text << ", evaluation " << shipped.evaluation_interval_text
            << ", SipTrunkDown for " << shipped.down_for << " s, group_wait " << shipped.group_wait_text
            << "; worst case " << shipped.worst_silence_to_email() << " s" << std::endl;

  NotificationSink sink(dir.path());
  json am_config = alertmanager_test_config(dir.path(), sink, shipped.group_wait_text, shipped.group_interval_text);
  am_config["route"]["repeat_interval"] = shipped.repeat_interval_text;
  AlertmanagerServer alertmanager(dir.path(), am_config);

  it::SippPeer silent(dir.path(), "options_200.xml");
  it::SippPeer busy(dir.path(), (tests_dir() / "options_503_retry_after_5.xml").string());
  it::SippPeer blip(dir.path(), "options_200.xml");
  Pausable silent_pause(silent.process());
  Pausable blip_pause(blip.process());

  ShippedExporter exporter(dir.path(), {
                                           {kSilent, silent.uri(), {{"carrier", "acme"}, {"site", "nyc"}}, {}},
                                           {kBusy, busy.uri(), {{"carrier", "acme"}, {"site", "lax"}}, {}},
                                           {kBlip, blip.uri(), {{"carrier", "acme"}, {"site", "ams"}}, {}},
                                       });
  const auto exporter_started = Clock::now();

  PrometheusServer::Options options;
  options.exporter_port = exporter.port();
  options.rules_file = rules_file();
  options.alertmanager_port = alertmanager.port();
  options.scrape_interval = shipped.scrape_interval_text;
  options.evaluation_interval = shipped.evaluation_interval_text;
  options.scrape_timeout = shipped.scrape_interval >= 10 ? "10s" : shipped.scrape_interval_text;  // Prometheus' default
  PrometheusServer prometheus(dir.path(), options);

  std::optional<Clock::duration> degraded_exporter, degraded_email;  // from the exporter's start
  std::set<std::string> busy_states;
  auto watch_busy = [&](const it::Exposition& e) {
    const std::string state = state_of(e, kBusy);
    busy_states.insert(state);
    if (!degraded_exporter && state == "degraded") degraded_exporter = Clock::now() - exporter_started;
  };

  // Steady state: Prometheus sees both answering peers up and has found Alertmanager.
  ASSERT_TRUE(it::wait_until(
      70s,
      [&] {
        watch_busy(exporter.metrics());
        return prometheus
                       .query(std::string("count(sip_target_state{state=\"up\",target=~\"") + kSilent + "|" +
                              kBlip + "\"} == 1) == 2")
                       .size() == 1 &&
               !prometheus.api("alertmanagers")["data"]["activeAlertmanagers"].empty();
      },
      250ms))
      << "Prometheus never saw " << kSilent << " and " << kBlip << " up: " << exporter.metrics().grep("sip_target_state");
  ASSERT_FALSE(mailed_about(sink, kSilent));

  // --- Silence ---------------------------------------------------------------------
  const auto silenced = Clock::now();
  silent_pause.stop();
  const it::Exposition before = exporter.metrics();
  const double blip_failures = probes(before, kBlip, "failure");
  blip_pause.stop();

  std::optional<Clock::duration> down_exporter, down_prometheus, firing, emailed, page;
  std::optional<Clock::time_point> blip_failed_at;
  std::optional<Clock::duration> blip_recheck;  // its failure -> its next success
  double blip_successes = 0;
  std::set<std::string> blip_states;
  std::optional<json> silent_mail, busy_mail;

  it::wait_until(
      std::max<Clock::duration>(kSilentWait, kDegradedWait - (silenced - exporter_started)),
      [&] {
        const auto now = Clock::now();
        const it::Exposition e = exporter.metrics();
        // The blip: resume it as soon as one probe failed; its re-check must succeed.
        blip_states.insert(state_of(e, kBlip));
        if (blip_pause.stopped() && probes(e, kBlip, "failure") > blip_failures) {
          blip_pause.resume();
          blip_failed_at = now;
          blip_successes = probes(e, kBlip, "success");
        }
        if (blip_failed_at && !blip_recheck && probes(e, kBlip, "success") > blip_successes) {
          blip_recheck = now - *blip_failed_at;
        }
        watch_busy(e);
        if (!down_exporter && state_of(e, kSilent) == "down") down_exporter = now - silenced;
        if (!down_prometheus &&
            !prometheus.query(std::string("sip_target_state{state=\"down\",target=\"") + kSilent + "\"} == 1").empty()) {
          down_prometheus = now - silenced;
        }
        if (!firing && !prometheus
                            .query(std::string("ALERTS{alertname=\"SipTrunkDown\",alertstate=\"firing\",target=\"") +
                                   kSilent + "\"}")
                            .empty()) {
          firing = now - silenced;
        }
        if (!emailed && (silent_mail = mail(sink, "[FIRING", "SipTrunkDown", kSilent))) emailed = now - silenced;
        if (!page && paged(sink, "SipTrunkDown", kSilent)) page = now - silenced;
        if (!degraded_email && (busy_mail = mail(sink, "[FIRING", "SipTrunkDegraded", kBusy))) {
          degraded_email = now - exporter_started;
        }
        const bool silent_done = emailed || now - silenced > kSilentWait;
        return silent_done && page && degraded_email && blip_recheck;
      },
      100ms);

  report("peer silenced -> target down at the exporter", down_exporter);
  report("peer silenced -> target down in Prometheus", down_prometheus);
  report("peer silenced -> SipTrunkDown firing", firing);
  report("peer silenced -> email delivered", emailed);
  report("peer silenced -> PagerDuty page delivered", page);
  report("exporter started -> 503 peer degraded at the exporter", degraded_exporter);
  report("exporter started -> SipTrunkDegraded email delivered", degraded_email);
  report("blip peer: failed probe -> successful re-check", blip_recheck);

  // The silent peer: paged and emailed as down within the bound, saying what and since when.
  ASSERT_TRUE(silent_mail) << "no SipTrunkDown email about " << kSilent << " within " << seconds(kSilentWait);
  EXPECT_LE(*emailed, kSilentBound) << "silence -> email took " << seconds(*emailed);
  const std::string text = (*silent_mail)["text"];
  EXPECT_THAT(text, HasSubstr("[FIRING] SipTrunkDown (critical)"));
  EXPECT_THAT(text, HasSubstr("SIP trunk " + std::string(kSilent) + " is down."));
  EXPECT_THAT(text, HasSubstr("down since 20"));
  EXPECT_THAT(text, HasSubstr("Last answer: none (timeout)."));
  EXPECT_TRUE(page) << "no PagerDuty event for " << kSilent;

  // The 503 peer: degraded, emailed with its code and Retry-After, never down.
  ASSERT_TRUE(busy_mail) << "no SipTrunkDegraded email about " << kBusy << "; its states: "
                         << exporter.metrics().grep(kBusy);
  const std::string busy_text = (*busy_mail)["text"];
  EXPECT_THAT(busy_text, HasSubstr("[FIRING] SipTrunkDegraded (warning)"));
  EXPECT_THAT(busy_text, HasSubstr("SIP trunk " + std::string(kBusy) + " is degraded: answering 503, Retry-After 5s."));
  EXPECT_FALSE(mail(sink, "[FIRING", "SipTrunkDown", kBusy)) << "a degraded peer was emailed as down";
  EXPECT_FALSE(paged(sink, "SipTrunkDegraded", kBusy)) << "a warning paged";
  EXPECT_EQ(busy_states.count("down"), 0u) << "the 503 peer read down at the exporter";
  const it::Exposition after = exporter.metrics();
  EXPECT_EQ(after.value("sip_target_retry_after_seconds", {{"target", kBusy}}), 5.0);

  // The blip: one failed probe, re-checked at once (not an interval later), never down.
  ASSERT_TRUE(blip_failed_at) << kBlip << " never failed a probe while stopped";
  ASSERT_TRUE(blip_recheck) << kBlip << " got no successful probe after SIGCONT";
  EXPECT_LT(*blip_recheck, std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(shipped.fast_interval + shipped.jitter + 1.5)))
      << "the re-check after a failure waited more than fast_interval";
  EXPECT_EQ(probes(after, kBlip, "failure"), blip_failures + 1);
  EXPECT_EQ(blip_states, (std::set<std::string>{"up"})) << "the blip peer left up";
  EXPECT_FALSE(mailed_about(sink, kBlip)) << "the blip peer was emailed about";
}

}  // namespace
}  // namespace stx::alerting
