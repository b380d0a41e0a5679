// The engine against a scripted peer on loopback: transaction matching, provisional
// responses, spoofed and late answers, ICMP refusals. Time is virtual (a ManualClock).
#include "probes/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/ip/udp.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sip/sip_response.h"
#include "tests/unit/probes/manual_clock.h"
#include "tests/unit/probes/probe_fakes.h"

namespace stx {
namespace {

using boost::asio::ip::udp;
using std::chrono::milliseconds;

// A UDP peer whose answers the test writes: gets each request, returns the datagrams to send.
class ScriptedPeer {
 public:
  using Script = std::function<std::vector<std::string>(const std::string& request, int n)>;
  ScriptedPeer(boost::asio::io_context& io, Script script)
      : socket_(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        spoof_(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        script_(std::move(script)) {
    // Room for a loaded wakeup's burst (a default buffer holds about 170 requests).
    socket_.set_option(udp::socket::receive_buffer_size(1 << 20));
    receive();
  }
  std::uint16_t port() const { return socket_.local_endpoint().port(); }
  int received = 0;
  bool spoof_next = false;  // send the next answers from another port
  bool hold = false;        // keep answers until release()

  void release() {
    for (const std::string& out : held_) socket_.send_to(boost::asio::buffer(out), from_);
    held_.clear();
  }

 private:
  void receive() {
    socket_.async_receive_from(
        boost::asio::buffer(buf_), from_, [this](boost::system::error_code ec, std::size_t n) {
          if (ec) return;
          ++received;
          for (const std::string& out : script_(std::string(buf_.data(), n), received)) {
            if (hold) {
              held_.push_back(out);
            } else {
              (spoof_next ? spoof_ : socket_).send_to(boost::asio::buffer(out), from_);
            }
          }
          receive();
        });
  }
  udp::socket socket_;
  udp::socket spoof_;
  udp::endpoint from_;
  std::array<char, 65536> buf_{};
  Script script_;
  std::vector<std::string> held_;
};

std::string reply(const std::string& req, int code, const std::string& extra = "") {
  return "SIP/2.0 " + std::to_string(code) + " Whatever\r\nVia: " + header(req, "Via") +
         "\r\nFrom: " + header(req, "From") + "\r\nTo: " + header(req, "To") +
         ";tag=peer\r\nCall-ID: " + header(req, "Call-ID") + "\r\nCSeq: " + header(req, "CSeq") +
         "\r\nServer: scripted-peer\r\n" + extra + "Content-Length: 0\r\n\r\n";
}

TargetConfig target(std::uint16_t port, milliseconds interval = milliseconds(60000),
                    milliseconds timeout = milliseconds(3000)) {
  TargetConfig t = test_target("sip:127.0.0.1:" + std::to_string(port), interval, timeout);
  t.shared.edit().user_agent = "test";
  return t;
}

EngineParts on(ManualClock& clock) {
  EngineParts parts;
  parts.clock = &clock;
  return parts;
}

// Runs the loop in virtual time until `done`: each step handles what the sockets have, then
// moves the clock on 1 ms. Bounded by steps (100 s of virtual time), never by the wall clock.
void run_until(boost::asio::io_context& io, ManualClock& clock, const std::function<bool()>& done) {
  for (int step = 0; step < 100000 && !done(); ++step) {
    io.restart();
    io.poll();
    clock.advance(milliseconds(1));
  }
}

TEST(Engine, AnsweredProbeSucceedsWithCodeServerAndRtt) {
  boost::asio::io_context io;
  ScriptedPeer peer(
      io, [](const std::string& req, int) { return std::vector<std::string>{reply(req, 200)}; });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  peer.hold = true;
  engine.start({target(peer.port())}, false);
  run_until(io, clock, [&] { return peer.received == 1; });
  clock.advance(milliseconds(70));  // the peer takes 70 ms of virtual time to answer
  peer.release();
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  ASSERT_EQ(sink.finished.size(), 1u);
  const Finished& f = sink.finished[0];
  EXPECT_TRUE(f.result.success);
  EXPECT_EQ(f.result.status_code, 200);
  EXPECT_EQ(f.server, "scripted-peer");
  // Sent, then 70 ms, then read within the next 1 ms step (less the kernel queue age).
  EXPECT_GE(f.result.rtt, milliseconds(69));
  EXPECT_LE(f.result.rtt, milliseconds(72));
  EXPECT_EQ(f.result.transmissions, 1);
  EXPECT_FALSE(f.result.request_has_credentials);
  EXPECT_EQ(f.state.health, Health::up);
  EXPECT_EQ(engine.in_flight(), 0u);
  EXPECT_TRUE(sink.unmatched.empty());
}

TEST(Engine, RequestIsAWellFormedOptions) {
  boost::asio::io_context io;
  std::string seen;
  ScriptedPeer peer(io, [&](const std::string& req, int) {
    seen = req;
    return std::vector<std::string>{reply(req, 200)};
  });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  engine.start({target(peer.port())}, false);
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  const std::string uri = "sip:127.0.0.1:" + std::to_string(peer.port());
  EXPECT_EQ(seen.substr(0, seen.find("\r\n")), "OPTIONS " + uri + " SIP/2.0");
  EXPECT_EQ(header(seen, "Via").rfind("SIP/2.0/UDP 127.0.0.1:", 0), 0u) << header(seen, "Via");
  EXPECT_NE(header(seen, "Via").find(";branch=z9hG4bK"), std::string::npos);
  EXPECT_NE(header(seen, "Via").find(";rport"), std::string::npos);
  EXPECT_EQ(header(seen, "Max-Forwards"), "70");
  EXPECT_EQ(header(seen, "From").rfind("<sip:prober@localhost>;tag=", 0), 0u);
  EXPECT_EQ(header(seen, "To"), "<" + uri + ">");
  EXPECT_EQ(header(seen, "CSeq"), "1 OPTIONS");
  EXPECT_EQ(header(seen, "Contact").rfind("<sip:prober@127.0.0.1:", 0), 0u);
  EXPECT_EQ(header(seen, "User-Agent"), "test");
  EXPECT_EQ(header(seen, "Accept"), "application/sdp");
  EXPECT_EQ(header(seen, "Content-Length"), "0");
}

TEST(Engine, ProvisionalDoesNotEndTheProbe) {
  boost::asio::io_context io;
  ScriptedPeer peer(io, [](const std::string& req, int n) {
    // 100 Trying to the first transmission, the final answer to the retransmission.
    return std::vector<std::string>{reply(req, n == 1 ? 100 : 200)};
  });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  engine.start({target(peer.port())}, false);
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  ASSERT_EQ(sink.finished.size(), 1u);
  EXPECT_EQ(sink.finished[0].result.status_code, 200);
  EXPECT_EQ(sink.finished[0].result.transmissions, 2);
  EXPECT_GE(peer.received, 2);
}

TEST(Engine, UnhealthyCodeFailsWithCodeAndRetryAfter) {
  boost::asio::io_context io;
  ScriptedPeer peer(io, [](const std::string& req, int) {
    return std::vector<std::string>{reply(req, 503, "Retry-After: 120\r\n")};
  });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  engine.start({target(peer.port())}, false);
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  ASSERT_EQ(sink.finished.size(), 1u);
  const ProbeResult& r = sink.finished[0].result;
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.status_code, 503);
  EXPECT_EQ(r.reason, FailureReason::none);
  ASSERT_TRUE(r.retry_after.has_value());
  EXPECT_EQ(*r.retry_after, 120u);
}

TEST(Engine, HealthyCodesDecideSuccess) {
  boost::asio::io_context io;
  ScriptedPeer peer(
      io, [](const std::string& req, int) { return std::vector<std::string>{reply(req, 404)}; });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  TargetConfig t = target(peer.port());
  t.shared.edit().healthy_codes.codes.push_back(404);
  engine.start({t}, false);
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  ASSERT_EQ(sink.finished.size(), 1u);
  EXPECT_TRUE(sink.finished[0].result.success);
}

TEST(Engine, ForgedAndDuplicatedAnswersAreCountedAndIgnored) {
  boost::asio::io_context io;
  ScriptedPeer peer(io, [](const std::string& req, int) {
    std::string wrong_call = reply(req, 503);
    wrong_call.replace(wrong_call.find(header(req, "Call-ID")), header(req, "Call-ID").size(),
                       "forged@example.com");
    std::string wrong_cseq = reply(req, 503);
    wrong_cseq.replace(wrong_cseq.find(header(req, "CSeq")), header(req, "CSeq").size(),
                       "999 OPTIONS");
    std::string foreign_branch = reply(req, 503);
    const auto b = foreign_branch.find("z9hG4bK");
    foreign_branch.replace(b, 31, "z9hG4bKforeignforeignforeign123");
    // Forgeries first; then the real answer; then a duplicate of it.
    return std::vector<std::string>{"garbage\r\n\r\n", wrong_call,      wrong_cseq,
                                    foreign_branch,    reply(req, 200), reply(req, 200)};
  });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  engine.start({target(peer.port())}, false);
  run_until(io, clock, [&] { return sink.unmatched.size() >= 4; });
  ASSERT_EQ(sink.finished.size(), 1u);
  EXPECT_EQ(sink.finished[0].result.status_code, 200);
  EXPECT_EQ(sink.invalid, std::vector<std::string>{"not_a_response"});
  EXPECT_EQ(sink.unmatched, (std::vector<std::string>{"wrong_call_id", "wrong_cseq", "wrong_branch",
                                                      "no_open_probe"}));
  // Each drop names its sender, for the log.
  ASSERT_EQ(sink.drop_origins.size(), 5u);
  for (const Destination& d : sink.drop_origins) {
    EXPECT_EQ(d.address, boost::asio::ip::make_address("127.0.0.1"));
    EXPECT_EQ(d.port, peer.port());
    EXPECT_EQ(d.transport, Transport::udp);
  }
}

TEST(Engine, AnswerFromAnotherPortIsSpoofed) {
  boost::asio::io_context io;
  ScriptedPeer* p = nullptr;
  ScriptedPeer peer(io, [&](const std::string& req, int n) {
    p->spoof_next = n == 1;  // first answer from a foreign port, the retransmission's from ours
    return std::vector<std::string>{reply(req, n == 1 ? 503 : 200)};
  });
  p = &peer;
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  engine.start({target(peer.port())}, false);
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  ASSERT_EQ(sink.finished.size(), 1u);
  EXPECT_EQ(sink.finished[0].result.status_code, 200);
  EXPECT_EQ(sink.unmatched, std::vector<std::string>{"wrong_source"});
}

TEST(Engine, SilentPeerTimesOutAfterRetransmitting) {
  boost::asio::io_context io;
  ManualClock clock;
  std::vector<TimePoint> arrivals;
  ScriptedPeer peer(io, [&](const std::string&, int) {
    arrivals.push_back(clock.now());
    return std::vector<std::string>{};
  });
  RecordingSink sink;
  Engine engine(io, sink, 1, {}, on(clock));
  engine.start({target(peer.port(), milliseconds(60000), milliseconds(1700))}, false);
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  ASSERT_EQ(sink.finished.size(), 1u);
  EXPECT_EQ(sink.finished[0].result.reason, FailureReason::timeout);
  EXPECT_EQ(sink.finished[0].result.status_code, 0);
  // At 0, 0.5 and 1.5 s (Timer E); 3.5 s is past the 1.7 s timeout.
  EXPECT_EQ(sink.finished[0].result.transmissions, 3);
  ASSERT_EQ(arrivals.size(), 3u);
  EXPECT_EQ(arrivals[1] - arrivals[0], milliseconds(500));
  EXPECT_EQ(arrivals[2] - arrivals[0], milliseconds(1500));
  EXPECT_EQ(sink.finished[0].state.health, Health::down);
}

// Targets all started at t0, whose second probes fall due `intervals` after it (in ms): when
// each of those probes reaches the peer, in ms after t0.
std::vector<long> second_arrivals(const std::vector<int>& intervals) {
  boost::asio::io_context io;
  ManualClock clock;
  const TimePoint t0 = clock.now();
  std::vector<long> arrivals;
  ScriptedPeer peer(io, [&](const std::string& req, int) {
    arrivals.push_back(std::chrono::duration_cast<milliseconds>(clock.now() - t0).count());
    return std::vector<std::string>{reply(req, 200)};
  });
  std::vector<TargetConfig> targets;
  targets.reserve(intervals.size());
  for (const int ms : intervals) targets.push_back(target(peer.port(), milliseconds(ms)));
  RecordingSink sink;
  Engine engine(io, sink, 1, {}, on(clock));
  engine.start(targets, false);
  run_until(io, clock, [&] { return arrivals.size() == 2 * intervals.size(); });
  return {arrivals.begin() + static_cast<long>(intervals.size()), arrivals.end()};
}

TEST(Engine, AWakeupWithManyProbesDueStartsThoseDueWithinTwentyMillisecondsToo) {
  // Four due at 1000 ms load the wakeup: those due at 1001 and 1020 ms go with them, so the
  // loop wakes twice less; the one due at 1021 ms is outside the lookahead and waits.
  EXPECT_EQ(second_arrivals({1000, 1000, 1000, 1000, 1001, 1020, 1021}),
            (std::vector<long>{1000, 1000, 1000, 1000, 1000, 1000, 1021}));
}

// The answers of early starts wait in the socket for the next wakeup: a wakeup starts at most
// 192 early (three send batches), so that they fit a stock kernel's receive buffer.
TEST(Engine, AWakeupStartsAtMost192ProbesEarly) {
  std::vector<int> intervals(4, 1000);
  intervals.resize(4 + 200, 1010);
  std::map<long, int> at;  // arrival ms -> how many
  for (const long ms : second_arrivals(intervals)) ++at[ms];
  EXPECT_EQ(at, (std::map<long, int>{{1000, 4 + 192}, {1010, 8}}));
}

TEST(Engine, AWakeupWithFewProbesDueStartsNoneEarly) {
  EXPECT_EQ(second_arrivals({1000, 1000, 1000, 1001}), (std::vector<long>{1000, 1000, 1000, 1001}));
}

TEST(Engine, ALoadedWakeupNeverRunsATimeoutEarly) {
  boost::asio::io_context io;
  ManualClock clock;
  const TimePoint t0 = clock.now();
  ScriptedPeer answering(
      io, [](const std::string& req, int) { return std::vector<std::string>{reply(req, 200)}; });
  ScriptedPeer silent(io, [](const std::string&, int) { return std::vector<std::string>{}; });
  // The silent target's timeout falls due at 1019 ms, within the lookahead of the wakeup at
  // 1000 ms that four starts load.
  std::vector<TargetConfig> targets{target(silent.port(), milliseconds(60000), milliseconds(1019))};
  for (int i = 0; i < 4; ++i) targets.push_back(target(answering.port(), milliseconds(1000)));
  RecordingSink sink(&clock);
  Engine engine(io, sink, 1, {}, on(clock));
  engine.start(targets, false);
  run_until(io, clock,
            [&] { return answering.received == 8 && clock.now() > t0 + milliseconds(1030); });
  const auto timed_out = std::find_if(sink.finished.begin(), sink.finished.end(),
                                      [](const Finished& f) { return !f.result.success; });
  ASSERT_NE(timed_out, sink.finished.end());
  EXPECT_EQ(timed_out->result.reason, FailureReason::timeout);
  EXPECT_EQ(timed_out->at - t0, milliseconds(1019));
}

// An answer that arrived before its deadline counts, even when the wakeup that reads it is
// the deadline's: a wakeup reads the sockets before it runs a deadline.
TEST(Engine, AnAnswerWaitingWhenItsDeadlineComesCounts) {
  boost::asio::io_context io;
  ScriptedPeer peer(
      io, [](const std::string& req, int) { return std::vector<std::string>{reply(req, 200)}; });
  RecordingSink sink;
  ManualClock clock;
  const TimePoint t0 = clock.now();
  Engine engine(io, sink, 1, {}, on(clock));
  peer.hold = true;
  engine.start({target(peer.port(), milliseconds(60000), milliseconds(3000))}, false);
  run_until(io, clock, [&] { return clock.now() >= t0 + milliseconds(2998); });
  ASSERT_TRUE(sink.finished.empty());
  peer.release();  // arrives 2 ms before the deadline; no handler runs until it has passed
  clock.advance(milliseconds(3));
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  ASSERT_EQ(sink.finished.size(), 1u);
  EXPECT_TRUE(sink.finished[0].result.success);
  EXPECT_EQ(sink.finished[0].result.status_code, 200);
}

// A loop that is not loaded reads an answer when it arrives, even with a deadline 10 ms away:
// waiting a lookahead for it would let a flood of datagrams fill the socket meanwhile.
TEST(Engine, AnIdleLoopReadsAnAnswerAsItArrives) {
  boost::asio::io_context io;
  const auto ok = [](const std::string& req, int) {
    return std::vector<std::string>{reply(req, 200)};
  };
  ScriptedPeer held(io, ok);
  ScriptedPeer prompt(io, ok);
  ManualClock clock;
  RecordingSink sink(&clock);
  const TimePoint t0 = clock.now();
  Engine engine(io, sink, 1, {}, on(clock));
  held.hold = true;
  // The prompt target's answer at 2985 ms is read with the held one's deadline 15 ms away.
  engine.start({target(held.port(), milliseconds(60000), milliseconds(3000)),
                target(prompt.port(), milliseconds(2985))},
               false);
  run_until(io, clock, [&] { return clock.now() >= t0 + milliseconds(2990); });
  ASSERT_EQ(prompt.received, 2);
  ASSERT_EQ(sink.finished.size(), 2u);
  held.release();
  run_until(io, clock, [&] { return sink.finished.size() == 3; });
  ASSERT_EQ(sink.finished.size(), 3u);
  EXPECT_TRUE(sink.finished[2].result.success);
  EXPECT_EQ(sink.finished[2].at - t0, milliseconds(2990));
}

TEST(Engine, ClosedPortIsRefused) {
  boost::asio::io_context io;
  std::uint16_t port;
  {
    udp::socket s(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    port = s.local_endpoint().port();
  }  // closed again: nothing listens there now
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  engine.start({target(port, milliseconds(60000), milliseconds(10000))}, false);
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  ASSERT_EQ(sink.finished.size(), 1u);
  EXPECT_EQ(sink.finished[0].result.reason, FailureReason::refused);
  EXPECT_EQ(sink.finished[0].result.transmissions, 1) << "refused before any retransmission";
}

TEST(Engine, ManyTargetsShareOneSocketAndEachGetsItsOwnAnswer) {
  boost::asio::io_context io;
  std::vector<std::unique_ptr<ScriptedPeer>> peers;
  std::vector<TargetConfig> targets;
  for (int i = 0; i < 20; ++i) {
    const int code = 200 + i;
    peers.push_back(std::make_unique<ScriptedPeer>(io, [code](const std::string& req, int) {
      return std::vector<std::string>{reply(req, code)};
    }));
    targets.push_back(target(peers.back()->port(), milliseconds(1000), milliseconds(900)));
  }
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  engine.start(targets, false);
  run_until(io, clock, [&] { return sink.finished.size() >= 20; });
  ASSERT_GE(sink.finished.size(), 20u);
  for (const Finished& f : sink.finished) {
    EXPECT_EQ(f.result.status_code, 200 + static_cast<int>(f.target)) << f.target;
  }
  EXPECT_TRUE(sink.unmatched.empty());
}

TEST(Engine, ReloadKeepsUnchangedTargetsAndReplacesTheRest) {
  boost::asio::io_context io;
  ScriptedPeer peer(
      io, [](const std::string& req, int) { return std::vector<std::string>{reply(req, 200)}; });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  TargetConfig a = target(peer.port(), milliseconds(1000), milliseconds(900));
  a.name = "a";
  TargetConfig b = a;
  b.name = "b";
  TargetConfig c = a;
  c.name = "c";
  engine.start({a, b, c}, false);
  run_until(io, clock, [&] { return sink.finished.size() >= 3; });
  ASSERT_EQ(sink.added.size(), 3u);
  const std::size_t slot_a = sink.added[0].first;

  TargetConfig b2 = b;
  b2.shared.edit().timeout = milliseconds(800);  // changed: replaced
  TargetConfig d = a;
  d.name = "d";
  engine.reload({a, b2, d});  // c removed, d added
  std::vector<std::string> removed_names;
  for (const auto& [slot, in_flight] : sink.removed) {
    for (const auto& [s2, name] : sink.added) {
      if (s2 == slot) removed_names.push_back(name);
    }
  }
  // Slots are reused, so match removals against the names first given to them.
  EXPECT_EQ(sink.removed.size(), 2u);
  EXPECT_EQ(sink.added.size(), 5u);
  EXPECT_EQ(sink.added[3].second, "b");
  EXPECT_EQ(sink.added[4].second, "d");
  for (const auto& [slot, in_flight] : sink.removed) EXPECT_NE(slot, slot_a);

  // "a" keeps probing on its schedule: exactly one more result per interval, no double start.
  const std::size_t before = sink.finished.size();
  run_until(io, clock, [&] {
    int a_results = 0;
    for (std::size_t i = before; i < sink.finished.size(); ++i) {
      if (sink.finished[i].target == slot_a) ++a_results;
    }
    return a_results >= 2;
  });
  int a_results = 0;
  for (std::size_t i = before; i < sink.finished.size(); ++i) {
    if (sink.finished[i].target == slot_a) {
      ++a_results;
      EXPECT_EQ(sink.finished[i].state.health, Health::up);
      EXPECT_FALSE(sink.finished[i].change.changed()) << "state survived the reload";
    }
  }
  EXPECT_EQ(a_results, 2);
}

TEST(Engine, ProbeOnceAnswersItsCallerOnly) {
  boost::asio::io_context io;
  ScriptedPeer peer(
      io, [](const std::string& req, int) { return std::vector<std::string>{reply(req, 486)}; });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  std::optional<ProbeResult> got;
  std::string request, response;
  engine.probe_once(target(peer.port()), [&](const ProbeResult& r) {
    got = r;
    request = std::string(r.request);
    response = std::string(r.response);
  });
  run_until(io, clock, [&] { return got.has_value(); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status_code, 486);
  EXPECT_FALSE(got->success);
  EXPECT_EQ(request.rfind("OPTIONS sip:127.0.0.1:", 0), 0u);
  EXPECT_EQ(response.rfind("SIP/2.0 486 ", 0), 0u) << response;
  EXPECT_TRUE(sink.finished.empty());
  EXPECT_TRUE(sink.added.empty());
  EXPECT_EQ(sink.started, 0);
  EXPECT_EQ(engine.in_flight(), 0u);
}

}  // namespace
}  // namespace stx

namespace stx {
namespace {

TEST(EngineIdentity, ConfiguredHeadersShapeTheRequest) {
  boost::asio::io_context io;
  std::string seen;
  ScriptedPeer peer(io, [&](const std::string& req, int) {
    seen = req;
    return std::vector<std::string>{reply(req, 200)};
  });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  TargetConfig t = target(peer.port());
  t.shared.edit().ruri_user = "ping";
  t.shared.edit().to = "sip:trunk@example.test";
  t.shared.edit().contact = "sip:sbc1.example.test:5061;transport=tls";
  t.shared.edit().headers = {{"X-Probe", "1"}, {"X-Account", "pbx01"}};
  engine.start({t}, false);
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  const std::string port = std::to_string(peer.port());
  EXPECT_EQ(seen.substr(0, seen.find("\r\n")), "OPTIONS sip:ping@127.0.0.1:" + port + " SIP/2.0");
  EXPECT_EQ(header(seen, "To"), "<sip:trunk@example.test>");
  EXPECT_EQ(header(seen, "Contact"), "<sip:sbc1.example.test:5061;transport=tls>");
  EXPECT_EQ(header(seen, "X-Probe"), "1");
  EXPECT_EQ(header(seen, "X-Account"), "pbx01");
  EXPECT_LT(seen.find("X-Probe"), seen.find("X-Account"));  // config order kept
}

std::string challenge_reply(const std::string& req, int code, const std::string& header_name) {
  return reply(req, code,
               header_name +
                   ": Digest realm=\"example.test\", nonce=\"abc123\", qop=\"auth\", "
                   "algorithm=SHA-256\r\n");
}

TEST(EngineIdentity, DigestChallengeIsAnsweredOnce) {
  boost::asio::io_context io;
  std::vector<std::string> seen;
  ScriptedPeer peer(io, [&](const std::string& req, int) {
    seen.push_back(req);
    // Challenge anything without credentials; accept what carries them.
    if (header(req, "Authorization").empty()) {
      return std::vector<std::string>{challenge_reply(req, 401, "WWW-Authenticate")};
    }
    return std::vector<std::string>{reply(req, 200)};
  });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  TargetConfig t = target(peer.port());
  t.shared.edit().auth = DigestCredentials{"probe", "s3cret", ""};
  engine.start({t}, false);
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  ASSERT_EQ(sink.finished.size(), 1u);
  EXPECT_EQ(sink.finished[0].result.status_code, 200);
  EXPECT_EQ(sink.finished[0].result.transmissions, 2);
  EXPECT_TRUE(sink.finished[0].result.request_has_credentials) << "shown only redacted";
  ASSERT_EQ(seen.size(), 2u);
  const std::string auth = header(seen[1], "Authorization");
  EXPECT_EQ(auth.rfind("Digest username=\"probe\"", 0), 0u) << auth;
  EXPECT_NE(auth.find("algorithm=SHA-256"), std::string::npos) << auth;
  EXPECT_NE(auth.find("qop=auth"), std::string::npos) << auth;
  EXPECT_EQ(auth.find("s3cret"), std::string::npos);  // only the hash travels
  // Same Call-ID, next CSeq, a new branch (RFC 3261 22.2).
  EXPECT_EQ(header(seen[0], "Call-ID"), header(seen[1], "Call-ID"));
  EXPECT_EQ(header(seen[1], "CSeq"), "2 OPTIONS");
  EXPECT_NE(header(seen[0], "Via"), header(seen[1], "Via"));
}

TEST(EngineIdentity, ProxyChallengeGetsProxyAuthorizationAndASecondChallengeIsFinal) {
  boost::asio::io_context io;
  std::vector<std::string> seen;
  ScriptedPeer peer(io, [&](const std::string& req, int) {
    seen.push_back(req);
    return std::vector<std::string>{challenge_reply(req, 407, "Proxy-Authenticate")};
  });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  TargetConfig t = target(peer.port());
  t.shared.edit().auth = DigestCredentials{"probe", "wrong", ""};
  engine.start({t}, false);
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  ASSERT_EQ(sink.finished.size(), 1u);
  EXPECT_EQ(sink.finished[0].result.status_code, 407);  // refused credentials: not retried
  EXPECT_FALSE(sink.finished[0].result.success);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(header(seen[1], "Proxy-Authorization").empty());
}

TEST(EngineIdentity, ChallengeWithoutCredentialsIsTheFinalAnswer) {
  boost::asio::io_context io;
  ScriptedPeer peer(io, [&](const std::string& req, int) {
    return std::vector<std::string>{challenge_reply(req, 401, "WWW-Authenticate")};
  });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  engine.start({target(peer.port())}, false);
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  ASSERT_EQ(sink.finished.size(), 1u);
  EXPECT_EQ(sink.finished[0].result.status_code, 401);
  EXPECT_EQ(peer.received, 1);
}

// method = "register" through the whole engine: the digest is computed for REGISTER on the
// registrar URI, the 2xx's bindings reach the sink, and a second challenge is reason auth.
TEST(EngineRegister, DigestAnsweredForRegisterAndBindingsReachTheSink) {
  boost::asio::io_context io;
  std::vector<std::string> seen;
  ScriptedPeer peer(io, [&](const std::string& req, int) {
    seen.push_back(req);
    if (header(req, "Authorization").empty()) {
      return std::vector<std::string>{challenge_reply(req, 401, "WWW-Authenticate")};
    }
    return std::vector<std::string>{
        reply(req, 200,
              "Contact: <sip:pbx01@192.0.2.10:5060>;expires=300, <sip:pbx01@192.0.2.11>\r\n"
              "m: <sip:pbx01@192.0.2.12>;expires=20\r\n")};
  });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  TargetConfig t = target(peer.port());
  t.uri = "sip:pbx01@127.0.0.1:" + std::to_string(peer.port());
  t.shared.edit().method = ProbeMethod::register_;
  t.shared.edit().aor = "sip:pbx01@example.test";
  t.shared.edit().auth = DigestCredentials{"pbx01", "s3cret", ""};
  engine.start({t}, false);
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  ASSERT_EQ(sink.finished.size(), 1u);
  const ProbeResult& r = sink.finished[0].result;
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.status_code, 200);
  EXPECT_EQ(r.reason, FailureReason::none);
  EXPECT_EQ(r.contacts, 3u);
  ASSERT_EQ(seen.size(), 2u);
  const std::string registrar = "sip:127.0.0.1:" + std::to_string(peer.port());
  for (const std::string& req : seen) {
    EXPECT_EQ(req.substr(0, req.find("\r\n")), "REGISTER " + registrar + " SIP/2.0");
    EXPECT_EQ(header(req, "To"), "<sip:pbx01@example.test>");
    EXPECT_EQ(req.find("Contact"), std::string::npos) << req;
    EXPECT_EQ(req.find("Expires"), std::string::npos) << req;
  }
  EXPECT_EQ(header(seen[1], "CSeq"), "2 REGISTER");
  const std::string auth = header(seen[1], "Authorization");
  EXPECT_NE(auth.find("uri=\"" + registrar + "\""), std::string::npos) << auth;
}

TEST(EngineRegister, ASecondChallengeIsReasonAuthWithTheCodeRecorded) {
  boost::asio::io_context io;
  ScriptedPeer peer(io, [&](const std::string& req, int) {
    return std::vector<std::string>{challenge_reply(req, 401, "WWW-Authenticate")};
  });
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  TargetConfig t = target(peer.port());
  t.shared.edit().method = ProbeMethod::register_;
  t.shared.edit().auth = DigestCredentials{"pbx01", "wrong", ""};
  engine.start({t}, false);
  run_until(io, clock, [&] { return !sink.finished.empty(); });
  ASSERT_EQ(sink.finished.size(), 1u);
  const ProbeResult& r = sink.finished[0].result;
  EXPECT_FALSE(r.success);
  EXPECT_FALSE(r.degraded);
  EXPECT_EQ(r.status_code, 401);
  EXPECT_EQ(r.reason, FailureReason::auth);
  EXPECT_FALSE(r.contacts);
  EXPECT_EQ(peer.received, 2);
}

TEST(EngineIdentity, FixedSourcePortIsUsedAndABusyOneIsASendError) {
  boost::asio::io_context io;
  std::string seen;
  ScriptedPeer peer(io, [&](const std::string& req, int) {
    seen = req;
    return std::vector<std::string>{reply(req, 200)};
  });
  // A port we hold: the exporter cannot bind it, and must say so without sending.
  udp::socket busy(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  udp::socket probe_port(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const std::uint16_t free_port = probe_port.local_endpoint().port();
  probe_port.close();
  RecordingSink sink;
  ManualClock clock;
  Engine engine(io, sink, 1, {}, on(clock));
  TargetConfig ok = target(peer.port());
  ok.name = "fixed";
  ok.shared.edit().source_address = "127.0.0.1";
  ok.shared.edit().source_port = free_port;
  TargetConfig bad = target(peer.port());
  bad.name = "busy";
  bad.shared.edit().source_address = "127.0.0.1";
  bad.shared.edit().source_port = busy.local_endpoint().port();
  engine.start({ok, bad}, false);
  run_until(io, clock, [&] { return sink.finished.size() >= 2; });
  ASSERT_EQ(sink.finished.size(), 2u);
  for (const Finished& f : sink.finished) {
    const std::string& name = sink.added.at(f.target).second;
    if (name == "fixed") {
      EXPECT_EQ(f.result.status_code, 200);
    } else {
      EXPECT_EQ(f.result.reason, FailureReason::send_error);
      EXPECT_NE(f.detail.find("in use"), std::string::npos) << f.detail;
    }
  }
  EXPECT_EQ(header(seen, "Via").rfind("SIP/2.0/UDP 127.0.0.1:" + std::to_string(free_port), 0), 0u)
      << header(seen, "Via");
}

// A TCP peer that answers every request after 5 ms but never answers a keepalive ping
// (linphone does this). Whatever the interval and keepalive, no probe may fail: a flow is
// never closed under a probe, and the answers themselves prove the flow alive.
TEST(EngineKeepalive, APeerThatNeverPongsLosesNoProbeOverMinutes) {
  struct Combo {
    milliseconds interval;
    milliseconds keepalive;
  };
  for (const Combo c : {Combo{milliseconds(5000), milliseconds(5000)},
                        Combo{milliseconds(10000), milliseconds(3000)},
                        Combo{milliseconds(2000), milliseconds(7000)}}) {
    boost::asio::io_context io;
    RecordingSink sink;
    ManualClock clock;
    FakeConnections flows;
    EngineParts parts = on(clock);
    parts.connections = flows.factory();
    Engine engine(io, sink, 1, {}, std::move(parts));
    TargetConfig t = target(5060, c.interval, milliseconds(1000));
    t.shared.edit().transport = Transport::tcp;
    t.shared.edit().keepalive_interval = c.keepalive;
    engine.start({t}, false);
    std::map<FakeConnection*, std::size_t> answered;
    std::vector<std::pair<TimePoint, std::string>> due;  // answers on their way
    for (int step = 0; step < 5 * 60 * 1000; ++step) {   // 5 minutes of 1 ms steps
      io.restart();
      io.poll();
      for (const auto& f : flows.made) {
        if (f->connecting) f->become_ready();
        for (std::size_t& n = answered[f.get()]; n < f->sent.size(); ++n) {
          due.emplace_back(clock.now() + milliseconds(5), reply(f->sent[n], 200));
        }
      }
      for (auto it = due.begin(); it != due.end();) {
        if (it->first > clock.now()) {
          ++it;
          continue;
        }
        if (!flows.made.back()->closed) flows.made.back()->deliver(it->second, clock.now());
        it = due.erase(it);
      }
      clock.advance(milliseconds(1));
    }
    const auto want = static_cast<std::size_t>(5 * 60 * 1000 / c.interval.count());
    EXPECT_GE(sink.finished.size(), want - 1) << c.interval.count() << "/" << c.keepalive.count();
    for (const Finished& f : sink.finished) {
      EXPECT_TRUE(f.result.success) << c.interval.count() << "/" << c.keepalive.count() << ": "
                                    << to_string(f.result.reason) << " " << f.detail;
    }
  }
}

}  // namespace
}  // namespace stx
