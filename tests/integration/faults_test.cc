// Network faults made for real: peers in a network namespace of the test's own, nftables rules
// inside it that drop, reject, reset or lose what the exporter (in the root namespace) sends,
// peers killed and restarted, the DNS server stopped, file descriptors exhausted.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "dns_server.h"
#include "harness.h"
#include "netns.h"

namespace stx::it {
namespace {

namespace fs = std::filesystem;

constexpr std::uint16_t kSipPort = 5060;  // the namespace is ours: every port is free

TargetSpec target(std::string name, std::string uri) {
  TargetSpec t;
  t.name = std::move(name);
  t.uri = std::move(uri);
  return t;
}

double failures(const Exposition& e, const std::string& t, const std::string& reason) {
  return e.sum("sip_probe_failures_total", {{"target", t}, {"reason", reason}});
}
double successes(const Exposition& e, const std::string& t) {
  return e.sum("sip_probes_total", {{"target", t}, {"result", "success"}});
}
double state_changes(const Exposition& e, const std::string& t) {
  return e.sum("sip_target_state_changes_total", {{"target", t}});
}
bool is_up(const Exposition& e, const std::string& t) {
  return e.value("sip_target_up", {{"target", t}}) == 1.0;
}
bool is_down(const Exposition& e, const std::string& t) {
  return e.value("sip_target_up", {{"target", t}}) == 0.0 &&
         e.sum("sip_probes_total", {{"target", t}}) > 0;
}

double number(const LogLine& l, const std::string& key) {
  const auto it = l.find(key);
  return it == l.end() ? -1 : std::stod(it->second);
}
std::string field(const LogLine& l, const std::string& key) {
  const auto it = l.find(key);
  return it == l.end() ? "" : it->second;
}

std::string describe(const std::vector<LogLine>& lines) {
  std::string s;
  for (const auto& l : lines) {
    for (const auto& [k, v] : l) s += k + "=" + v + " ";
    s += "\n";
  }
  return s;
}

class Faults : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!netns_unavailable()) sweep_stale_namespaces();
  }

  void SetUp() override {
    if (auto why = netns_unavailable()) GTEST_SKIP() << *why;
    ns_ = std::make_unique<NetNamespace>(dir_.path());
  }

  std::string uri(std::string_view extra = "") const {
    return "sip:" + ns_->peer_address() + ":" + std::to_string(kSipPort) + std::string(extra);
  }

  TempDir dir_{"stx-faults"};
  std::unique_ptr<NetNamespace> ns_;
};

TEST_F(Faults, BlackholeFailsAsTimeoutAfterRetransmissionsThenRecovers) {
  auto responder = start_responder(*ns_, kSipPort);
  ExporterConfigSpec cfg;  // interval 1s, timeout 800ms: Timer E sends at 0 and 500 ms
  cfg.targets = {target("trunk", uri())};
  Exporter exporter(dir_.path(), cfg);
  ASSERT_TRUE(exporter.scrape_until(10s, [](const Exposition& e) { return is_up(e, "trunk"); }).ok);

  ns_->set_rules({{nft_drop_all()}, {}});
  const Scraped down =
      exporter.scrape_until(15s, [](const Exposition& e) { return is_down(e, "trunk"); });
  ASSERT_TRUE(down.ok) << down.last.grep("\"trunk\"") << ns_->rules_text();
  EXPECT_GE(failures(down.last, "trunk", "timeout"), cfg.failures_before_down);
  EXPECT_EQ(failures(down.last, "trunk", "refused"), 0.0);
  EXPECT_EQ(state_changes(down.last, "trunk"), 1.0);
  const auto failed = [&] {
    std::vector<LogLine> out;
    for (auto& l : exporter.probe_logs("trunk")) {
      if (field(l, "result") == "failure") out.push_back(std::move(l));
    }
    return out;
  }();
  ASSERT_GE(failed.size(), static_cast<std::size_t>(cfg.failures_before_down));
  for (const LogLine& l : failed) {
    EXPECT_EQ(field(l, "reason"), "timeout") << describe({l});
    EXPECT_GE(number(l, "transmissions"), 2) << "a lost request is retransmitted\n"
                                             << describe({l});
  }

  ns_->clear_rules();
  const Scraped up =
      exporter.scrape_until(10s, [](const Exposition& e) { return is_up(e, "trunk"); });
  ASSERT_TRUE(up.ok) << up.last.grep("\"trunk\"");
  EXPECT_EQ(state_changes(up.last, "trunk"), 2.0);
}

TEST_F(Faults, IcmpPortUnreachableFailsFastAsRefused) {
  auto responder = start_responder(*ns_, kSipPort);
  ExporterConfigSpec cfg;
  cfg.timeout = "900ms";
  cfg.targets = {target("trunk", uri())};
  Exporter exporter(dir_.path(), cfg);
  ASSERT_TRUE(exporter.scrape_until(10s, [](const Exposition& e) { return is_up(e, "trunk"); }).ok);

  ns_->set_rules({{nft_reject_port_unreachable(Proto::udp, kSipPort)}, {}});
  const Scraped down =
      exporter.scrape_until(15s, [](const Exposition& e) { return is_down(e, "trunk"); });
  ASSERT_TRUE(down.ok) << down.last.grep("\"trunk\"") << ns_->rules_text();
  EXPECT_GE(failures(down.last, "trunk", "refused"), cfg.failures_before_down);
  EXPECT_EQ(failures(down.last, "trunk", "timeout"), 0.0);
  std::size_t refused = 0;
  for (const LogLine& l : exporter.probe_logs("trunk")) {
    if (field(l, "result") != "failure") continue;
    ++refused;
    EXPECT_EQ(field(l, "reason"), "refused") << describe({l});
    // Ended by the ICMP error, not by the clock: before the first retransmission (500 ms) and
    // far from the 900 ms timeout.
    EXPECT_EQ(number(l, "transmissions"), 1) << describe({l});
    EXPECT_LT(number(l, "duration_seconds"), 0.45) << describe({l});
  }
  EXPECT_GE(refused, static_cast<std::size_t>(cfg.failures_before_down));
}

TEST_F(Faults, TcpResetsFailAsResetOnTheConnectionThenConnect) {
  auto sipp = start_sipp_tcp(*ns_, kSipPort);
  ExporterConfigSpec cfg;
  cfg.targets = {target("tcp", uri(";transport=tcp"))};
  Exporter exporter(dir_.path(), cfg);
  const Scraped up =
      exporter.scrape_until(10s, [](const Exposition& e) { return is_up(e, "tcp"); });
  ASSERT_TRUE(up.ok) << up.last.grep("\"tcp\"");

  // Refusing new connections leaves the established one alone: it is reused, probes go on.
  ns_->set_rules({{nft_reset_syn(kSipPort)}, {}});
  const double before = successes(up.last, "tcp");
  const Scraped reused = exporter.scrape_until(
      10s, [&](const Exposition& e) { return successes(e, "tcp") >= before + 3; });
  ASSERT_TRUE(reused.ok) << reused.last.grep("\"tcp\"") << ns_->rules_text();
  EXPECT_EQ(reused.last.sum("sip_probes_total", {{"target", "tcp"}, {"result", "failure"}}), 0.0);

  // Resetting every segment: the next request on the connection meets a reset (`reset`), and
  // the reconnection after it is refused (`connect`).
  ns_->set_rules({{nft_reset_all(kSipPort)}, {}});
  const Scraped down = exporter.scrape_until(15s, [](const Exposition& e) {
    return is_down(e, "tcp") && failures(e, "tcp", "reset") >= 1 &&
           failures(e, "tcp", "connect") >= 1;
  });
  ASSERT_TRUE(down.ok) << down.last.grep("\"tcp\"") << ns_->rules_text();
  EXPECT_EQ(failures(down.last, "tcp", "timeout"), 0.0);
  const auto logs = exporter.probe_logs("tcp");
  const auto first_failure = std::find_if(
      logs.begin(), logs.end(), [](const LogLine& l) { return field(l, "result") == "failure"; });
  ASSERT_NE(first_failure, logs.end());
  EXPECT_EQ(field(*first_failure, "reason"), "reset") << describe(logs);
  for (auto it = std::next(first_failure); it != logs.end(); ++it) {
    EXPECT_EQ(field(*it, "reason"), "connect") << describe({*it});
    EXPECT_NE(field(*it, "detail").find("refused"), std::string::npos) << describe({*it});
  }

  ns_->clear_rules();
  EXPECT_TRUE(exporter.scrape_until(10s, [](const Exposition& e) { return is_up(e, "tcp"); }).ok);
}

// 30% of the requests are lost on the way in (answers are not): a UDP probe then fails only if
// all four transmissions of its 5 s timeout are lost, 0.3^4 = 0.8%, and a false down needs
// three such probes in a row (5e-7). Loss both ways would lose a transmission or its answer
// with 1 - 0.7^2 = 51%, fail a probe with 0.51^4 = 6.8%, and make three in a row a matter of
// luck in a one-minute test; the benchmark measures that case over a long run.
TEST_F(Faults, ThirtyPercentIngressLossCausesNoFalseDownWithDefaultHysteresis) {
  auto responder = start_responder(*ns_, kSipPort);
  ExporterConfigSpec cfg;
  cfg.interval = "6s";
  cfg.timeout = "5s";  // the defaults, as a trunk would be probed
  cfg.failures_before_down = 3;
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) {
    names.push_back("lossy-" + std::to_string(i));
    cfg.targets.push_back(target(names.back(), "sip:trunk" + std::to_string(i) + "@" +
                                                   ns_->peer_address() + ":" +
                                                   std::to_string(kSipPort)));
  }
  Exporter exporter(dir_.path(), cfg);
  const auto all = [&](const Exposition& e, auto pred) {
    return std::all_of(names.begin(), names.end(),
                       [&](const std::string& n) { return pred(e, n); });
  };
  // Loss starts once every target is up: a first probe lost is not what this test is about.
  const Scraped up = exporter.scrape_until(15s, [&](const Exposition& e) { return all(e, is_up); });
  ASSERT_TRUE(up.ok) << up.last.grep("sip_target_up");
  ns_->set_rules({{nft_random_drop(Proto::udp, kSipPort, 30)}, {}});

  std::map<std::string, double> start;
  for (const auto& n : names) start[n] = up.last.sum("sip_probes_total", {{"target", n}});
  // Nine more probes each, about a minute.
  const Scraped run = exporter.scrape_until(
      80s,
      [&](const Exposition& e) {
        return all(e, [&](const Exposition& x, const std::string& n) {
          return x.sum("sip_probes_total", {{"target", n}}) >= start[n] + 9;
        });
      },
      500ms);
  ASSERT_TRUE(run.ok) << run.last.grep("sip_probes_total");
  for (const auto& n : names) {
    EXPECT_TRUE(is_up(run.last, n)) << run.last.grep("\"" + n + "\"");
    EXPECT_EQ(state_changes(run.last, n), 0.0) << run.last.grep("\"" + n + "\"");
  }
  for (const LogLine& l :
       log_lines_with_msg(exporter.process().stderr_text(), "target state changed")) {
    EXPECT_EQ(field(l, "from"), "unknown") << "only first verdicts\n" << describe({l});
  }

  // The loss was real: answers that needed a retransmission.
  std::size_t retransmitted = 0, probes = 0;
  for (const auto& n : names) {
    for (const LogLine& l : exporter.probe_logs(n)) {
      ++probes;
      if (field(l, "result") == "success" && number(l, "transmissions") > 1) ++retransmitted;
    }
  }
  EXPECT_GE(retransmitted, 5u) << "of " << probes << " probes; rules:\n" << ns_->rules_text();
}

TEST_F(Faults, PeersKilledAndRestartedGoDownAndComeBack) {
  auto responder = start_responder(*ns_, kSipPort);
  auto sipp = start_sipp_tcp(*ns_, kSipPort);
  ExporterConfigSpec cfg;
  cfg.targets = {target("udp", uri()), target("tcp", uri(";transport=tcp"))};
  Exporter exporter(dir_.path(), cfg);
  ASSERT_TRUE(
      exporter
          .scrape_until(10s, [](const Exposition& e) { return is_up(e, "udp") && is_up(e, "tcp"); })
          .ok);

  responder->kill();
  sipp->kill();
  // Nothing listens any more: the namespace's kernel answers ICMP port unreachable (UDP) and
  // a reset to the SYN (TCP).
  const Scraped down = exporter.scrape_until(
      15s, [](const Exposition& e) { return is_down(e, "udp") && is_down(e, "tcp"); });
  ASSERT_TRUE(down.ok) << down.last.grep("sip_target_up");
  EXPECT_GE(failures(down.last, "udp", "refused"), cfg.failures_before_down);
  EXPECT_GE(failures(down.last, "tcp", "connect"), 1.0);

  auto responder2 = start_responder(*ns_, kSipPort, "responder-2");
  auto sipp2 = start_sipp_tcp(*ns_, kSipPort, "sipp-tcp-2");
  const Scraped back = exporter.scrape_until(
      10s, [](const Exposition& e) { return is_up(e, "udp") && is_up(e, "tcp"); });
  ASSERT_TRUE(back.ok) << back.last.grep("sip_target_up");
  EXPECT_EQ(state_changes(back.last, "udp"), 2.0);
  EXPECT_EQ(state_changes(back.last, "tcp"), 2.0);
  EXPECT_TRUE(exporter.process().running());
  const CheckResult lint = promtool_check_metrics(exporter.get("/metrics").body, dir_.path());
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
}

TEST_F(Faults, DnsServerStoppedKeepsTheLastAnswerForTtlPlusGraceThenFailsAsDnsError) {
  auto responder = start_responder(*ns_, kSipPort);
  DnsZone zone;
  zone.ttl = 1;
  zone.hosts = {{"trunk.example.test", ns_->peer_address(), "", std::nullopt}};
  DnsServer dns(dir_.path(), zone);
  constexpr auto kGrace = 4s;
  constexpr auto kInterval = 1s;
  ExporterConfigSpec cfg;
  cfg.extra_toml = "\n[exporter]\ndns_servers = [" + toml_string(dns.server()) +
                   "]\ndns_min_ttl = \"1s\"\ndns_grace = \"4s\"\n";
  cfg.targets = {target("named", "sip:trunk.example.test:" + std::to_string(kSipPort))};
  Exporter exporter(dir_.path(), cfg);
  const Scraped up =
      exporter.scrape_until(10s, [](const Exposition& e) { return is_up(e, "named"); });
  ASSERT_TRUE(up.ok) << up.last.grep("\"named\"");

  dns.stop();
  const auto stopped = Clock::now();
  const double before = successes(exporter.scrape(), "named");
  // Until the answer is TTL + grace old the target is probed at its last address and stays up.
  const Scraped failing = exporter.scrape_until(20s, [&](const Exposition& e) {
    const bool dns_error = failures(e, "named", "dns_error") >= 1;
    if (!dns_error) {
      EXPECT_TRUE(is_up(e, "named")) << e.grep("\"named\"");
    }
    return dns_error;
  });
  const auto first_error = Clock::now() - stopped;
  ASSERT_TRUE(failing.ok) << failing.last.grep("\"named\"");
  // The last refresh before the stop was at most TTL + one interval earlier.
  EXPECT_GE(first_error, kGrace - kInterval - 500ms);
  EXPECT_GE(successes(failing.last, "named"), before + 2) << "probing went on meanwhile";
  EXPECT_EQ(failures(failing.last, "named", "timeout"), 0.0);
  bool warned = false;
  for (const LogLine& l : log_lines_with_msg(exporter.process().stderr_text(),
                                             "DNS refresh failed; keeping the previous answer")) {
    warned = warned || field(l, "target") == "named";
  }
  EXPECT_TRUE(warned) << tail_lines(exporter.process().stderr_text(), 30);
  // Its address is dropped with the answer.
  EXPECT_TRUE(failing.last.find("sip_address_up", {{"target", "named"}}).empty())
      << failing.last.grep("sip_address_up");
  const Scraped down =
      exporter.scrape_until(10s, [](const Exposition& e) { return is_down(e, "named"); });
  ASSERT_TRUE(down.ok) << down.last.grep("\"named\"");

  dns.restart();
  const Scraped back =
      exporter.scrape_until(15s, [](const Exposition& e) { return is_up(e, "named"); });
  ASSERT_TRUE(back.ok) << back.last.grep("\"named\"");
  EXPECT_EQ(back.last.value("sip_address_up", {{"target", "named"}}), 1.0);
}

// Under RLIMIT_NOFILE 64 with more TCP targets than descriptors (each holds a connection):
// probes that cannot get a socket fail as `connect`, the web server keeps answering, and a
// reload to fewer targets frees descriptors so that every remaining target comes up.
TEST_F(Faults, FileDescriptorsExhaustedAreCountedWithoutStarvingHttpAndAReloadRecovers) {
  auto sipp = start_sipp_tcp(*ns_, kSipPort);
  ExporterConfigSpec cfg;
  cfg.interval = "2s";
  cfg.timeout = "1s";
  cfg.failures_before_down = 1;
  std::vector<std::string> names;
  for (int i = 0; i < 80; ++i) {
    names.push_back("fd-" + std::to_string(i));
    cfg.targets.push_back(target(names.back(), uri(";transport=tcp")));
  }
  const fs::path config = dir_ / "nofile.toml";
  write_file(config, render_config(cfg));
  const std::uint16_t port = free_tcp_port();
  // prlimit sets the limit and execs the exporter: the pid is the exporter's.
  Process exporter("exporter-nofile-64",
                   {require_tool("prlimit").string(), "--nofile=64:64", "--",
                    exporter_binary().string(), "--config.file=" + config.string(),
                    "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=debug"},
                   dir_.path());
  const auto scrape = [&]() -> std::optional<Exposition> {
    try {
      const HttpResponse r = http_get(port, "/metrics", {}, 3s);
      if (r.status == 200) return Exposition::parse(r.body);
    } catch (const std::exception&) {
    }
    return std::nullopt;
  };
  Exposition last;
  const auto scrape_until = [&](Clock::duration timeout, const auto& pred) {
    return wait_until(
        timeout,
        [&] {
          auto e = scrape();
          if (!e) return false;
          last = std::move(*e);
          return pred(last);
        },
        200ms);
  };
  const auto connect_failures = [&](const Exposition& e) {
    return e.sum("sip_probe_failures_total", {{"reason", "connect"}});
  };
  ASSERT_TRUE(scrape_until(15s, [&](const Exposition& e) {
    return connect_failures(e) >= 1 &&
           std::all_of(names.begin(), names.end(), [&](const std::string& n) {
             return e.sum("sip_probes_total", {{"target", n}}) >= 1;
           });
  })) << last.grep("sip_probe_failures_total");
  EXPECT_GE(last.sum("sip_target_up"), 1.0) << "the targets that got a descriptor are up";
  // The web server still has descriptors while the probes have none left.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(scrape()) << "scrape " << i;
  ASSERT_TRUE(exporter.running());

  // The targets whose probes were refused a socket stay; the rest go.
  std::set<std::string> starved;
  for (const LogLine& l : log_lines_with_msg(exporter.stderr_text(), "probe finished")) {
    if (field(l, "reason") == "connect" &&
        field(l, "detail").find("Too many open files") != std::string::npos) {
      starved.insert(field(l, "target"));
    }
  }
  ASSERT_FALSE(starved.empty()) << tail_lines(exporter.stderr_text(), 20);
  ExporterConfigSpec fewer = cfg;
  fewer.targets.clear();
  for (const auto& n : starved) {
    if (fewer.targets.size() < 5) fewer.targets.push_back(target(n, uri(";transport=tcp")));
  }
  write_file(config, render_config(fewer));
  exporter.signal(SIGHUP);
  // SIPp's TCP server (-t t1) ends when a client resets its connection, which closing 75
  // flows at once can do, whenever the reload gets to it; this test is about the
  // exporter's descriptors, so the peer is started again whenever it is found gone.
  int restarts = 0;
  const bool recovered = scrape_until(15s, [&](const Exposition& e) {
    if (!sipp->running()) {
      sipp = start_sipp_tcp(*ns_, kSipPort, "sipp-tcp-again-" + std::to_string(++restarts));
    }
    return e.find("sip_target_up").size() == fewer.targets.size() &&
           std::all_of(fewer.targets.begin(), fewer.targets.end(),
                       [&](const TargetSpec& t) { return is_up(e, t.name); });
  });
  ASSERT_TRUE(recovered) << last.grep("sip_target_up") << tail_lines(exporter.stderr_text(), 20);
  EXPECT_EQ(last.value("sip_exporter_config_last_reload_successful"), 1.0);
  for (const TargetSpec& t : fewer.targets) {
    // Kept by the reload (same settings): the failures stay counted.
    EXPECT_GE(failures(last, t.name, "connect"), 1.0) << last.grep("\"" + t.name + "\"");
  }
  EXPECT_TRUE(exporter.running());
}

}  // namespace
}  // namespace stx::it
