// The exporter against real peers on loopback: what it measures and reports
// per target.
#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness.h"

namespace stx::it {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const char* const kFailureReasons[] = {"timeout", "refused", "send_error", "dns_error"};

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double log_double(const LogLine& l, const std::string& key) {
  auto it = l.find(key);
  if (it == l.end()) throw std::runtime_error("log line lacks " + key);
  return std::stod(it->second);
}

std::string field(const LogLine& l, const std::string& key) {
  auto it = l.find(key);
  return it == l.end() ? std::string("<missing>") : it->second;
}

class ProbeTest : public ::testing::Test {
 protected:
  TempDir tmp_;
};

// 1. A SIPp peer answering 200.
TEST_F(ProbeTest, SippAnswering200IsUp) {
  SippPeer sipp(tmp_.path(), "options_200.xml");
  ExporterConfigSpec spec;
  spec.targets = {{"sipp", sipp.uri(), {{"carrier", "demo"}}, {}}};
  Exporter exporter(tmp_.path(), spec);

  const Labels t{{"target", "sipp"}};
  auto s = exporter.scrape_until(10s, [&](const Exposition& e) {
    return e.value("sip_target_up", t) == 1.0 &&
           e.value("sip_probe_responses_total", {{"target", "sipp"}, {"code", "200"}})
                   .value_or(0) >= 1;
  });
  ASSERT_TRUE(s.ok) << "target never up with a 200 counted:\n" << s.last.grep("\"sipp\"");
  const auto& e = s.last;
  EXPECT_EQ(e.value("sip_target_up", {{"target", "sipp"}, {"carrier", "demo"}}), 1.0);
  EXPECT_EQ(e.value("sip_target_last_status_code", t), 200.0);
  EXPECT_GE(e.value("sip_probe_rtt_seconds_count", t).value_or(0), 1.0);
  auto rtt = e.value("sip_target_last_rtt_seconds", t);
  ASSERT_TRUE(rtt);
  EXPECT_GT(*rtt, 0.0);
  EXPECT_LT(*rtt, 0.5);
  EXPECT_GE(e.value("sip_probes_total", {{"target", "sipp"}, {"result", "success"}}).value_or(0),
            1.0);
  EXPECT_EQ(e.value("sip_probes_total", {{"target", "sipp"}, {"result", "failure"}}).value_or(0),
            0.0);
  EXPECT_EQ(e.value("sip_target_consecutive_failures", t), 0.0);
  auto info = e.find("sip_target_info", t);
  ASSERT_EQ(info.size(), 1u) << e.grep("sip_target_info");
  EXPECT_EQ(info[0].value, 1.0);
  EXPECT_EQ(info[0].labels["server"], "SIPp-demo");
  EXPECT_EQ(info[0].labels["uri"], sipp.uri());
  EXPECT_THAT(info[0].labels["transport"], ::testing::MatchesRegex("(udp|UDP)"));

  auto logs = exporter.probe_logs("sipp");
  ASSERT_FALSE(logs.empty()) << "no msg=\"probe finished\" debug line for target=sipp";
  EXPECT_EQ(field(logs.front(), "result"), "success");
  EXPECT_EQ(field(logs.front(), "code"), "200");
  EXPECT_EQ(field(logs.front(), "reason"), "");
  EXPECT_LT(log_double(logs.front(), "duration_seconds"), 0.5);
}

// 2. Kamailio answering 200 statelessly.
TEST_F(ProbeTest, KamailioAnswering200IsUp) {
  KamailioPeer kam(tmp_.path(), "kamailio.cfg");
  ExporterConfigSpec spec;
  spec.targets = {{"kam", kam.uri(), {{"carrier", "kam"}}, {}}};
  Exporter exporter(tmp_.path(), spec);

  const Labels t{{"target", "kam"}};
  auto s = exporter.scrape_until(10s, [&](const Exposition& e) {
    return e.value("sip_target_up", t) == 1.0 && !e.find("sip_target_info", t).empty();
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"kam\"");
  EXPECT_EQ(s.last.value("sip_target_last_status_code", t), 200.0);
  auto info = s.last.find("sip_target_info", t);
  ASSERT_EQ(info.size(), 1u);
  EXPECT_THAT(info[0].labels["server"], HasSubstr("kamailio"));
}

// 3. Nothing listens: ICMP port unreachable ends the probe at once.
TEST_F(ProbeTest, ClosedPortFailsFastAsRefused) {
  const auto dead = free_udp_port();
  ExporterConfigSpec spec;
  // A timeout well above 1 s, so a prober that ignored ICMP would be caught
  // by the duration check as well as by the reason.
  spec.interval = "2s";
  spec.timeout = "1500ms";
  spec.targets = {{"dead", "sip:127.0.0.1:" + std::to_string(dead), {{"carrier", "none"}}, {}}};
  Exporter exporter(tmp_.path(), spec);

  const Labels t{{"target", "dead"}};
  auto s = exporter.scrape_until(10s, [&](const Exposition& e) {
    return e.value("sip_probe_failures_total", {{"target", "dead"}, {"reason", "refused"}})
               .value_or(0) >= 2;
  });
  ASSERT_TRUE(s.ok) << "no two refused failures:\n" << s.last.grep("\"dead\"");
  const auto& e = s.last;
  EXPECT_EQ(e.value("sip_target_up", t), 0.0);
  EXPECT_EQ(
      e.value("sip_probe_failures_total", {{"target", "dead"}, {"reason", "timeout"}}).value_or(0),
      0.0);
  EXPECT_EQ(e.value("sip_target_last_status_code", t), 0.0);
  EXPECT_GE(e.value("sip_probes_total", {{"target", "dead"}, {"result", "failure"}}).value_or(0),
            2.0);
  EXPECT_EQ(e.sum("sip_probe_responses_total", t), 0.0);
  EXPECT_GE(e.value("sip_target_consecutive_failures", t).value_or(0), 2.0);
  // The first determination is not a state change.
  EXPECT_EQ(e.value("sip_target_state_changes_total", t).value_or(0), 0.0);

  std::vector<LogLine> logs;
  ASSERT_TRUE(wait_until(5s, [&] {
    logs = exporter.probe_logs("dead");
    return logs.size() >= 2;
  })) << "expected msg=\"probe finished\" target=dead lines at --log.level=debug";
  for (const auto& l : logs) {
    EXPECT_EQ(field(l, "result"), "failure");
    EXPECT_EQ(field(l, "reason"), "refused");
    EXPECT_EQ(field(l, "code"), "0");
    EXPECT_LT(log_double(l, "duration_seconds"), 1.0);
    EXPECT_GE(log_double(l, "duration_seconds"), 0.0);
  }
}

// 4. A peer that never answers: Timer E retransmissions, then a timeout.
TEST_F(ProbeTest, SilentPeerGetsTimerERetransmissionsThenTimesOut) {
  UdpSocket silent;
  ExporterConfigSpec spec;
  // The exporter spreads first probes over [0, interval), so the interval is
  // kept short enough for the whole test to stay near 10 s; it is still well
  // above the 3.2 s timeout, so the probes cannot overlap.
  spec.interval = "5s";
  spec.timeout = "3200ms";
  spec.targets = {{"silent", "sip:127.0.0.1:" + std::to_string(silent.port()), {}, {}}};
  Exporter exporter(tmp_.path(), spec);

  auto first = silent.receive(Clock::now() + 6s);
  ASSERT_TRUE(first) << "no OPTIONS reached the silent peer";
  std::vector<UdpSocket::Datagram> probe1{*first};
  while (auto d = silent.receive(first->received + 4s)) probe1.push_back(*d);

  const std::string& msg = first->data;
  SCOPED_TRACE("first datagram:\n" + msg);
  ASSERT_EQ(probe1.size(), 3u) << "expected sends at 0, 0.5 and 1.5 s before the 3.2 s timeout";
  std::vector<double> offsets;
  for (const auto& d : probe1) {
    EXPECT_EQ(d.data, msg) << "a retransmission differs from the original";
    offsets.push_back(d.kernel_seconds - first->kernel_seconds);
  }
  // Never early; late only by scheduling delay on a loaded machine.
  EXPECT_GE(offsets[1], 0.49);
  EXPECT_LE(offsets[1], 1.0);
  EXPECT_GE(offsets[2], 1.49);
  EXPECT_LE(offsets[2], 2.2);

  // The request itself.
  const std::string request_line =
      "OPTIONS sip:127.0.0.1:" + std::to_string(silent.port()) + " SIP/2.0\r\n";
  EXPECT_THAT(msg, StartsWith(request_line));
  EXPECT_THAT(msg, ::testing::EndsWith("\r\n\r\n"));
  auto via = sip_header(msg, "Via").value_or("");
  EXPECT_THAT(via, StartsWith("SIP/2.0/UDP "));
  EXPECT_THAT(via, ::testing::ContainsRegex(";rport(;|$)"));
  auto branch = via_branch(msg);
  ASSERT_TRUE(branch);
  EXPECT_THAT(*branch, StartsWith("z9hG4bK"));
  EXPECT_GT(branch->size(), 7u);
  EXPECT_EQ(sip_header(msg, "Max-Forwards"), "70");
  auto call_id = sip_header(msg, "Call-ID");
  ASSERT_TRUE(call_id);
  EXPECT_FALSE(call_id->empty());
  EXPECT_THAT(sip_header(msg, "CSeq").value_or(""), ::testing::MatchesRegex("[0-9]+ OPTIONS"));
  EXPECT_THAT(sip_header(msg, "From").value_or(""), HasSubstr(";tag="));
  EXPECT_TRUE(sip_header(msg, "To"));
  EXPECT_FALSE(sip_header(msg, "Contact").value_or("").empty());
  EXPECT_EQ(sip_header(msg, "Accept"), "application/sdp");
  EXPECT_EQ(sip_header(msg, "Content-Length"), "0");

  // After the timeout the probe has failed as "timeout".
  const Labels t{{"target", "silent"}};
  auto s = exporter.scrape_until(3s, [&](const Exposition& e) {
    return e.value("sip_probe_failures_total", {{"target", "silent"}, {"reason", "timeout"}})
               .value_or(0) >= 1;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"silent\"");
  EXPECT_EQ(s.last.value("sip_target_up", t), 0.0);
  EXPECT_EQ(s.last.value("sip_target_last_status_code", t), 0.0);
  EXPECT_EQ(s.last.value("sip_probe_failures_total", {{"target", "silent"}, {"reason", "refused"}})
                .value_or(0),
            0.0);
  std::vector<LogLine> logs;
  ASSERT_TRUE(wait_until(2s, [&] {
    logs = exporter.probe_logs("silent");
    return !logs.empty();
  })) << "no msg=\"probe finished\" line for target=silent";
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(field(logs[0], "result"), "failure");
  EXPECT_EQ(field(logs[0], "reason"), "timeout");
  EXPECT_EQ(field(logs[0], "code"), "0");
  EXPECT_GE(log_double(logs[0], "duration_seconds"), 3.19);
  EXPECT_LE(log_double(logs[0], "duration_seconds"), 4.0);

  // A late 200 for the finished transaction is counted as unmatched and
  // changes nothing for the target.
  const double unmatched_before =
      s.last.value("sip_exporter_unmatched_responses_total").value_or(0);
  std::string late = "SIP/2.0 200 OK\r\n";
  for (const char* h : {"Via", "From", "To", "Call-ID", "CSeq"}) {
    late += std::string(h) + ": " + sip_header(msg, h).value_or("") +
            (std::string_view(h) == "To" ? ";tag=late1" : "") + "\r\n";
  }
  late += "Server: late-peer\r\nContent-Length: 0\r\n\r\n";
  silent.send_to(first->from_port, late);
  auto after_late = exporter.scrape_until(2s, [&](const Exposition& e) {
    return e.value("sip_exporter_unmatched_responses_total").value_or(0) >= unmatched_before + 1;
  });
  EXPECT_TRUE(after_late.ok) << "a response to a timed-out probe was not counted as unmatched:\n"
                             << after_late.last.grep("unmatched");
  EXPECT_EQ(after_late.last.value("sip_target_up", t), 0.0);
  EXPECT_EQ(after_late.last.value("sip_target_last_status_code", t), 0.0);
  EXPECT_EQ(after_late.last.sum("sip_probe_responses_total", t), 0.0);

  // The next probe, one interval after the first, is a new transaction.
  auto next = silent.receive(first->received + 7s);
  ASSERT_TRUE(next) << "no second probe within 7 s of the first (interval 5s)";
  EXPECT_GE(next->kernel_seconds - first->kernel_seconds, 4.95);
  EXPECT_LE(next->kernel_seconds - first->kernel_seconds, 6.0);
  EXPECT_NE(via_branch(next->data), branch);
  EXPECT_NE(sip_header(next->data, "Call-ID"), call_id);
  EXPECT_THAT(sip_header(next->data, "Via").value_or(""), HasSubstr("branch=z9hG4bK"));
}

// 5. A 503 is a response code, not a transport failure: degraded (alive, refusing service)
// by default, healthy when healthy_codes lists it.
TEST_F(ProbeTest, Sipp503IsDegradedUnlessHealthy) {
  SippPeer sipp(tmp_.path(), "options_503.xml");
  ExporterConfigSpec spec;
  spec.failures_before_down = 1;
  spec.targets = {
      {"busy", sipp.uri(), {{"carrier", "demo"}}, {}},
      {"busy_ok", sipp.uri(), {{"carrier", "demo"}}, {{"healthy_codes", "[\"2xx\", \"503\"]"}}}};
  Exporter exporter(tmp_.path(), spec);

  auto s = exporter.scrape_until(10s, [&](const Exposition& e) {
    for (const char* name : {"busy", "busy_ok"}) {
      if (e.value("sip_probe_responses_total", {{"target", name}, {"code", "503"}}).value_or(0) <
              1 ||
          !e.value("sip_target_up", {{"target", name}})) {
        return false;
      }
    }
    return true;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("busy");
  const auto& e = s.last;
  const Labels busy{{"target", "busy"}};
  EXPECT_EQ(e.value("sip_target_up", busy), 0.0);
  EXPECT_EQ(e.value("sip_target_state", {{"target", "busy"}, {"state", "degraded"}}), 1.0);
  EXPECT_EQ(e.value("sip_target_last_status_code", busy), 503.0);
  for (const char* reason : kFailureReasons) {
    EXPECT_EQ(
        e.value("sip_probe_failures_total", {{"target", "busy"}, {"reason", reason}}).value_or(0),
        0.0)
        << reason;
  }
  EXPECT_GE(e.value("sip_probes_total", {{"target", "busy"}, {"result", "failure"}}).value_or(0),
            1.0);
  EXPECT_EQ(e.value("sip_probes_total", {{"target", "busy"}, {"result", "success"}}).value_or(0),
            0.0);
  EXPECT_EQ(e.value("sip_probe_responses_total", {{"target", "busy"}, {"code", "200"}}).value_or(0),
            0.0);
  auto info = e.find("sip_target_info", busy);
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].labels["server"], "SIPp-demo");

  const Labels ok{{"target", "busy_ok"}};
  EXPECT_EQ(e.value("sip_target_up", ok), 1.0);
  EXPECT_EQ(e.value("sip_target_last_status_code", ok), 503.0);
  EXPECT_GE(e.value("sip_probes_total", {{"target", "busy_ok"}, {"result", "success"}}).value_or(0),
            1.0);
  EXPECT_EQ(e.value("sip_probes_total", {{"target", "busy_ok"}, {"result", "failure"}}).value_or(0),
            0.0);
}

// 5b. A 503 with Retry-After: 5 is "alive, refusing": degraded, not down. No probe reaches
// the peer until the pause is over (counted on the peer), although the interval is 1 s; a
// 200 after it brings the target back up.
TEST_F(ProbeTest, Sipp503WithRetryAfterIsDegradedAndNoProbeGoesUntilThePauseEnds) {
  auto busy = std::make_unique<SippPeer>(tmp_.path(), "options_503_retry_5.xml");
  const std::uint16_t port = busy->port();
  ExporterConfigSpec spec;
  spec.interval = "1s";
  spec.timeout = "800ms";
  spec.failures_before_down = 1;
  spec.targets = {{"busy", busy->uri(), {}, {}}};
  Exporter exporter(tmp_.path(), spec);
  const Labels t{{"target", "busy"}};

  auto degraded = exporter.scrape_until(10s, [&](const Exposition& e) {
    return e.value("sip_target_state", {{"target", "busy"}, {"state", "degraded"}}) == 1.0;
  });
  ASSERT_TRUE(degraded.ok) << degraded.last.grep("busy");
  const Exposition& e = degraded.last;
  EXPECT_EQ(e.value("sip_target_up", t), 0.0);
  EXPECT_EQ(e.value("sip_target_state", {{"target", "busy"}, {"state", "down"}}), 0.0);
  EXPECT_EQ(e.value("sip_target_retry_after_seconds", t), 5.0);
  const auto address_state =
      e.find("sip_address_state", {{"target", "busy"}, {"state", "degraded"}});
  ASSERT_EQ(address_state.size(), 1u);
  EXPECT_EQ(address_state[0].value, 1.0);
  const auto paused = e.find("sip_address_retry_after_timestamp_seconds", t);
  ASSERT_EQ(paused.size(), 1u);
  const double until = paused[0].value;
  ASSERT_GT(until, wall_seconds() + 2) << "the pause should have most of its 5 s to run";

  // Swap the 503 peer for a 200 one on the same port while the pause runs: whatever reaches
  // either before the pause ends is a probe the exporter should not have sent.
  const auto wall_time = [](double unix_seconds) {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::duration<double>(unix_seconds)));
  };
  std::this_thread::sleep_until(wall_time(until - 2.5));
  busy->process().stop();
  EXPECT_EQ(busy->requests_received(), 1) << "probes during the pause (interval 1 s)";
  busy.reset();
  SippPeer ok(tmp_.path(), "options_200.xml", port);
  std::this_thread::sleep_until(wall_time(until - 0.3));
  EXPECT_EQ(ok.requests_received(), 0) << "a probe before the Retry-After passed";

  auto back = exporter.scrape_until(5s, [&](const Exposition& x) {
    return x.value("sip_target_state", {{"target", "busy"}, {"state", "up"}}) == 1.0;
  });
  ASSERT_TRUE(back.ok) << back.last.grep("busy");
  EXPECT_GE(ok.requests_received(), 1);
  EXPECT_EQ(back.last.value("sip_target_up", t), 1.0);
  EXPECT_EQ(back.last.find("sip_address_retry_after_timestamp_seconds", t).at(0).value, 0.0)
      << "a 200 lifts the pause";
  const auto logs = log_lines_with_msg(exporter.process().stderr_text(),
                                       "peer sent Retry-After; no probe to this address until it "
                                       "passes");
  ASSERT_EQ(logs.size(), 1u) << "logged once per change, not per probe";
  EXPECT_EQ(logs[0].at("retry_after_seconds"), "5");
  EXPECT_EQ(logs[0].at("address"), "127.0.0.1:" + std::to_string(port));
}

// 7b. fast_interval and down_interval against a real peer: with a 10 s interval, a stopped
// Kamailio is confirmed down by 1 s re-checks (three 10 s probes would take 20 s more), and
// the restarted one is found by 2 s down-interval probes.
TEST_F(ProbeTest, KamailioStoppedIsConfirmedAtTheFastIntervalAndFoundAgainAtTheDownInterval) {
  KamailioPeer kam(tmp_.path(), "kamailio.cfg");
  ExporterConfigSpec spec;
  spec.interval = "10s";
  spec.timeout = "800ms";
  spec.failures_before_down = 3;
  spec.targets = {
      {"kam", kam.uri(), {}, {{"fast_interval", "\"1s\""}, {"down_interval", "\"2s\""}}}};
  Exporter exporter(tmp_.path(), spec);
  const Labels t{{"target", "kam"}};
  auto up = exporter.scrape_until(
      15s, [&](const Exposition& x) { return x.value("sip_target_up", t) == 1.0; });
  ASSERT_TRUE(up.ok) << up.last.grep("\"kam\"");

  kam.kill();
  auto first_failure = exporter.scrape_until(
      12s,
      [&](const Exposition& x) { return x.value("sip_target_consecutive_failures", t) == 1.0; },
      50ms);
  ASSERT_TRUE(first_failure.ok) << first_failure.last.grep("\"kam\"");
  // Two more failures at the fast interval: well before the next 10 s probe would be due.
  auto down = exporter.scrape_until(6s, [&](const Exposition& x) {
    return x.value("sip_target_state", {{"target", "kam"}, {"state", "down"}}) == 1.0;
  });
  ASSERT_TRUE(down.ok) << "not down within 6 s of the first failure:\n"
                       << down.last.grep("\"kam\"");
  EXPECT_EQ(down.last.value("sip_target_consecutive_failures", t), 3.0);

  kam.restart();
  auto back = exporter.scrape_until(6s, [&](const Exposition& x) {
    return x.value("sip_target_state", {{"target", "kam"}, {"state", "up"}}) == 1.0;
  });
  ASSERT_TRUE(back.ok) << "not up within 6 s of the restart (down_interval 2s):\n"
                       << back.last.grep("\"kam\"");
}

// 6. Kamailio that answers only the retransmission: success with RTT ~0.5 s.
TEST_F(ProbeTest, RetransmissionAnsweredGivesHalfSecondRtt) {
  KamailioPeer kam(tmp_.path(), "kamailio_every_second.cfg");
  ExporterConfigSpec spec;
  spec.interval = "2s";
  spec.timeout = "1500ms";
  spec.targets = {{"lossy", kam.uri(), {}, {}}};
  Exporter exporter(tmp_.path(), spec);

  const Labels t{{"target", "lossy"}};
  auto s = exporter.scrape_until(12s, [&](const Exposition& e) {
    return e.value("sip_probes_total", {{"target", "lossy"}, {"result", "success"}}).value_or(0) >=
           2;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"lossy\"");
  const auto& e = s.last;
  EXPECT_EQ(e.value("sip_target_up", t), 1.0);
  EXPECT_EQ(e.value("sip_probes_total", {{"target", "lossy"}, {"result", "failure"}}).value_or(0),
            0.0);
  auto rtt = e.value("sip_target_last_rtt_seconds", t);
  ASSERT_TRUE(rtt);
  EXPECT_GE(*rtt, 0.4);
  EXPECT_LE(*rtt, 1.5);
  auto count = e.value("sip_probe_rtt_seconds_count", t).value_or(0);
  auto sum = e.value("sip_probe_rtt_seconds_sum", t).value_or(0);
  ASSERT_GE(count, 2.0);
  EXPECT_GE(sum / count, 0.4) << "mean RTT; every probe needed the retransmission";
  for (const auto& l : exporter.probe_logs("lossy")) {
    EXPECT_EQ(field(l, "result"), "success");
    EXPECT_EQ(field(l, "code"), "200");
    EXPECT_GE(log_double(l, "duration_seconds"), 0.4);
    EXPECT_LE(log_double(l, "duration_seconds"), 1.5);
  }
}

// 7. Kill the peer, watch the state machine go down and come back.
TEST_F(ProbeTest, PeerKilledAndRestartedFlipsStateWithHysteresis) {
  KamailioPeer kam(tmp_.path(), "kamailio.cfg");
  ExporterConfigSpec spec;
  spec.interval = "1s";
  spec.timeout = "800ms";
  spec.failures_before_down = 2;
  spec.successes_before_up = 2;
  spec.targets = {{"flappy", kam.uri(), {{"carrier", "kam"}}, {}}};
  Exporter exporter(tmp_.path(), spec);
  const Labels t{{"target", "flappy"}};

  auto up = exporter.scrape_until(
      10s, [&](const Exposition& e) { return e.value("sip_target_up", t) == 1.0; });
  ASSERT_TRUE(up.ok) << up.last.grep("\"flappy\"");
  EXPECT_EQ(up.last.value("sip_target_state_changes_total", t).value_or(0), 0.0)
      << "the first determination is not a state change";

  const double killed_at = wall_seconds();
  kam.kill();
  int saw_one_failure = 0;
  std::string violations;
  auto down = exporter.scrape_until(
      10s,
      [&](const Exposition& e) {
        if (e.value("sip_target_consecutive_failures", t) == 1.0) {
          ++saw_one_failure;
          if (e.value("sip_target_up", t) != 1.0) {
            violations += "consecutive_failures == 1 but up != 1:\n" + e.grep("\"flappy\"");
          }
        }
        return e.value("sip_target_up", t) == 0.0;
      },
      50ms);
  ASSERT_TRUE(down.ok) << "never down after the peer was killed:\n" << down.last.grep("\"flappy\"");
  EXPECT_EQ(violations, "") << "failures_before_down=2 must keep the target up after one failure";
  EXPECT_GE(saw_one_failure, 1) << "never observed the state after exactly one failure";
  EXPECT_EQ(down.last.value("sip_target_state_changes_total", t), 1.0);
  EXPECT_GE(down.last.value("sip_target_consecutive_failures", t).value_or(0), 2.0);
  EXPECT_GE(
      down.last.value("sip_probe_failures_total", {{"target", "flappy"}, {"reason", "refused"}})
          .value_or(0),
      2.0);
  auto changed = down.last.value("sip_target_last_change_timestamp_seconds", t);
  ASSERT_TRUE(changed);
  EXPECT_GE(*changed, killed_at - 0.5);
  EXPECT_LE(*changed, wall_seconds() + 0.5);

  kam.restart();
  int saw_success_while_down = 0;
  auto back = exporter.scrape_until(
      10s,
      [&](const Exposition& e) {
        if (e.value("sip_target_last_status_code", t) == 200.0 &&
            e.value("sip_target_up", t) == 0.0) {
          ++saw_success_while_down;
        }
        return e.value("sip_target_up", t) == 1.0;
      },
      50ms);
  ASSERT_TRUE(back.ok) << "never up after the peer restarted:\n" << back.last.grep("\"flappy\"");
  EXPECT_GE(saw_success_while_down, 1)
      << "successes_before_up=2: one 200 alone must not bring the target up";
  EXPECT_EQ(back.last.value("sip_target_state_changes_total", t), 2.0);
  EXPECT_EQ(back.last.value("sip_target_consecutive_failures", t), 0.0);
}

}  // namespace
}  // namespace stx::it
