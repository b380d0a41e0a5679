// The exporter binary against hostile and broken SIP peers (tests/integration/hostile_peer.h):
// foreign identifiers, spoofed sources, duplicates, late answers, provisional-only answers,
// 503s, garbage and oversized datagrams, stalled and oversized TCP streams, and a flood of
// unsolicited responses while healthy targets are probed. Each case checks how the probe
// is classified, what is counted as dropped, that memory stays bounded and that the
// exporter is still alive and serving /metrics at the end.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "hostile_peer.h"

namespace stx::it {
namespace {

constexpr const char* kUnmatched = "sip_exporter_unmatched_responses_total";
constexpr const char* kInvalid = "sip_exporter_invalid_messages_total";
constexpr double kRssHeadroomKib = 64 * 1024;  // the stated bound: +64 MiB over the start

// This test binary and the exporter come from the same build: unoptimised or sanitized
// ones drain a UDP flood several times slower than a release build.
#if !defined(__OPTIMIZE__) || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSlowBuild = true;
#else
constexpr bool kSlowBuild = false;
#endif

TargetSpec target(std::string name, const HostilePeer& peer,
                  std::vector<std::pair<std::string, std::string>> overrides = {}) {
  return TargetSpec{std::move(name), peer.uri(), {}, std::move(overrides)};
}

double metric(const Exposition& e, const std::string& name, const std::string& t,
              Labels more = {}) {
  more["target"] = t;
  return e.sum(name, more);
}

double probes(const Exposition& e, const std::string& t) {
  return metric(e, "sip_probes_total", t);
}

// VmRSS of a process, KiB.
double rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6));
  }
  throw std::runtime_error("no VmRSS in /proc/" + std::to_string(pid) + "/status");
}

// CPU seconds (user + system) a process has used.
double cpu_seconds(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream f(stat.substr(stat.rfind(')') + 2));  // the name may hold spaces
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && f >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Receive-queue drops of the UDP socket bound to `port` (/proc/net/udp, last column).
double udp_drops(std::uint16_t port) {
  std::istringstream in(read_file("/proc/net/udp"));
  std::string line;
  std::getline(in, line);
  double drops = 0;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string slot, local;
    f >> slot >> local;
    if (std::stoul(local.substr(local.find(':') + 1), nullptr, 16) != port) continue;
    std::string field;
    while (f >> field) {
    }
    drops += std::stod(field);
  }
  return drops;
}

// How many "dropped unmatched response" / "dropped invalid message" debug lines carry
// each `why`.
std::map<std::string, int> dropped_by_why(Exporter& exporter, std::string_view msg) {
  std::map<std::string, int> out;
  for (const LogLine& l : log_lines_with_msg(exporter.process().stderr_text(), msg)) {
    auto it = l.find("why");
    ++out[it == l.end() ? "<none>" : it->second];
  }
  return out;
}

std::string describe(const std::map<std::string, int>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += k + "=" + std::to_string(v) + " ";
  return s.empty() ? "(none)" : s;
}

int get(const std::map<std::string, int>& m, const std::string& k) {
  const auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

// The exporter's log lines with message `msg`, once there is one (empty after 5 s).
std::vector<LogLine> wait_for_log(Exporter& exporter, std::string_view msg) {
  std::vector<LogLine> lines;
  wait_until(5s, [&] {
    lines = log_lines_with_msg(exporter.process().stderr_text(), msg);
    return !lines.empty();
  });
  return lines;
}

// Every case ends here: the process is alive and /metrics answers.
void expect_alive(Exporter& exporter) {
  EXPECT_TRUE(exporter.process().running()) << exporter.process().describe();
  EXPECT_NO_THROW(exporter.scrape()) << "/metrics no longer answers";
}

class Hostile : public ::testing::Test {
 protected:
  ExporterConfigSpec base() const {
    ExporterConfigSpec cfg;
    cfg.interval = "1s";
    cfg.timeout = "800ms";
    cfg.failures_before_down = 1;
    return cfg;
  }
  TempDir dir_{"stx-hostile"};
};

// ---------------------------------------------------------------------------
// UDP

// Responses with one identifier wrong, or with every identifier right but from another
// port or another loopback address, answer nothing: each is dropped under its own why, the
// probe retransmits as if nothing came and times out.
TEST_F(Hostile, ForeignIdentifiersAndSpoofedSourcesAreDroppedAndTheProbeTimesOut) {
  auto peer_with = [](Reply r) {
    HostileOptions o;
    o.script = {Step{{std::move(r)}}};
    return std::make_unique<HostilePeer>(std::move(o));
  };
  Reply other_port;
  other_port.tag = "other_port";
  other_port.from = ReplyFrom::other_port;
  Reply other_address;
  other_address.tag = "other_address";
  other_address.from = ReplyFrom::other_address;
  const std::map<std::string, std::unique_ptr<HostilePeer>> peers = [&] {
    std::map<std::string, std::unique_ptr<HostilePeer>> m;
    m["wrong-branch"] = peer_with(fault_reply(Fault::wrong_branch, "wrong_branch"));
    m["wrong-call-id"] = peer_with(fault_reply(Fault::wrong_call_id, "wrong_call_id"));
    m["wrong-cseq"] = peer_with(fault_reply(Fault::wrong_cseq, "wrong_cseq"));
    m["other-port"] = peer_with(other_port);
    m["other-address"] = peer_with(other_address);
    return m;
  }();
  ExporterConfigSpec cfg = base();
  for (const auto& [name, peer] : peers) cfg.targets.push_back(target(name, *peer));
  Exporter exporter(dir_.path(), cfg);

  const Scraped s = exporter.scrape_until(10s, [&](const Exposition& e) {
    for (const auto& [name, peer] : peers) {
      if (metric(e, "sip_probe_failures_total", name, {{"reason", "timeout"}}) < 2) return false;
    }
    return true;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("sip_probe");
  for (const auto& [name, peer] : peers) {
    SCOPED_TRACE(name);
    const Exposition& e = s.last;
    EXPECT_EQ(metric(e, "sip_probes_total", name, {{"result", "success"}}), 0);
    EXPECT_EQ(metric(e, "sip_probe_responses_total", name), 0);
    EXPECT_EQ(metric(e, "sip_probe_failures_total", name),
              metric(e, "sip_probe_failures_total", name, {{"reason", "timeout"}}));
    EXPECT_EQ(e.value("sip_target_up", {{"target", name}}), 0.0);
    EXPECT_EQ(e.value("sip_target_last_status_code", {{"target", name}}), 0.0);
    // The answers did not stop Timer E: at 0 and 0.5 s within the 0.8 s timeout.
    std::vector<int> tx = peer->transmissions();
    ASSERT_GE(tx.size(), 2u);
    tx.pop_back();  // perhaps still in progress
    for (int n : tx) EXPECT_EQ(n, 2) << "transmissions per probe";
  }

  // Every wrong answer the peers sent is counted once, under its why.
  const auto sent_by_why = [&] {
    return std::map<std::string, int>{
        {"wrong_branch", peers.at("wrong-branch")->sent("wrong_branch")},
        {"wrong_call_id", peers.at("wrong-call-id")->sent("wrong_call_id")},
        {"wrong_cseq", peers.at("wrong-cseq")->sent("wrong_cseq")},
        {"wrong_source", peers.at("other-port")->sent("other_port") +
                             peers.at("other-address")->sent("other_address")}};
  };
  std::map<std::string, int> want, got;
  std::string counted;
  // The peers keep answering: compare in a quiet moment between probes.
  const bool settled = wait_until(5s, [&] {
    want = sent_by_why();
    got = dropped_by_why(exporter, "dropped unmatched response");
    const Exposition now = exporter.scrape();
    counted = now.grep(kUnmatched);
    int sum = 0;
    bool labelled_ok = true;  // once the counter has a why label, it must agree too
    for (const auto& [why, n] : want) {
      sum += n;
      if (!now.find(kUnmatched, {{"why", why}}).empty()) {
        labelled_ok = labelled_ok && now.sum(kUnmatched, {{"why", why}}) == n;
      }
    }
    return got == want && now.sum(kUnmatched) == sum && labelled_ok;
  });
  EXPECT_TRUE(settled) << "sent: " << describe(want) << "\nlogged: " << describe(got) << "\n"
                       << counted;
  for (const auto& [why, n] : want) EXPECT_GE(n, 2) << why << ": the peer sent too few";
  expect_alive(exporter);
}

// Unmatched responses are counted by why, so late answers can be told from spoofing:
// sip_exporter_unmatched_responses_total{why=...}.
TEST_F(Hostile, UnmatchedResponsesAreCountedAndLoggedWithWhy) {
  HostileOptions o;
  o.script = {Step{{fault_reply(Fault::wrong_call_id, "wrong_call_id")}}};
  HostilePeer peer(std::move(o));
  ExporterConfigSpec cfg = base();
  cfg.targets = {target("wrong-call-id", peer)};
  Exporter exporter(dir_.path(), cfg, "debug");
  const Scraped s =
      exporter.scrape_until(5s, [&](const Exposition& e) { return e.sum(kUnmatched) >= 1; });
  ASSERT_TRUE(s.ok) << s.last.grep(kUnmatched);
  // The counter is one unlabelled series (the metrics contract); the reason is in the log,
  // with the sender and the Call-ID it used, to find the peer among thousands.
  const std::vector<LogLine> lines = wait_for_log(exporter, "dropped unmatched response");
  ASSERT_FALSE(lines.empty()) << exporter.process().stderr_text();
  EXPECT_EQ(lines[0].at("why"), "wrong_call_id");
  EXPECT_EQ(lines[0].at("from"), "127.0.0.1:" + std::to_string(peer.port()));
  EXPECT_EQ(lines[0].at("transport"), "udp");
  EXPECT_FALSE(lines[0].at("call_id").empty());
  expect_alive(exporter);
}

// Garbage is logged with its sender too.
TEST_F(Hostile, InvalidMessagesAreLoggedWithTheirSender) {
  HostileOptions o;
  o.script = {Step{{raw_reply("garbage", "HTTP/1.1 200 OK\r\n\r\n"), Reply{}}}};
  HostilePeer peer(std::move(o));
  ExporterConfigSpec cfg = base();
  cfg.targets = {target("garbled", peer)};
  Exporter exporter(dir_.path(), cfg, "debug");
  const std::vector<LogLine> lines = wait_for_log(exporter, "dropped invalid message");
  ASSERT_FALSE(lines.empty()) << exporter.process().stderr_text();
  EXPECT_EQ(lines[0].at("why"), "not_a_response");
  EXPECT_EQ(lines[0].at("from"), "127.0.0.1:" + std::to_string(peer.port()));
  EXPECT_EQ(lines[0].at("call_id"), "");
  expect_alive(exporter);
}

// The same 200 three times, and a 200 after the timeout: one result per probe, the rest
// unmatched, nothing counted twice.
TEST_F(Hostile, DuplicatesAndLateAnswersGiveExactlyOneResultPerProbe) {
  HostileOptions dup_o;
  Reply triple;
  triple.tag = "dup";
  triple.copies = 3;
  dup_o.script = {Step{{triple}}};
  HostilePeer dup(std::move(dup_o));

  HostileOptions late_o;
  Reply late_reply;
  late_reply.tag = "late";
  late_reply.delay = 750ms;  // after the 500 ms timeout, before the next probe
  late_o.script = {Step{{late_reply}, false}};
  HostilePeer late(std::move(late_o));

  ExporterConfigSpec cfg = base();
  cfg.targets = {target("dup", dup), target("late", late, {{"timeout", "\"500ms\""}})};
  Exporter exporter(dir_.path(), cfg);

  // In a quiet moment every request has exactly one result and every extra is unmatched.
  std::string last;
  const bool consistent = wait_until(10s, [&] {
    const int dup_requests = dup.requests();
    const int late_requests = late.requests();
    const int extras = dup.sent("dup") - dup_requests + late.sent("late");
    const Exposition e = exporter.scrape();
    std::ostringstream why;
    why << "dup: requests=" << dup_requests << " sent=" << dup.sent("dup")
        << " probes=" << probes(e, "dup")
        << " success=" << metric(e, "sip_probes_total", "dup", {{"result", "success"}})
        << " 200s=" << metric(e, "sip_probe_responses_total", "dup", {{"code", "200"}})
        << "\nlate: requests=" << late_requests << " sent=" << late.sent("late")
        << " probes=" << probes(e, "late")
        << " timeouts=" << metric(e, "sip_probe_failures_total", "late", {{"reason", "timeout"}})
        << "\nunmatched=" << e.sum(kUnmatched) << " expected " << extras;
    last = why.str();
    return dup_requests >= 3 && late_requests >= 3 && late.sent("late") == late_requests &&
           probes(e, "dup") == dup_requests &&
           metric(e, "sip_probes_total", "dup", {{"result", "success"}}) == dup_requests &&
           metric(e, "sip_probe_responses_total", "dup") == dup_requests &&
           metric(e, "sip_probe_responses_total", "dup", {{"code", "200"}}) == dup_requests &&
           probes(e, "late") == late_requests &&
           metric(e, "sip_probe_failures_total", "late", {{"reason", "timeout"}}) ==
               late_requests &&
           metric(e, "sip_probe_responses_total", "late") == 0 && e.sum(kUnmatched) == extras;
  });
  EXPECT_TRUE(consistent) << last;
  // The duplicates came at once: one transmission per probe.
  for (int n : dup.transmissions()) EXPECT_EQ(n, 1);
  const Exposition e = exporter.scrape();
  EXPECT_EQ(e.value("sip_target_up", {{"target", "dup"}}), 1.0);
  EXPECT_EQ(e.value("sip_target_up", {{"target", "late"}}), 0.0);
  EXPECT_EQ(e.value("sip_target_last_status_code", {{"target", "late"}}), 0.0);
  EXPECT_EQ(e.value("sip_probes_total", {{"target", "late"}, {"result", "success"}}).value_or(0),
            0.0);
  const auto whys = dropped_by_why(exporter, "dropped unmatched response");
  EXPECT_EQ(whys.size(), 1u) << describe(whys);
  EXPECT_GT(get(whys, "no_open_probe"), 0) << describe(whys);
  expect_alive(exporter);
}

// 100 Trying and then nothing: still a timeout (1xx are provisional), and Timer E goes to
// T2 after the 1xx, so within 1.6 s only the 0.5 s retransmission is sent (three without
// the 1xx: 0, 0.5, 1.5 s).
TEST_F(Hostile, TryingThenSilenceTimesOutWithRetransmissionsAtT2) {
  HostileOptions o;
  Reply trying;
  trying.tag = "100";
  trying.code = 100;
  trying.reason = "Trying";
  o.script = {Step{{trying}}};
  HostilePeer peer(std::move(o));
  ExporterConfigSpec cfg = base();
  cfg.interval = "2s";
  cfg.timeout = "1600ms";
  cfg.targets = {target("trying", peer)};
  Exporter exporter(dir_.path(), cfg);

  const Scraped s = exporter.scrape_until(8s, [&](const Exposition& e) {
    return metric(e, "sip_probe_failures_total", "trying", {{"reason", "timeout"}}) >= 2;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"trying\"");
  const Exposition& e = s.last;
  EXPECT_EQ(metric(e, "sip_probes_total", "trying", {{"result", "success"}}), 0);
  EXPECT_EQ(metric(e, "sip_probe_responses_total", "trying"), 0) << "a 1xx is not final";
  EXPECT_EQ(e.value("sip_target_up", {{"target", "trying"}}), 0.0);
  EXPECT_EQ(e.value("sip_target_last_status_code", {{"target", "trying"}}), 0.0);
  const auto logs = exporter.probe_logs("trying");
  ASSERT_GE(logs.size(), 2u);
  for (const LogLine& l : logs) {
    EXPECT_EQ(l.at("reason"), "timeout");
    EXPECT_EQ(l.at("transmissions"), "2") << "Timer E after a 1xx is T2 (4 s)";
  }
  std::vector<int> tx = peer.transmissions();
  tx.resize(logs.size());
  for (int n : tx) EXPECT_EQ(n, 2);
  // A provisional answer to the probe is not unmatched.
  EXPECT_EQ(e.sum(kUnmatched), 0);
  expect_alive(exporter);
}

// 503 is a final answer and, with the default degraded_codes ["503"], "alive, refusing":
// the target is degraded (not down) on its first verdict, the code is recorded, nothing is
// a transport failure. Retry-After pauses probes to that peer and is logged once.
TEST_F(Hostile, ServiceUnavailableWithAndWithoutRetryAfterIsDegraded) {
  auto unavailable = [](std::string headers) {
    HostileOptions o;
    Reply r;
    r.tag = "503";
    r.code = 503;
    r.reason = "Service Unavailable";
    r.headers = std::move(headers);
    o.script = {Step{{r}}};
    return std::make_unique<HostilePeer>(std::move(o));
  };
  const auto plain = unavailable("");
  const auto retry = unavailable("Retry-After: 30\r\n");
  ExporterConfigSpec cfg = base();
  cfg.failures_before_down = 3;  // the default: the first verdict decides anyway
  cfg.targets = {target("plain-503", *plain), target("retry-503", *retry)};
  Exporter exporter(dir_.path(), cfg);

  const Scraped s = exporter.scrape_until(6s, [&](const Exposition& e) {
    return probes(e, "plain-503") >= 3 && probes(e, "retry-503") >= 1;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("503\"");
  for (const char* name : {"plain-503", "retry-503"}) {
    SCOPED_TRACE(name);
    const Exposition& e = s.last;
    EXPECT_EQ(e.value("sip_target_up", {{"target", name}}), 0.0);
    EXPECT_EQ(e.value("sip_target_state", {{"target", name}, {"state", "degraded"}}), 1.0);
    EXPECT_EQ(e.value("sip_target_last_status_code", {{"target", name}}), 503.0);
    EXPECT_EQ(metric(e, "sip_probe_responses_total", name, {{"code", "503"}}), probes(e, name));
    EXPECT_EQ(metric(e, "sip_probes_total", name, {{"result", "failure"}}), probes(e, name));
    EXPECT_EQ(metric(e, "sip_probe_failures_total", name), 0)
        << "an unhealthy code is not a transport failure";
    EXPECT_GT(e.value("sip_target_last_rtt_seconds", {{"target", name}}).value_or(0), 0);
  }
  EXPECT_EQ(probes(s.last, "retry-503"), 1) << "Retry-After: 30 allows no second probe yet";
  EXPECT_EQ(s.last.sum(kUnmatched), 0);
  // Retry-After is logged once when the peer starts saying it, and only for that peer.
  const auto retry_logs =
      log_lines_with_msg(exporter.process().stderr_text(),
                         "peer sent Retry-After; no probe to this address until it passes");
  ASSERT_EQ(retry_logs.size(), 1u);
  EXPECT_EQ(retry_logs[0].at("target"), "retry-503");
  EXPECT_EQ(retry_logs[0].at("retry_after_seconds"), "30");
  expect_alive(exporter);
}

// Junk before the real answer, junk instead of an answer: counted as invalid by reason,
// dropped, and the probes that get their 200 succeed.
TEST_F(Hostile, GarbageTruncatedAndOversizedDatagramsAreCountedAndIgnored) {
  std::string junk(65507, '\0');
  std::uint32_t x = 2463534242u;
  for (char& c : junk) {  // xorshift32: fixed, not text
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  Reply garbage = raw_reply("garbage", "\x16\x03\x01 hello? \xff\xfe not SIP at all\r\n\r\n");
  Reply truncated;  // the right answer, cut inside its Call-ID
  truncated.tag = "truncated";
  truncated.cut_to = 200;
  Reply big_junk = raw_reply("big_junk", junk);
  Reply too_many_headers;  // the right identifiers, 65507 bytes, far over 128 headers
  too_many_headers.tag = "too_large";
  too_many_headers.pad_to = 65507;
  Reply short_body;  // a datagram shorter than its Content-Length
  short_body.tag = "short_body";
  short_body.content_length = 100;
  short_body.body = "0123456789";

  HostileOptions mixed_o;
  mixed_o.script = {Step{{garbage, truncated, big_junk, too_many_headers, short_body, Reply{}}}};
  HostilePeer mixed(std::move(mixed_o));
  // Only junk for the first two requests, then correct answers.
  HostileOptions recover_o;
  const Step junk_only{{garbage, big_junk}};
  recover_o.script = {junk_only, junk_only, Step{{Reply{}}}};
  HostilePeer recover(std::move(recover_o));

  ExporterConfigSpec cfg = base();
  cfg.targets = {target("mixed", mixed), target("recover", recover)};
  Exporter exporter(dir_.path(), cfg);

  const Scraped s = exporter.scrape_until(10s, [&](const Exposition& e) {
    return probes(e, "mixed") >= 3 && e.value("sip_target_up", {{"target", "recover"}}) == 1.0;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"mixed\"") << s.last.grep("\"recover\"");
  const Exposition& e = s.last;
  EXPECT_EQ(metric(e, "sip_probes_total", "mixed", {{"result", "success"}}), probes(e, "mixed"))
      << "junk before the 200 must not spoil the probe";
  EXPECT_EQ(e.value("sip_target_up", {{"target", "mixed"}}), 1.0);
  EXPECT_EQ(e.value("sip_target_last_status_code", {{"target", "mixed"}}), 200.0);
  EXPECT_GE(metric(e, "sip_probe_failures_total", "recover", {{"reason", "timeout"}}), 1);
  EXPECT_GE(metric(e, "sip_probes_total", "recover", {{"result", "success"}}), 1);
  EXPECT_EQ(e.sum(kUnmatched), 0) << "nothing parsable was foreign";

  // Each kind of junk under its reason, every datagram counted once.
  std::map<std::string, int> sent;
  const bool settled = wait_until(5s, [&] {
    sent = {{"not_a_response", mixed.sent("garbage") + mixed.sent("big_junk") +
                                   recover.sent("garbage") + recover.sent("big_junk")},
            {"incomplete", mixed.sent("truncated")},
            {"too_large", mixed.sent("too_large")},
            {"body_mismatch", mixed.sent("short_body")}};
    const Exposition now = exporter.scrape();
    for (const auto& [reason, n] : sent) {
      if (now.sum(kInvalid, {{"reason", reason}}) != n) return false;
    }
    int total = 0;
    for (const auto& [reason, n] : sent) total += n;
    return now.sum(kInvalid) == total;
  });
  EXPECT_TRUE(settled) << "sent: " << describe(sent) << "\n" << exporter.scrape().grep(kInvalid);
  expect_alive(exporter);
}

// RFC 5626 keepalives from a peer (linphone pings every 30 s) are expected traffic: dropped
// without counting them as invalid or logging them, and the real answer after them counts.
TEST_F(Hostile, KeepalivesOnUdpAreNeitherInvalidNorLogged) {
  std::string stun = std::string("\x00\x01\x00\x00\x21\x12\xA4\x42", 8) + "0123456789ab";
  HostileOptions o;
  o.script = {Step{{raw_reply("ping", "\r\n\r\n"), raw_reply("pong", "\r\n"),
                    raw_reply("stun", stun), Reply{}}}};
  HostilePeer peer(std::move(o));
  ExporterConfigSpec cfg = base();
  cfg.targets = {target("pinged", peer)};
  Exporter exporter(dir_.path(), cfg);
  const Scraped s =
      exporter.scrape_until(10s, [&](const Exposition& e) { return probes(e, "pinged") >= 3; });
  ASSERT_TRUE(s.ok) << s.last.grep("\"pinged\"");
  ASSERT_GE(peer.sent("ping") + peer.sent("pong") + peer.sent("stun"), 9);
  EXPECT_EQ(metric(s.last, "sip_probes_total", "pinged", {{"result", "success"}}),
            probes(s.last, "pinged"));
  EXPECT_EQ(s.last.sum(kInvalid), 0) << s.last.grep(kInvalid);
  EXPECT_EQ(s.last.sum(kUnmatched), 0);
  EXPECT_TRUE(
      log_lines_with_msg(exporter.process().stderr_text(), "dropped invalid message").empty());
  expect_alive(exporter);
}

// ---------------------------------------------------------------------------
// TCP

// A 1 MiB header line and a Content-Length over the message limit: the framer gives up at
// its bounds, the connection is closed, the probe fails as reset.
TEST_F(Hostile, TcpMegabyteLineAndHugeContentLengthCloseTheConnection) {
  HostileOptions line_o;
  line_o.tcp = true;
  Reply line;
  line.tag = "huge_line";
  line.headers = "X-Huge: " + std::string(1024 * 1024, 'h') + "\r\n";
  line_o.script = {Step{{line}}};
  HostilePeer huge_line(std::move(line_o));

  HostileOptions cl_o;
  cl_o.tcp = true;
  Reply cl;
  cl.tag = "huge_content_length";
  cl.content_length = 10'000'000;
  cl.body = std::string(1000, 'b');
  cl_o.script = {Step{{cl}}};
  HostilePeer huge_cl(std::move(cl_o));

  ExporterConfigSpec cfg = base();
  cfg.targets = {target("huge-line", huge_line), target("huge-cl", huge_cl)};
  Exporter exporter(dir_.path(), cfg);
  const double rss_start = rss_kib(exporter.process().pid());

  const Scraped s = exporter.scrape_until(10s, [&](const Exposition& e) {
    return metric(e, "sip_probe_failures_total", "huge-line", {{"reason", "reset"}}) >= 3 &&
           metric(e, "sip_probe_failures_total", "huge-cl", {{"reason", "reset"}}) >= 3;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("sip_probe_failures_total") << s.last.grep(kInvalid);
  for (const auto& named : {std::pair{"huge-line", &huge_line}, std::pair{"huge-cl", &huge_cl}}) {
    const auto* const name = named.first;
    auto* const peer = named.second;
    SCOPED_TRACE(name);
    const Exposition& e = s.last;
    EXPECT_EQ(metric(e, "sip_probe_failures_total", name),
              metric(e, "sip_probe_failures_total", name, {{"reason", "reset"}}));
    EXPECT_EQ(metric(e, "sip_probes_total", name, {{"result", "success"}}), 0);
    EXPECT_EQ(e.value("sip_target_up", {{"target", name}}), 0.0);
    // Each probe reconnected after the exporter dropped the connection.
    EXPECT_GE(peer->connections(), 3);
    EXPECT_TRUE(wait_until(2s, [&] { return peer->closed_by_client() >= peer->connections() - 1; }))
        << "connections=" << peer->connections() << " closed=" << peer->closed_by_client();
  }
  EXPECT_GE(s.last.sum(kInvalid, {{"reason", "too_large"}}), 6);
  EXPECT_EQ(s.last.sum(kInvalid), s.last.sum(kInvalid, {{"reason", "too_large"}}));
  const double rss_end = rss_kib(exporter.process().pid());
  EXPECT_LT(rss_end - rss_start, kRssHeadroomKib)
      << "RSS grew from " << rss_start << " KiB to " << rss_end << " KiB";
  expect_alive(exporter);
}

// A message that stops mid-way (a Content-Length larger than the data, or a header that
// never ends: slowloris) must not hold the connection past the probe's timeout: the
// probe fails as timeout, and since the stream cannot be resynchronised, the connection
// is closed so the next probe starts clean and succeeds.
TEST_F(Hostile, TcpStalledMessageTimesOutAndItsConnectionIsClosed) {
  HostileOptions short_o;
  short_o.tcp = true;
  Reply short_body;
  short_body.tag = "short_body";
  short_body.content_length = 100;
  short_body.body = "0123456789";
  short_o.script = {Step{{short_body}}, Step{{Reply{}}}};  // then correct answers
  HostilePeer stalled(std::move(short_o));

  HostileOptions slow_o;
  slow_o.tcp = true;
  slow_o.script = {Step{{}, true, Step::After::trickle}, Step{{Reply{}}}};
  HostilePeer slowloris(std::move(slow_o));

  ExporterConfigSpec cfg = base();
  cfg.targets = {target("short-body", stalled), target("slowloris", slowloris)};
  Exporter exporter(dir_.path(), cfg);
  const double rss_start = rss_kib(exporter.process().pid());

  const Scraped s = exporter.scrape_until(10s, [&](const Exposition& e) {
    return probes(e, "short-body") >= 3 && probes(e, "slowloris") >= 3;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("sip_probes_total");
  const Exposition& e = s.last;
  const std::string fix =
      "\nThe exporter keeps a TCP/TLS connection that holds half a message when the probe "
      "times out, so the next answer on it is read as the rest of the stale message (short "
      "body) or appended to a header that never ends (slowloris). Fix: in "
      "Engine::cycle_timeout (probes/engine.cc), close the stream before failing the path as "
      "timeout when StreamConnection::mid_message() (framer.buffered() > 0) is true.\n";
  for (auto [name, peer] :
       {std::pair{"short-body", &stalled}, std::pair{"slowloris", &slowloris}}) {
    SCOPED_TRACE(name);
    // The stalled probe is a timeout: not a success, not a framing error.
    const auto logs = exporter.probe_logs(name);
    ASSERT_FALSE(logs.empty());
    EXPECT_EQ(logs.front().at("reason"), "timeout");
    EXPECT_GE(peer->closed_by_client(), 1)
        << "the stalled connection was not closed by the exporter" << fix;
    EXPECT_GE(peer->connections(), 2) << "no new connection after the stalled one" << fix;
    EXPECT_EQ(metric(e, "sip_probes_total", name, {{"result", "failure"}}), 1)
        << "only the stalled probe may fail; the peer answered the others correctly" << fix
        << e.grep("sip_probes_total");
    EXPECT_GE(metric(e, "sip_probes_total", name, {{"result", "success"}}), 2);
  }
  EXPECT_EQ(e.sum(kInvalid), 0) << e.grep(kInvalid) << fix;
  EXPECT_EQ(e.sum(kUnmatched), 0) << e.grep(kUnmatched) << fix;
  EXPECT_LT(slowloris.trickled(), 64u * 1024) << "the trickle outran the test";
  const double rss_end = rss_kib(exporter.process().pid());
  EXPECT_LT(rss_end - rss_start, kRssHeadroomKib)
      << "RSS grew from " << rss_start << " KiB to " << rss_end << " KiB";
  expect_alive(exporter);
}

// ---------------------------------------------------------------------------
// Flood

// Unsolicited responses with random branches, as fast as one thread sends them at the
// exporter's shared UDP socket for 5 s, while 20 healthy targets are probed every second:
// none of them may time out or go down, the flood is counted as unmatched (or dropped by
// the kernel before the exporter saw it), memory stays bounded and /metrics answers.
TEST_F(Hostile, FloodOfUnsolicitedResponsesLeavesHealthyTargetsUp) {
  constexpr int kHealthy = 20;
  std::vector<std::unique_ptr<HostilePeer>> healthy;
  ExporterConfigSpec cfg = base();
  for (int i = 0; i < kHealthy; ++i) {
    healthy.push_back(std::make_unique<HostilePeer>());
    cfg.targets.push_back(target("healthy-" + std::to_string(i), *healthy.back()));
  }
  HostilePeer flooder;  // answers its own probes correctly; learns the exporter's port
  cfg.targets.push_back(target("flooder", flooder));
  // At debug level every dropped datagram is a log line; operators run at info.
  Exporter exporter(dir_.path(), cfg, "info");

  const auto all_up = [&](const Exposition& e) {
    for (const TargetSpec& t : cfg.targets) {
      if (e.value("sip_target_up", {{"target", t.name}}) != 1.0) return false;
    }
    return true;
  };
  const Scraped ready = exporter.scrape_until(5s, all_up);
  ASSERT_TRUE(ready.ok) << ready.last.grep("sip_target_up");
  ASSERT_NE(flooder.first_source_port(), 0);
  const std::uint16_t exporter_udp = flooder.first_source_port();
  const pid_t pid = exporter.process().pid();
  const double rss_start = rss_kib(pid);
  const double unmatched_start = ready.last.sum(kUnmatched);
  const double drops_start = udp_drops(exporter_udp);
  std::map<std::string, double> success_start;
  for (const TargetSpec& t : cfg.targets) {
    success_start[t.name] = metric(ready.last, "sip_probes_total", t.name, {{"result", "success"}});
  }
  const bool has_lateness = ready.last.type("sip_exporter_schedule_lateness_seconds").has_value();
  const double late_sum_start = ready.last.sum("sip_exporter_schedule_lateness_seconds_sum");
  const double late_count_start = ready.last.sum("sip_exporter_schedule_lateness_seconds_count");

  const double cpu_start = cpu_seconds(pid);
  flooder.start_flood(exporter_udp, 5s, 2'000'000);
  double rss_max = rss_start;
  int scrapes = 0;
  Clock::duration slowest_scrape{};
  const auto flood_end = Clock::now() + 5s;
  wait_until(
      6s,
      [&] {
        const auto t0 = Clock::now();
        EXPECT_NO_THROW(exporter.scrape()) << "/metrics failed during the flood";
        slowest_scrape = std::max(slowest_scrape, Clock::now() - t0);
        ++scrapes;
        rss_max = std::max(rss_max, rss_kib(pid));
        return Clock::now() >= flood_end;
      },
      250ms);
  const FloodResult flood = flooder.wait_flood();
  const double cpu = cpu_seconds(pid) - cpu_start;
  rss_max = std::max(rss_max, rss_kib(pid));

  // Let the probes in flight during the flood finish before judging them.
  const auto settled = exporter.scrape_until(3s, [&](const Exposition& e) {
    return e.sum(kUnmatched) - unmatched_start + udp_drops(exporter_udp) - drops_start >=
           static_cast<double>(flood.sent);
  });
  const Exposition e = exporter.scrape();
  const double unmatched = e.sum(kUnmatched) - unmatched_start;
  const double drops = udp_drops(exporter_udp) - drops_start;
  std::ostringstream report;
  report << "flood: " << flood.sent << " datagrams in " << flood.elapsed.count() << " ms ("
         << (flood.elapsed.count() ? flood.sent * 1000 / flood.elapsed.count() : 0)
         << "/s); counted unmatched " << unmatched << ", dropped by the kernel " << drops
         << "; exporter CPU " << cpu << " s"
         << "; RSS " << rss_start << " -> max " << rss_max << " KiB; " << scrapes
         << " scrapes, slowest "
         << std::chrono::duration_cast<std::chrono::milliseconds>(slowest_scrape).count() << " ms";
  if (has_lateness) {
    const double n = e.sum("sip_exporter_schedule_lateness_seconds_count") - late_count_start;
    const double sum = e.sum("sip_exporter_schedule_lateness_seconds_sum") - late_sum_start;
    report << "; schedule lateness: " << n << " starts, mean " << (n > 0 ? sum / n * 1000 : 0)
           << " ms";
  }
  std::cout << "[ hostile  ] " << report.str() << "\n";
  RecordProperty("flood", report.str());

  EXPECT_GT(flood.sent, 1000u) << report.str();
  EXPECT_GT(unmatched, 0) << report.str();
  EXPECT_LE(unmatched, static_cast<double>(flood.sent)) << report.str();
  EXPECT_TRUE(settled.ok) << "flood datagrams neither counted nor dropped: " << report.str();
  // Probing went on during the flood (about 5 probes in 5 s) and nothing failed.
  std::ostringstream hurt;
  for (const TargetSpec& t : cfg.targets) {
    const double failures = metric(e, "sip_probe_failures_total", t.name);
    const double changes = metric(e, "sip_target_state_changes_total", t.name);
    const double up = e.value("sip_target_up", {{"target", t.name}}).value_or(-1);
    const double ok =
        metric(e, "sip_probes_total", t.name, {{"result", "success"}}) - success_start[t.name];
    if (failures != 0 || changes != 0 || up != 1 || ok < 4) {
      hurt << t.name << ": failures " << failures << " (timeouts "
           << metric(e, "sip_probe_failures_total", t.name, {{"reason", "timeout"}})
           << "), state changes " << changes << ", up " << up << ", successes during the flood "
           << ok << "\n";
    }
  }
  if (kSlowBuild && drops > 0 && !hurt.str().empty()) {
    // The kernel dropped datagrams at the exporter's full socket, healthy answers among
    // them: an -O0 or sanitized exporter drains far fewer per second than a release one.
    std::cout << "[ hostile  ] not judged in this unoptimised or sanitized build (the socket "
                 "overflowed):\n"
              << hurt.str();
  } else {
    EXPECT_TRUE(hurt.str().empty()) << "healthy targets hurt by the flood:\n"
                                    << hurt.str() << report.str();
  }
  EXPECT_LT(rss_max - rss_start, kRssHeadroomKib) << report.str();
  expect_alive(exporter);
}

}  // namespace
}  // namespace stx::it
