// deploy/ha run for real: two exporters on two vantages (each in a network namespace of
// the test's, joined to ours by a veth), two Prometheus replicas of deploy/ha/prometheus.yml,
// two Alertmanagers in one gossip cluster, VictoriaMetrics as the global view, and the SMTP
// sink in place of the mail server. The services run with the commands of
// deploy/ha/compose.yaml, with addresses and paths (and, for speed, the intervals named
// below) rewritten; the test fails when a flag or setting it rewrites is gone from there.
//
// One stack for every case, in this order (each leaves the stack as it found it, or says
// what it leaves behind):
//   global view   VictoriaMetrics has every target's sip_target_up once per vantage (not
//                 once per replica) and every dashboard query runs against it;
//   (a)           a trunk dies: exactly one email;
//   (d)           the path from one vantage to one trunk is blackholed:
//                 SipTrunkDownFromSomeVantages, no page;
//   (e)           one exporter's uplink (all it sends but its scrape answers) is blackholed:
//                 one SipExporterIsolated, no per-trunk alert from it;
//   (b)           one Prometheus killed, a second trunk dies: exactly one email (then the
//                 Prometheus is started again);
//   (c)           one Alertmanager killed, a trunk dies: exactly one email;
//   (f)           one exporter of the --shard.replicas=2 pair killed: one
//                 SipTrunkExporterDown, no trunk alert.
//
// Timings (test only; the shipped files keep theirs): exporter interval 1 s, timeout
// 0.8 s, failures_before_down 3; scrape and evaluation 1 s; rules rendered with short
// `for`s (kRuleSettings); Alertmanager group_wait 1 s, group_interval 5 s (see there),
// peer timeout kPeerTimeout, gossip every 100 ms.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "alerting_files.h"
#include "dashboard_queries.h"
#include "harness.h"
#include "monitoring_stack.h"
#include "netns.h"
#include "tools.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace stx::alerting {
namespace {

using Clock = it::Clock;

// The rules with `for`s short enough for a test. SipExporterIsolated keeps the shipped
// order (its `for` below that of the alerts it inhibits) with room for the targets of an
// isolated exporter going down up to a probe interval apart.
// The alerts over long windows (availability burn, flapping) are not this test's: a trunk
// dead for seconds burns the test's 5m/1h availability windows and would keep them firing
// for the rest of the run; their `for` is set beyond it (rules_test.yml covers them).
constexpr const char* kRuleSettings =
    "{targetDownFor: '1s', groupDownFor: '1s', someVantagesDownFor: '6s',"
    " exporterIsolatedFor: '2s', targetDegradedFor: '6s', exporterDownFor: '3s',"
    " availabilityBurnFor: '1h', flappingFor: '1h'}";
// Their names: pending the whole run, never firing, never sent.
constexpr const char* kLongWindowAlerts =
    "SipTrunkAvailabilityBudgetBurn|SipTrunkAvailabilityBelowObjective|SipTrunkFlapping";

// Alertmanager's --cluster.peer-timeout: the member at position p of the cluster waits
// p times this before it checks the notification log and sends what nobody has sent.
constexpr auto kPeerTimeout = 2s;
// "Exactly one": after the first email, how long no second one may arrive. A second
// Alertmanager would send at most kPeerTimeout after the first (there are two: position
// 1 waits one peer timeout), plus the spread of the two's group_wait starts (the alert
// reaches both within one evaluation, 1 s) and SMTP delivery; three peer timeouts (6 s)
// cover that with 3 s to spare.
constexpr auto kDuplicateWindow = 3 * kPeerTimeout;
// Any one wait for something that should happen (an alert firing, an email arriving).
constexpr auto kBound = 40s;

constexpr std::uint16_t kExporterPort = 15060;  // in the namespaces: every port is free

// The trunks: each a SIP responder of its own in our namespace.
const std::array<const char*, 4> kTrunks = {"trunk-1", "trunk-2", "trunk-3", "trunk-4"};

std::string seconds(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
}

// deploy/ha/compose.yaml's `command` of `service`, with the flags named in `rewrite`
// (name before '=') given the new value, and `add` appended. Throws when a flag to
// rewrite is not there.
std::vector<std::string> compose_command(const json& compose, const std::string& service,
                                         const std::map<std::string, std::string>& rewrite,
                                         const std::vector<std::string>& add = {}) {
  const json& command = compose.at("services").at(service).at("command");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& a : command) {
    std::string arg = a.get<std::string>();
    std::string name = arg.substr(0, arg.find('='));
    if (auto it = rewrite.find(name); it != rewrite.end()) {
      seen.insert(name);
      out.push_back(name + "=" + it->second);
    } else {
      out.push_back(arg);
    }
  }
  for (const auto& [name, value] : rewrite) {
    if (!seen.count(name)) {
      throw std::runtime_error("deploy/ha/compose.yaml: service " + service + " has no " + name +
                               ": the HA test rewrites it (update the test with the file)");
    }
  }
  out.insert(out.end(), add.begin(), add.end());
  return out;
}

json& existing(json& object, const std::string& key) {
  if (!object.is_object() || !object.contains(key)) {
    throw std::runtime_error("deploy/ha/prometheus.yml has no " + key +
                             ": the HA test rewrites it (update the test with the file)");
  }
  return object[key];
}

// A service of the stack on a loopback port: started and stopped again by the test.
class Service {
 public:
  Service(std::string name, std::vector<std::string> argv, fs::path dir, std::uint16_t port,
          std::string ready_path)
      : name_(std::move(name)),
        argv_(std::move(argv)),
        dir_(std::move(dir)),
        port_(port),
        ready_path_(std::move(ready_path)) {
    start();
  }
  void start() {
    process_ = start_and_wait_ready(name_ + (starts_ ? "-" + std::to_string(starts_) : ""), argv_,
                                    dir_, port_, ready_path_);
    ++starts_;
  }
  void kill() { process_->kill(); }
  std::uint16_t port() const { return port_; }
  const std::string& name() const { return name_; }

  // GET /api/v1/<path_and_query> and its parsed body.
  json api(const std::string& path_and_query) const {
    auto r = it::http_get(port_, "/api/v1/" + path_and_query, {}, 10s);
    try {
      return json::parse(r.body);
    } catch (const json::exception&) {
      throw std::runtime_error(name_ + " /api/v1/" + path_and_query + ": HTTP " +
                               std::to_string(r.status) + ": " + r.body.substr(0, 500));
    }
  }
  // An instant query's data.result; throws on an error.
  json query(const std::string& promql) const {
    json body = api("query?query=" + url_encode(promql));
    if (body.value("status", "") != "success") {
      throw std::runtime_error(name_ + " query failed: " + promql + ": " + body.dump());
    }
    return body.at("data").at("result");
  }

 private:
  std::string name_;
  std::vector<std::string> argv_;
  fs::path dir_;
  std::uint16_t port_;
  std::string ready_path_;
  int starts_ = 0;
  std::unique_ptr<it::Process> process_;
};

// An exporter inside a namespace, listening on its end of the veth.
class VantageExporter {
 public:
  VantageExporter(const it::NetNamespace& ns, std::string vantage, const fs::path& config,
                  std::vector<std::string> shard_flags)
      : ns_(ns), vantage_(std::move(vantage)) {
    std::vector<std::string> argv = {it::exporter_binary().string(),
                                     "--config.file=" + config.string(),
                                     "--web.listen-address=" + address(), "--log.level=info"};
    argv.insert(argv.end(), shard_flags.begin(), shard_flags.end());
    process_ = ns.spawn("exporter-" + vantage_, argv);
    bool up = it::wait_until(10s, [&] {
      return !process_->running() ||
             it::port_bound_in(process_->pid(), it::Proto::tcp, kExporterPort);
    });
    if (!up || !process_->running()) {
      throw std::runtime_error("exporter " + vantage_ + " did not listen on " + address() + ":\n" +
                               process_->describe());
    }
  }
  std::string address() const { return ns_.peer_address() + ":" + std::to_string(kExporterPort); }
  const std::string& vantage() const { return vantage_; }
  const it::NetNamespace& ns() const { return ns_; }
  void kill() { process_->kill(); }

 private:
  const it::NetNamespace& ns_;
  std::string vantage_;
  std::unique_ptr<it::Process> process_;
};

class HaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!it::netns_unavailable()) it::sweep_stale_namespaces();
  }

  void SetUp() override {
    if (auto why = it::netns_unavailable()) GTEST_SKIP() << *why;
    require_tool("victoria-metrics");
    const auto started = Clock::now();
    const fs::path dir = dir_.path();
    compose_ = load_yaml(repo_root() / "deploy" / "ha" / "compose.yaml", dir);

    // Two vantages. The trunks answer in our namespace, on fra's end of its veth; ash
    // reaches that address through its own veth (a route to it), as fra does directly.
    fra_ns_ = std::make_unique<it::NetNamespace>(dir);
    ash_ns_ = std::make_unique<it::NetNamespace>(dir);
    trunk_address_ = fra_ns_->root_address();
    ash_ns_->run("ip-route", {require_tool("ip").string(), "route", "add", trunk_address_ + "/32",
                              "via", ash_ns_->root_address()});
    it::ExporterConfigSpec spec;  // interval 1s, timeout 800ms, failures_before_down 3
    for (std::size_t i = 0; i < kTrunks.size(); ++i) {
      trunk_ports_.push_back(it::free_udp_port());
      start_trunk(i);
      // A site each: no two trunks form a carrier/site group (SipTrunkGroupDown).
      spec.targets.push_back({kTrunks[i],
                              "sip:" + trunk_address_ + ":" + std::to_string(trunk_ports_[i]),
                              {{"carrier", "acme"}, {"site", "site-" + std::to_string(i + 1)}},
                              {}});
    }
    const fs::path config = dir / "exporter.toml";
    it::write_file(config, it::render_config(spec));
    fra_ = std::make_unique<VantageExporter>(*fra_ns_, "fra", config,
                                             compose_command(compose_, "exporter-fra", {}));
    ash_ = std::make_unique<VantageExporter>(*ash_ns_, "ash", config,
                                             compose_command(compose_, "exporter-ash", {}));

    sink_ = std::make_unique<NotificationSink>(dir);

    // The Alertmanager cluster: each lists the other as its peer, as compose.yaml does.
    // group_wait 1 s; group_interval 5 s, longer than the two replicas' evaluations are
    // apart (up to the 1 s interval): when one replica sees a trunk back a second before
    // the other, Alertmanager holds "resolved" (from one), then "firing" (the other's
    // last evaluation), then "resolved" again. A group_interval shorter than that would
    // notify each of them: a second [FIRING] email after the resolved one. (The shipped
    // 5m against the shipped 15 s interval does the same.)
    const json am_config = alertmanager_test_config(dir, *sink_, "1s", "5s");
    const std::array<std::uint16_t, 2> gossip = {it::free_tcp_port(), it::free_tcp_port()};
    for (int i = 0; i < 2; ++i) {
      const std::string name = i == 0 ? "alertmanager-a" : "alertmanager-b";
      const fs::path am_dir = dir / name;
      fs::create_directories(am_dir / "data");
      it::write_file(am_dir / "alertmanager.yml", am_config.dump(2));
      const std::uint16_t port = it::free_tcp_port();
      std::vector<std::string> argv = {require_tool("prometheus-alertmanager").string()};
      for (auto& a :
           compose_command(compose_, name,
                           {{"--config.file", (am_dir / "alertmanager.yml").string()},
                            {"--storage.path", (am_dir / "data").string()},
                            {"--cluster.listen-address", "127.0.0.1:" + std::to_string(gossip[i])},
                            {"--cluster.peer", "127.0.0.1:" + std::to_string(gossip[1 - i])}},
                           {"--web.listen-address=127.0.0.1:" + std::to_string(port),
                            "--cluster.peer-timeout=" + std::to_string(kPeerTimeout.count()) + "s",
                            "--cluster.gossip-interval=100ms", "--cluster.pushpull-interval=1s",
                            "--log.level=debug"})) {
        argv.push_back(a);
      }
      alertmanagers_.push_back(std::make_unique<Service>(name, argv, am_dir, port, "/-/ready"));
    }

    // VictoriaMetrics, deduplicating at the test's scrape interval; data visible to
    // queries after 1 s rather than 30 s (-search.latencyOffset, test only).
    {
      const std::uint16_t port = it::free_tcp_port();
      std::vector<std::string> argv = {require_tool("victoria-metrics").string()};
      for (auto& a : compose_command(compose_, "victoria-metrics",
                                     {{"-storageDataPath", (dir / "victoria-metrics").string()},
                                      {"-httpListenAddr", "127.0.0.1:" + std::to_string(port)},
                                      {"-dedup.minScrapeInterval", "1s"}},
                                     {"-search.latencyOffset=1s", "-search.disableCache"})) {
        argv.push_back(a);
      }
      vm_ = std::make_unique<Service>("victoria-metrics", argv, dir, port, "/health");
    }

    // The Prometheus pair: deploy/ha/prometheus.yml, its addresses and intervals rewritten.
    const fs::path rules = render_rules(dir, kRuleSettings);
    json prom = load_yaml(repo_root() / "deploy" / "ha" / "prometheus.yml", dir);
    json& global = existing(prom, "global");
    existing(global, "scrape_interval") = "1s";
    existing(global, "evaluation_interval") = "1s";
    global["scrape_timeout"] = "1s";
    EXPECT_EQ(existing(global, "external_labels"), json({{"replica", "${REPLICA}"}}));
    existing(prom, "rule_files") = json::array({rules.string()});
    bool scraped = false;
    for (json& job : existing(prom, "scrape_configs")) {
      if (job.value("job_name", "") != "sip_trunk_exporter") continue;
      for (json& sc : existing(job, "static_configs")) {
        const std::string vantage = existing(sc, "labels").value("vantage", "");
        ASSERT_TRUE(vantage == "fra" || vantage == "ash") << sc.dump();
        existing(sc, "targets") =
            json::array({vantage == "fra" ? fra_->address() : ash_->address()});
        scraped = true;
      }
    }
    ASSERT_TRUE(scraped) << "deploy/ha/prometheus.yml scrapes no sip_trunk_exporter job";
    json& alerting = existing(prom, "alerting");
    json& ams = existing(existing(alerting, "alertmanagers").at(0), "static_configs").at(0);
    existing(ams, "targets") =
        json::array({"127.0.0.1:" + std::to_string(alertmanagers_[0]->port()),
                     "127.0.0.1:" + std::to_string(alertmanagers_[1]->port())});
    json& rw = existing(prom, "remote_write").at(0);
    existing(rw, "url") = "http://127.0.0.1:" + std::to_string(vm_->port()) + "/api/v1/write";
    rw["queue_config"] = {{"batch_send_deadline", "1s"}};  // default 5 s
    const fs::path prom_config = dir / "prometheus.yml";
    it::write_file(prom_config, prom.dump(2));
    for (const std::string replica : {"a", "b"}) {
      const std::string name = "prometheus-" + replica;
      const std::uint16_t port = it::free_tcp_port();
      std::vector<std::string> argv = {require_tool("env").string(), "REPLICA=" + replica,
                                       require_tool("prometheus").string()};
      for (auto& a : compose_command(compose_, name,
                                     {{"--config.file", prom_config.string()},
                                      {"--storage.tsdb.path", (dir / (name + "-data")).string()}},
                                     {"--web.listen-address=127.0.0.1:" + std::to_string(port)})) {
        argv.push_back(a);
      }
      prometheus_.push_back(std::make_unique<Service>(name, argv, dir, port, "/-/ready"));
    }

    // Steady state: both replicas see every trunk up from both vantages, both know both
    // Alertmanagers, and the Alertmanagers are one cluster of two.
    const std::string all_up = "count(sip_target_up == 1) == " + std::to_string(2 * kTrunks.size());
    bool steady = it::wait_until(
        kBound,
        [&] {
          for (auto& p : prometheus_) {
            if (p->query(all_up).empty()) return false;
            if (p->api("alertmanagers")["data"]["activeAlertmanagers"].size() != 2) return false;
          }
          for (auto& am : alertmanagers_) {
            auto r = it::http_get(am->port(), "/api/v2/status", {}, 5s);
            if (json::parse(r.body)["cluster"]["peers"].size() != 2) return false;
          }
          return true;
        },
        250ms);
    ASSERT_TRUE(steady) << "the stack did not reach its steady state within " << seconds(kBound);
    for (auto& p : prometheus_)
      ASSERT_TRUE(p->query("ALERTS").empty()) << p->query("ALERTS").dump();
    std::cout << "[ha] stack up in " << seconds(Clock::now() - started) << std::endl;
  }

  void start_trunk(std::size_t i) {
    trunks_.resize(kTrunks.size());
    trunks_[i] = std::make_unique<it::Process>(
        std::string(kTrunks[i]) + "-" + std::to_string(++trunk_starts_),
        std::vector<std::string>{it::responder_binary().string(), "--port",
                                 std::to_string(trunk_ports_[i]), "--address", trunk_address_},
        dir_.path());
    ASSERT_TRUE(it::wait_until(10s, [&] {
      return !trunks_[i]->running() ||
             it::port_bound_in(trunks_[i]->pid(), it::Proto::udp, trunk_ports_[i]);
    }));
    ASSERT_TRUE(trunks_[i]->running()) << trunks_[i]->describe();
  }

  // Every Prometheus that runs.
  std::vector<Service*> live_prometheus() {
    std::vector<Service*> out;
    for (auto& p : prometheus_) {
      try {
        p->api("query?query=1");
        out.push_back(p.get());
      } catch (const std::exception&) {
      }
    }
    return out;
  }

  // Waits until no alert fires or is pending in any Prometheus that runs and the
  // Alertmanagers that run hold no active alert: the next case starts from silence.
  void wait_quiet(const std::string& after) {
    json last;
    bool quiet = it::wait_until(
        kBound,
        [&] {
          for (Service* p : live_prometheus()) {
            last = p->query(std::string("ALERTS{alertname!~\"") + kLongWindowAlerts + "\"}");
            if (!last.empty()) return false;
          }
          for (auto& am : alertmanagers_) {
            try {
              auto r =
                  it::http_get(am->port(), "/api/v2/alerts?active=true&silenced=false", {}, 5s);
              last = json::parse(r.body);
              if (!last.empty()) return false;
            } catch (const std::exception&) {
              // a killed Alertmanager
            }
          }
          return true;
        },
        250ms);
    ASSERT_TRUE(quiet) << "alerts still active " << seconds(kBound) << " after " << after << ": "
                       << last.dump();
  }

  // Emails since `from` (an index into the sink's emails) whose subject starts "[FIRING"
  // and names `alertname` (any when empty) and `word` (a target or an instance).
  std::vector<json> firing(std::size_t from, const std::string& alertname,
                           const std::string& word = "") {
    std::vector<json> out;
    auto mails = sink_->mails();
    for (std::size_t i = from; i < mails.size(); ++i) {
      const std::string subject = mails[i].value("subject", "");
      if (subject.rfind("[FIRING", 0) == 0 &&
          (alertname.empty() || subject.find(" " + alertname + " ") != std::string::npos) &&
          subject.find(word) != std::string::npos) {
        out.push_back(mails[i]);
      }
    }
    return out;
  }

  // Waits for the first matching email, then kDuplicateWindow more; returns all of them.
  std::vector<json> exactly_once(std::size_t from, const std::string& alertname,
                                 const std::string& word, const Clock::time_point& since,
                                 const std::string& what) {
    bool got = it::wait_until(
        kBound, [&] { return !firing(from, alertname, word).empty(); }, 100ms);
    const auto first = Clock::now();
    std::cout << "[ha] " << what << ": " << alertname << " emailed after "
              << (got ? seconds(first - since) : "nothing within " + seconds(kBound)) << std::endl;
    if (!got) return {};
    std::this_thread::sleep_for(kDuplicateWindow);
    auto mails = firing(from, alertname, word);
    // One alert in it, not one per Prometheus replica: the pair's alerts group together
    // (same alertname and target), so an alert that kept `replica` would still make one
    // email, of two alerts ("[FIRING:2]").
    for (const auto& m : mails) {
      EXPECT_EQ(m.value("subject", "").rfind("[FIRING:1] ", 0), 0u)
          << what << ": " << m.value("subject", "") << "\n"
          << m.value("text", "");
    }
    return mails;
  }

  // PagerDuty "trigger" events (pages; Opsgenie gets the same) among the posts since
  // `from`. Not the resolves: an earlier case's may still arrive.
  std::vector<json> pages(std::size_t from) {
    auto posts = sink_->posts();
    std::vector<json> out;
    for (std::size_t i = from; i < posts.size(); ++i) {
      const json& p = posts[i];
      if (p.value("path", "") == "/pagerduty" &&
          p.at("body").value("event_action", "") == "trigger") {
        out.push_back(p);
      }
    }
    return out;
  }

  std::string mail_subjects(std::size_t from = 0) {
    std::string s;
    auto mails = sink_->mails();
    for (std::size_t i = from; i < mails.size(); ++i)
      s += "  " + mails[i].value("subject", "") + "\n";
    return s;
  }

  // A trunk dies (its responder is killed): exactly one email and one page about it,
  // counted past the duplicate window; then it comes back and the stack goes quiet again.
  void trunk_dies_once(std::size_t trunk, const std::string& what) {
    const std::size_t mails_before = sink_->mails().size();
    const std::size_t pages_before = sink_->posts().size();
    const auto killed = Clock::now();
    trunks_[trunk]->kill();
    auto mails = exactly_once(mails_before, "SipTrunkDown", kTrunks[trunk], killed, what);
    EXPECT_EQ(mails.size(), 1u) << what << ": emails about " << kTrunks[trunk] << ":\n"
                                << mail_subjects(mails_before);
    // And one page (the same route's pager receiver, deduplicated alike).
    const auto paged = pages(pages_before);
    EXPECT_EQ(paged.size(), 1u) << what << ": " << json(paged).dump();
    start_trunk(trunk);
    wait_quiet(what);
  }

  it::TempDir dir_{"stx-ha"};
  json compose_;
  std::unique_ptr<it::NetNamespace> fra_ns_, ash_ns_;
  std::string trunk_address_;
  std::vector<std::uint16_t> trunk_ports_;
  std::vector<std::unique_ptr<it::Process>> trunks_;
  int trunk_starts_ = 0;
  std::unique_ptr<VantageExporter> fra_, ash_;
  std::unique_ptr<NotificationSink> sink_;
  std::vector<std::unique_ptr<Service>> alertmanagers_;
  std::unique_ptr<Service> vm_;
  std::vector<std::unique_ptr<Service>> prometheus_;
};

TEST_F(HaTest, PairsClusterAndVantagesNotifyOnceAndFailOver) {
  const auto started = Clock::now();
  const std::size_t n = kTrunks.size();

  // --- The global view ---------------------------------------------------------------
  {
    SCOPED_TRACE("global view (VictoriaMetrics)");
    // Every target's sip_target_up, once per exporter: `replica` is dropped before the
    // write, so the two replicas' samples are one series (not two).
    json up;
    bool all = it::wait_until(
        kBound,
        [&] {
          up = vm_->query("sip_target_up");
          return up.size() == 2 * n;
        },
        250ms);
    ASSERT_TRUE(all) << "VictoriaMetrics: " << up.dump();
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& s : up) {
      const json& m = s.at("metric");
      EXPECT_FALSE(m.contains("replica")) << m.dump();
      EXPECT_EQ(s.at("value").at(1), "1") << m.dump();
      seen.insert({m.value("target", ""), m.value("vantage", "")});
    }
    for (const char* t : kTrunks) {
      EXPECT_TRUE(seen.count({t, "fra"}) && seen.count({t, "ash"}))
          << t << " missing: " << up.dump();
    }
    // Deduplicated: both replicas write a sample a second per series; VictoriaMetrics
    // keeps one per -dedup.minScrapeInterval (1 s), so 10 s hold about 10, not 20. First
    // wait until 10 s of samples have arrived (remote write starts a few seconds late).
    double samples = 0;
    it::wait_until(
        kBound,
        [&] {
          json counts =
              vm_->query("count_over_time(sip_target_up{target=\"trunk-1\",vantage=\"fra\"}[10s])");
          samples =
              counts.size() == 1 ? std::stod(counts.at(0).at("value").at(1).get<std::string>()) : 0;
          return samples >= 8;
        },
        500ms);
    std::cout << "[ha] VictoriaMetrics: " << samples << " samples of one series in 10 s"
              << std::endl;
    EXPECT_GE(samples, 8) << "VictoriaMetrics did not fill 10 s of one series";
    EXPECT_LE(samples, 12) << "two replicas' samples were not deduplicated";

    // The dashboards against the global view. The trunks answer OPTIONS over UDP: no
    // TLS, registration or INVITE series; no /probe job runs here.
    const std::map<std::string, std::string> vars = {{"$job", "sip_trunk_exporter"},
                                                     {"$instance", ".*"},
                                                     {"$carrier", ".*"},
                                                     {"$site", ".*"},
                                                     {"$probe_job", "sip_probe"},
                                                     {"$probe_target", ".*"},
                                                     {"$target", ".*"}};
    auto vm_api = [&](const std::string& call) { return vm_->api(call); };
    const std::set<std::string> absent = {"sip_tls_", "sip_target_registered_contacts",
                                          "sip_invite_", "job=\"sip_probe\"", "job=~\"sip_probe\""};
    run_dashboard_queries(vm_api, "sip-trunk-overview.json", vars, true, absent);
    auto one = vars;
    one["$target"] = kTrunks[0];
    run_dashboard_queries(vm_api, "sip-trunk-target.json", one, true, absent);
  }

  // --- (a) a trunk dies: exactly one email -----------------------------------------------
  {
    SCOPED_TRACE("(a) a trunk dies");
    trunk_dies_once(0, "(a) trunk-1 killed");
  }

  // --- (d) one vantage's path to one trunk blackholed --------------------------------------
  {
    SCOPED_TRACE("(d) the path from fra to trunk-3 blackholed");
    const std::size_t mails_before = sink_->mails().size();
    const std::size_t pages_before = sink_->posts().size();
    const auto cut = Clock::now();
    fra_ns_->set_rules({{},
                        {"ip daddr " + trunk_address_ + " udp dport " +
                         std::to_string(trunk_ports_[2]) + " drop"}});
    auto mails = exactly_once(mails_before, "SipTrunkDownFromSomeVantages", kTrunks[2], cut, "(d)");
    ASSERT_EQ(mails.size(), 1u) << mail_subjects(mails_before) << fra_ns_->rules_text();
    EXPECT_THAT(mails[0]["text"].get<std::string>(), ::testing::HasSubstr("vantage=fra"));
    // No page: nothing critical (SipTrunkDown needs ash to see it down too).
    EXPECT_TRUE(pages(pages_before).empty()) << json(pages(pages_before)).dump();
    EXPECT_TRUE(firing(mails_before, "SipTrunkDown").empty()) << mail_subjects(mails_before);
    for (Service* p : live_prometheus()) {
      EXPECT_TRUE(p->query("ALERTS{severity=\"critical\"}").empty()) << p->name();
    }
    fra_ns_->clear_rules();
    wait_quiet("(d)");
  }

  // --- (e) one exporter's whole uplink blackholed ------------------------------------------
  {
    SCOPED_TRACE("(e) fra's uplink blackholed");
    const std::size_t mails_before = sink_->mails().size();
    const std::size_t pages_before = sink_->posts().size();
    const auto cut = Clock::now();
    // Everything fra sends out of its namespace but the answers to the scrapes.
    fra_ns_->set_rules({{},
                        {"oifname \"veth0\" tcp sport " + std::to_string(kExporterPort) + " accept",
                         "oifname \"veth0\" drop"}});
    auto mails = exactly_once(mails_before, "SipExporterIsolated", fra_->address(), cut, "(e)");
    ASSERT_EQ(mails.size(), 1u) << mail_subjects(mails_before) << fra_ns_->rules_text();
    // Its per-trunk alerts fire in Prometheus but are inhibited: wait until they have
    // fired, then past group_wait and the duplicate window, and look for them.
    bool fired = it::wait_until(
        kBound,
        [&] {
          auto p = live_prometheus();
          return !p.empty() && p[0]->query(
                                       "count(ALERTS{alertname=\"SipTrunkDownFromSomeVantages\","
                                       "alertstate=\"firing\","
                                       "vantage=\"fra\"}) == " +
                                       std::to_string(n))
                                       .size() == 1;
        },
        250ms);
    EXPECT_TRUE(fired)
        << "fra's SipTrunkDownFromSomeVantages never fired: the inhibition was not tested";
    std::this_thread::sleep_for(kDuplicateWindow);
    EXPECT_EQ(firing(mails_before, "").size(), 1u)
        << "notifications besides the one SipExporterIsolated:\n"
        << mail_subjects(mails_before);
    // One page: SipExporterIsolated (PagerDuty; Opsgenie likewise), no per-trunk one.
    const auto paged = pages(pages_before);
    ASSERT_EQ(paged.size(), 1u) << json(paged).dump();
    EXPECT_THAT(paged[0].dump(), ::testing::HasSubstr("SipExporterIsolated"));
    fra_ns_->clear_rules();
    wait_quiet("(e)");
  }

  // --- (b) one Prometheus killed, a second trunk dies --------------------------------------
  {
    SCOPED_TRACE("(b) prometheus-a killed");
    prometheus_[0]->kill();
    trunk_dies_once(1, "(b) prometheus-a killed, trunk-2 killed");
    prometheus_[0]->start();  // same data and port: back for the next cases
    ASSERT_TRUE(it::wait_until(
        kBound,
        [&] {
          return !prometheus_[0]
                      ->query("count(sip_target_up == 1) == " + std::to_string(2 * n))
                      .empty();
        },
        250ms));
  }

  // --- (c) one Alertmanager killed, a trunk dies -------------------------------------------
  {
    SCOPED_TRACE("(c) alertmanager-a killed");
    alertmanagers_[0]->kill();
    trunk_dies_once(3, "(c) alertmanager-a killed, trunk-4 killed");
  }

  // --- (f) one exporter of the replica pair killed -----------------------------------------
  {
    SCOPED_TRACE("(f) exporter ash killed (--shard.replicas=2)");
    const std::size_t mails_before = sink_->mails().size();
    const auto killed = Clock::now();
    ash_->kill();
    auto mails = exactly_once(mails_before, "SipTrunkExporterDown", ash_->address(), killed, "(f)");
    EXPECT_EQ(mails.size(), 1u) << mail_subjects(mails_before);
    // Every trunk still watched from fra: no trunk alert, no other notification.
    EXPECT_EQ(firing(mails_before, "").size(), 1u)
        << "notifications besides the one SipTrunkExporterDown:\n"
        << mail_subjects(mails_before);
    for (Service* p : live_prometheus()) {
      EXPECT_TRUE(p->query(std::string("ALERTS{alertname!~\"SipTrunkExporterDown|") +
                           kLongWindowAlerts + "\"}")
                      .empty())
          << p->name() << ": " << p->query("ALERTS").dump();
    }
  }

  std::cout << "[ha] all cases in " << seconds(Clock::now() - started) << std::endl;
}

}  // namespace
}  // namespace stx::alerting
