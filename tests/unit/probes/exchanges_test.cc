// The exchanges in virtual time: the Timer E schedule against a silent UDP peer on
// loopback, reconnect backoff and the keepalive pong deadline with connections the test
// drives. Timer entries run on a manual clock; no sleeps.
#include "probes/exchanges.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <boost/asio/ip/udp.hpp>

#include "probes/probers.h"
#include "probes/udp_transport.h"
#include "tests/unit/probes/probe_fakes.h"

namespace stx {
namespace {

using boost::asio::ip::udp;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct Outcome {
  std::uint32_t address;
  ProbeResult result;
  TimePoint at;
};

class RecordingListener final : public ExchangeListener {
 public:
  void exchange_finished(std::uint32_t address, ProbeResult& r, TimePoint now) override {
    outcomes.push_back({address, r, now});
    requests.emplace_back(r.request);  // the view is valid during the call only
  }
  std::vector<Outcome> outcomes;
  std::vector<std::string> requests;
};

std::string reply(const std::string& req, int code) {
  return "SIP/2.0 " + std::to_string(code) + " X\r\nVia: " + header(req, "Via") +
         "\r\nFrom: " + header(req, "From") + "\r\nTo: " + header(req, "To") +
         ";tag=p\r\nCall-ID: " + header(req, "Call-ID") + "\r\nCSeq: " + header(req, "CSeq") +
         "\r\nContent-Length: 0\r\n\r\n";
}

ProbeTarget probe_target(Transport transport, std::uint16_t port,
                         milliseconds keepalive = milliseconds(0)) {
  auto cfg = std::make_shared<TargetConfig>(
      test_target("sip:127.0.0.1:" + std::to_string(port), seconds(30), seconds(10)));
  cfg->shared.edit().transport = transport;
  cfg->shared.edit().keepalive_interval = keepalive;
  ProbeTarget t;
  t.cfg = cfg;
  t.prober = &prober_for(ProbeMethod::options);
  return t;
}

Destination loopback(std::uint16_t port, Transport transport) {
  return {boost::asio::ip::make_address("127.0.0.1"), port, transport};
}

struct Rig {
  Rig()
      : exchanges(
            {io, clock, timers, sink, connections.factory()}, listener, [] {}, [] {}) {}

  // Runs timer entries up to `d` from now; `after` runs after each.
  void run_for(
      SteadyClock::duration d, std::function<void()> after = [] {}) {
    VirtualTimers{clock, timers, [this](const TimerEntry& e) { return exchanges.live(e); },
                  [this](const TimerEntry& e, TimePoint now) { exchanges.fire(e, now); },
                  std::move(after)}
        .run_for(d);
  }

  boost::asio::io_context io;
  ManualClock clock;
  TimerQueue timers;
  RecordingSink sink{&clock};
  RecordingListener listener;
  FakeConnections connections;
  Exchanges exchanges;
};

// A UDP socket on loopback that never answers; it records when each datagram came in.
struct SilentPeer {
  explicit SilentPeer(boost::asio::io_context& io)
      : socket(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    socket.non_blocking(true);
  }
  // Reads what has arrived (loopback delivers within the send call), stamping it `now`.
  void drain(TimePoint now) {
    std::array<char, 65536> buf{};
    udp::endpoint from;
    boost::system::error_code ec;
    for (;;) {
      const std::size_t n = socket.receive_from(boost::asio::buffer(buf), from, 0, ec);
      if (ec) return;
      arrivals.push_back(now);
      last = std::string(buf.data(), n);
      sender = from;
    }
  }
  udp::socket socket;
  std::vector<TimePoint> arrivals;
  std::string last;
  udp::endpoint sender;
};

std::vector<milliseconds> offsets(const std::vector<TimePoint>& at, TimePoint t0) {
  std::vector<milliseconds> out;
  out.reserve(at.size());
  for (const TimePoint t : at) out.push_back(std::chrono::duration_cast<milliseconds>(t - t0));
  return out;
}

// One UDP exchange to a silent peer, started at t0 with `deadline` to go.
struct SilentExchange {
  explicit SilentExchange(milliseconds deadline)
      : peer(rig.io),
        t(probe_target(Transport::udp, peer.socket.local_endpoint().port())),
        t0(rig.clock.now()) {
    const std::uint16_t port = peer.socket.local_endpoint().port();
    rig.exchanges.open(0, 1, t, loopback(port, Transport::udp));
    rig.exchanges.start(0, t0, t0 + deadline);
    peer.drain(rig.clock.now());
  }
  Rig rig;
  SilentPeer peer;
  ProbeTarget t;
  TimePoint t0;
};

// Exchanges and a silent UDP peer, with a target probing it; the test opens addresses.
struct UdpFleet {
  UdpFleet() : peer(rig.io), port(peer.socket.local_endpoint().port()) {}
  void open(std::uint32_t address, std::uint16_t to_port) {
    rig.exchanges.open(address, 1, t, loopback(to_port, Transport::udp));
  }
  Rig rig;
  SilentPeer peer;
  std::uint16_t port;
  ProbeTarget t = probe_target(Transport::udp, port);
};

TEST(ExchangesUdp, TimerEDoublesFromT1ToT2UntilTheDeadline) {
  SilentExchange x(seconds(20));
  Rig& rig = x.rig;
  SilentPeer& peer = x.peer;
  const TimePoint t0 = x.t0;
  rig.run_for(seconds(20) - milliseconds(1), [&] { peer.drain(rig.clock.now()); });
  // RFC 3261 17.1.2.2: T1 = 500 ms, doubling, capped at T2 = 4 s.
  const std::vector<milliseconds> want = {
      milliseconds(0),    milliseconds(500),   milliseconds(1500),  milliseconds(3500),
      milliseconds(7500), milliseconds(11500), milliseconds(15500), milliseconds(19500)};
  EXPECT_EQ(offsets(peer.arrivals, t0), want);
  rig.exchanges.expire(0, rig.clock.now());
  ASSERT_EQ(rig.listener.outcomes.size(), 1u);
  EXPECT_EQ(rig.listener.outcomes[0].result.reason, FailureReason::timeout);
  EXPECT_EQ(rig.listener.outcomes[0].result.transmissions, 8);
}

TEST(ExchangesUdp, AProvisionalAnswerSlowsRetransmissionsToT2) {
  SilentExchange x(seconds(10));
  Rig& rig = x.rig;
  SilentPeer& peer = x.peer;
  const TimePoint t0 = x.t0;
  rig.clock.advance(milliseconds(100));
  peer.socket.send_to(boost::asio::buffer(reply(peer.last, 100)), peer.sender);
  rig.exchanges.poll();  // reads the 100 Trying
  rig.run_for(seconds(10) - milliseconds(101), [&] { peer.drain(rig.clock.now()); });
  // The retransmission already planned for 500 ms stands; after it, every T2.
  const std::vector<milliseconds> want = {milliseconds(0), milliseconds(500), milliseconds(4500),
                                          milliseconds(8500)};
  EXPECT_EQ(offsets(peer.arrivals, t0), want);
  EXPECT_TRUE(rig.listener.outcomes.empty());  // a provisional answer ends nothing
}

// The requests of one wakeup leave together at its end (one sendmmsg), and each probe's RTT
// and Timer E run from then, not from when it was queued.
TEST(ExchangesUdp, RequestsOfOneWakeupLeaveTogetherAtTheFlushAndTimeFromIt) {
  UdpFleet f;
  Rig& rig = f.rig;
  SilentPeer& peer = f.peer;
  const TimePoint t0 = rig.clock.now();
  rig.exchanges.batch_sends();
  for (std::uint32_t a = 0; a < 3; ++a) {
    f.open(a, f.port);
    rig.exchanges.start(a, t0, t0 + seconds(2));
  }
  peer.drain(rig.clock.now());
  EXPECT_TRUE(peer.arrivals.empty());  // queued, not sent
  rig.clock.advance(milliseconds(3));
  rig.exchanges.flush_sends();
  peer.drain(rig.clock.now());
  ASSERT_EQ(peer.arrivals.size(), 3u);
  const std::string batched = peer.last;
  // Outside a batch a request leaves at once.
  f.open(3, f.port);
  rig.exchanges.start(3, rig.clock.now(), rig.clock.now() + seconds(2));
  peer.drain(rig.clock.now());
  EXPECT_EQ(peer.arrivals.size(), 4u);
  // Timer E from the flush: the first three retransmit 503 ms after t0, not 500.
  rig.run_for(milliseconds(600), [&] { peer.drain(rig.clock.now()); });
  const std::vector<milliseconds> want = {milliseconds(3),   milliseconds(3),   milliseconds(3),
                                          milliseconds(3),   milliseconds(503), milliseconds(503),
                                          milliseconds(503), milliseconds(503)};
  EXPECT_EQ(offsets(peer.arrivals, t0), want);
  // An answer's RTT runs from the flush too, less the real moments between the kernel's
  // arrival stamp and the read: at most 610 ms, where timing from t0 would give 613.
  rig.clock.advance(milliseconds(10));
  peer.socket.send_to(boost::asio::buffer(reply(batched, 200)), peer.sender);
  rig.exchanges.poll();
  ASSERT_EQ(rig.listener.outcomes.size(), 1u);
  EXPECT_EQ(rig.listener.outcomes[0].address, 2u);
  const double rtt = std::chrono::duration<double>(rig.listener.outcomes[0].result.rtt).count();
  EXPECT_LE(rtt, 0.610);
  EXPECT_GT(rtt, 0.600);
}

// A wakeup that starts more probes than one sendmmsg takes: each full batch leaves as the
// next request comes, and that request starts a new batch, instead of leaving on its own.
TEST(ExchangesUdp, RequestsPastAFullBatchStartTheNextBatch) {
  UdpFleet f;
  Rig& rig = f.rig;
  SilentPeer& peer = f.peer;
  const TimePoint t0 = rig.clock.now();
  constexpr std::uint32_t kBatch = UdpTransport::kSendBatch;
  constexpr std::uint32_t kProbes = kBatch + 6;
  rig.exchanges.batch_sends();
  for (std::uint32_t a = 0; a < kProbes; ++a) {
    f.open(a, f.port);
    rig.exchanges.start(a, t0, t0 + seconds(2));
  }
  peer.drain(rig.clock.now());
  EXPECT_EQ(peer.arrivals.size(), kBatch) << "the first batch left when it was full; no more";
  rig.clock.advance(milliseconds(3));
  rig.exchanges.flush_sends();
  peer.drain(rig.clock.now());
  ASSERT_EQ(peer.arrivals.size(), kProbes);
  std::vector<milliseconds> want(kBatch, milliseconds(0));
  want.resize(kProbes, milliseconds(3));
  EXPECT_EQ(offsets(peer.arrivals, t0), want);
  // Timer E of each runs from its own batch's send.
  rig.run_for(milliseconds(510), [&] { peer.drain(rig.clock.now()); });
  ASSERT_EQ(peer.arrivals.size(), 2 * kProbes);
  EXPECT_EQ(peer.arrivals[kProbes] - t0, milliseconds(500));
  EXPECT_EQ(peer.arrivals.back() - t0, milliseconds(503));
}

// One poll reads at most kMaxDatagramsPerPoll answers, then gives the loop's timers their
// turn, and says that more may be waiting; the next poll reads the rest.
TEST(ExchangesUdp, APollStopsAtItsLimitAndSaysMoreMayBeWaiting) {
  UdpFleet f;
  Rig& rig = f.rig;
  SilentPeer& peer = f.peer;
  const TimePoint now = rig.clock.now();
  constexpr std::uint32_t kLimit = UdpTransport::kMaxDatagramsPerPoll;
  constexpr std::uint32_t kProbes = kLimit + 10;
  for (std::uint32_t a = 0; a < kProbes; ++a) {
    f.open(a, f.port);
    rig.exchanges.start(a, now, now + seconds(2));
    peer.drain(now);
    peer.socket.send_to(boost::asio::buffer(reply(peer.last, 200)), peer.sender);
  }
  EXPECT_TRUE(rig.exchanges.poll());
  EXPECT_EQ(rig.listener.outcomes.size(), kLimit);
  EXPECT_FALSE(rig.exchanges.poll());
  EXPECT_EQ(rig.listener.outcomes.size(), kProbes);
  EXPECT_FALSE(rig.exchanges.poll()) << "nothing left";
}

// A request the kernel refuses fails its own probe only; the rest of the batch still leaves.
TEST(ExchangesUdp, ARequestRefusedInABatchFailsOnlyItsOwnProbe) {
  UdpFleet f;
  Rig& rig = f.rig;
  const TimePoint now = rig.clock.now();
  rig.exchanges.batch_sends();
  f.open(0, f.port);
  f.open(1, 0);  // port 0: EINVAL, nothing sent
  f.open(2, f.port);
  for (std::uint32_t a = 0; a < 3; ++a) rig.exchanges.start(a, now, now + seconds(2));
  EXPECT_TRUE(rig.listener.outcomes.empty());
  rig.exchanges.flush_sends();
  ASSERT_EQ(rig.listener.outcomes.size(), 1u);
  EXPECT_EQ(rig.listener.outcomes[0].address, 1u);
  EXPECT_EQ(rig.listener.outcomes[0].result.reason, FailureReason::send_error);
  EXPECT_EQ(rig.listener.outcomes[0].result.transmissions, 0);
  f.peer.drain(rig.clock.now());
  EXPECT_EQ(f.peer.arrivals.size(), 2u);
}

// A port nothing listens on: loopback answers a datagram to it with an ICMP port
// unreachable while the send is still in the kernel.
std::uint16_t closed_port(boost::asio::io_context& io) {
  udp::socket s(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return s.local_endpoint().port();
}

// The ICMP error of a batch's first request fails the next one's send inside sendmmsg,
// which then reports only how many it sent: the error's report is still read, and the
// refused probe ends as refused, not as a timeout later.
TEST(ExchangesUdp, AnIcmpErrorInsideABatchRefusesItsOwnProbeAndTheRestStillLeave) {
  UdpFleet f;
  Rig& rig = f.rig;
  const TimePoint now = rig.clock.now();
  rig.exchanges.batch_sends();
  f.open(0, closed_port(rig.io));
  f.open(1, f.port);
  f.open(2, f.port);
  for (std::uint32_t a = 0; a < 3; ++a) rig.exchanges.start(a, now, now + seconds(2));
  rig.exchanges.flush_sends();
  rig.exchanges.poll();
  ASSERT_EQ(rig.listener.outcomes.size(), 1u);
  EXPECT_EQ(rig.listener.outcomes[0].address, 0u);
  EXPECT_EQ(rig.listener.outcomes[0].result.reason, FailureReason::refused);
  EXPECT_EQ(rig.listener.outcomes[0].result.transmissions, 1) << "the error quotes it: it left";
  f.peer.drain(rig.clock.now());
  EXPECT_EQ(f.peer.arrivals.size(), 2u);
}

// A router may quote only the start of the datagram an ICMP error is about, too little to
// hold the Via branch (IPv4 loopback quotes the first 548 bytes of the packet): then every
// open probe to that address is refused, and no other.
TEST(ExchangesUdp, AnIcmpErrorQuotingNoBranchRefusesTheOpenProbesToThatAddressOnly) {
  UdpFleet f;
  Rig& rig = f.rig;
  const std::uint16_t closed = closed_port(rig.io);
  ProbeTarget far = probe_target(Transport::udp, closed);
  auto cfg = std::make_shared<TargetConfig>(
      test_target("sip:" + std::string(700, 'u') + "@127.0.0.1:" + std::to_string(closed),
                  seconds(30), seconds(10)));
  far.cfg = cfg;
  const TimePoint now = rig.clock.now();
  rig.exchanges.open(0, 1, far, loopback(closed, Transport::udp));
  rig.exchanges.open(1, 1, far, loopback(closed, Transport::udp));
  rig.exchanges.open(2, 1, far, loopback(closed, Transport::udp));  // idle
  f.open(3, f.port);                                                // open, elsewhere
  rig.exchanges.start(3, now, now + seconds(2));
  rig.exchanges.batch_sends();
  rig.exchanges.start(0, now, now + seconds(2));
  rig.exchanges.start(1, now, now + seconds(2));
  rig.exchanges.flush_sends();
  rig.exchanges.poll();
  ASSERT_EQ(rig.listener.outcomes.size(), 2u);
  for (const Outcome& o : rig.listener.outcomes) {
    EXPECT_LT(o.address, 2u);
    EXPECT_EQ(o.result.reason, FailureReason::refused);
    EXPECT_EQ(o.result.transmissions, 1);
  }
  EXPECT_GT(rig.listener.requests[0].find(";branch="), 548u) << "the quote holds no branch";
  EXPECT_NE(rig.listener.outcomes[0].address, rig.listener.outcomes[1].address);

  rig.exchanges.close(0);  // a closed address is no longer found by its remote
  rig.exchanges.start(1, rig.clock.now(), rig.clock.now() + seconds(2));
  rig.exchanges.poll();
  ASSERT_EQ(rig.listener.outcomes.size(), 3u);
  EXPECT_EQ(rig.listener.outcomes[2].address, 1u);
  EXPECT_EQ(rig.listener.outcomes[2].result.reason, FailureReason::refused);
}

// The addresses of one remote stay findable for such an error when the chains grow past
// their first buckets and when addresses leave from the head, the middle and the tail.
TEST(ExchangesUdp, RemoteChainsSurviveGrowthAndRemovalAnywhere) {
  UdpFleet f;
  Rig& rig = f.rig;
  const std::uint16_t closed = closed_port(rig.io);
  ProbeTarget far = probe_target(Transport::udp, closed);
  far.cfg = std::make_shared<TargetConfig>(
      test_target("sip:" + std::string(700, 'u') + "@127.0.0.1:" + std::to_string(closed),
                  seconds(30), seconds(10)));
  constexpr std::uint32_t kAddresses = 70;  // more than the first 64 buckets
  for (std::uint32_t a = 0; a < kAddresses; ++a) {
    rig.exchanges.open(a, 1, far, loopback(closed, Transport::udp));
    rig.exchanges.start(a, rig.clock.now(), rig.clock.now() + seconds(2));  // linked, refused
  }
  ASSERT_EQ(rig.listener.outcomes.size(), kAddresses);
  f.open(kAddresses, f.port);  // open, elsewhere
  rig.exchanges.start(kAddresses, rig.clock.now(), rig.clock.now() + seconds(2));
  rig.exchanges.close(kAddresses - 1);  // the newest: the chain's head
  rig.exchanges.close(35);              // the middle
  rig.exchanges.close(0);               // the oldest: its tail
  rig.listener.outcomes.clear();
  rig.exchanges.batch_sends();
  for (const std::uint32_t a : {1u, 34u, 36u, kAddresses - 2}) {
    rig.exchanges.start(a, rig.clock.now(), rig.clock.now() + seconds(2));
  }
  rig.exchanges.flush_sends();
  rig.exchanges.poll();
  std::vector<std::uint32_t> refused;
  for (const Outcome& o : rig.listener.outcomes) {
    EXPECT_EQ(o.result.reason, FailureReason::refused);
    refused.push_back(o.address);
  }
  std::sort(refused.begin(), refused.end());
  EXPECT_EQ(refused, (std::vector<std::uint32_t>{1, 34, 36, kAddresses - 2}));

  rig.exchanges.close(kAddresses - 2);  // the new head, whose neighbour left before it
  rig.exchanges.close(34);              // and one beside the middle that left
  rig.listener.outcomes.clear();
  rig.exchanges.batch_sends();
  rig.exchanges.start(33, rig.clock.now(), rig.clock.now() + seconds(2));
  rig.exchanges.start(36, rig.clock.now(), rig.clock.now() + seconds(2));
  rig.exchanges.flush_sends();
  rig.exchanges.poll();
  ASSERT_EQ(rig.listener.outcomes.size(), 2u);
  EXPECT_EQ(rig.listener.outcomes[0].result.reason, FailureReason::refused);
  EXPECT_EQ(rig.listener.outcomes[1].result.reason, FailureReason::refused);
}

// A large fleet's UDP sessions hold one shared copy of our Via sent-by and Contact, not one
// each; every request still carries them.
TEST(ExchangesUdp, SessionsFromOneLocalAddressShareOneIdentity) {
  UdpFleet f;
  Rig& rig = f.rig;
  SilentPeer& peer = f.peer;
  constexpr std::uint32_t kTargets = 50;
  for (std::uint32_t a = 0; a < kTargets; ++a) {
    f.open(a, f.port);
    rig.exchanges.start(a, rig.clock.now(), rig.clock.now() + seconds(5));
  }
  peer.drain(rig.clock.now());
  ASSERT_EQ(peer.arrivals.size(), kTargets);
  const std::string via = header(peer.last, "Via");
  const std::string sent_by = "127.0.0.1:" + std::to_string(peer.sender.port());
  EXPECT_NE(via.find("SIP/2.0/UDP " + sent_by + ";"), std::string::npos) << via;
  EXPECT_EQ(header(peer.last, "Contact"), "<sip:prober@" + sent_by + ">");
  EXPECT_EQ(rig.exchanges.local_identities(), 1u);
}

TEST(ExchangesStream, ReconnectsBackOffFromOneSecondToAMinute) {
  Rig rig;
  const ProbeTarget t = probe_target(Transport::tcp, 5060, seconds(1));
  rig.exchanges.open(0, 1, t, loopback(5060, Transport::tcp));
  const TimePoint t0 = rig.clock.now();
  std::vector<TimePoint> attempts;
  rig.run_for(seconds(130), [&] {
    for (const auto& c : rig.connections.made) {
      if (c->connecting) {
        attempts.push_back(rig.clock.now());
        c->refuse();
      }
    }
  });
  // A keepalive every second reconnects, but only once the backoff (1, 2, 4 ... 60 s) allows.
  const std::vector<milliseconds> want = {seconds(1),  seconds(2),  seconds(4),  seconds(8),
                                          seconds(16), seconds(32), seconds(64), seconds(124)};
  EXPECT_EQ(offsets(attempts, t0), want);
}

// A TCP flow that is up, with keepalives every 5 s: the first keepalive connects it.
struct KeptAliveFlow {
  KeptAliveFlow() : t(probe_target(Transport::tcp, 5060, seconds(5))) {
    rig.exchanges.open(0, 1, t, loopback(5060, Transport::tcp));
    t0 = rig.clock.now();
    rig.run_for(seconds(5));
    flow = rig.connections.made.back();
    flow->become_ready();
  }
  FakeConnection& conn() { return *flow; }  // not any reconnection made after it closed

  Rig rig;
  ProbeTarget t;
  TimePoint t0;
  std::shared_ptr<FakeConnection> flow;
};

TEST(ExchangesStream, NoPongWithinTenSecondsClosesTheFlow) {
  KeptAliveFlow f;
  f.rig.run_for(seconds(5));  // t=10: ping
  ASSERT_EQ(f.conn().pings, 1);
  f.rig.run_for(seconds(10) - milliseconds(1));
  EXPECT_FALSE(f.conn().closed);  // 10 s, whatever the keepalive interval (RFC 5626 4.4.1)
  f.rig.run_for(milliseconds(1));
  EXPECT_TRUE(f.conn().closed);
  ASSERT_EQ(f.rig.sink.keepalives.size(), 1u);
  EXPECT_FALSE(f.rig.sink.keepalives[0].first);
  EXPECT_EQ(f.rig.sink.keepalives[0].second, f.t0 + seconds(20));
}

TEST(ExchangesStream, APongDeadlineUnderAProbeNeverClosesTheFlowAndItsAnswerCountsAsPong) {
  KeptAliveFlow f;
  f.rig.run_for(seconds(5));  // t=10: ping, pong due at t=20
  f.rig.run_for(seconds(8));  // t=18: a probe goes out on the flow
  f.rig.exchanges.start(0, f.rig.clock.now(), f.rig.clock.now() + seconds(5));
  ASSERT_EQ(f.conn().sent.size(), 1u);
  f.rig.run_for(seconds(3));  // t=21: past the pong deadline, the probe still open
  EXPECT_FALSE(f.conn().closed);
  f.conn().deliver(reply(f.conn().sent[0], 200), f.rig.clock.now());
  ASSERT_EQ(f.rig.listener.outcomes.size(), 1u);
  EXPECT_TRUE(f.rig.listener.outcomes[0].result.success);
  EXPECT_EQ(f.rig.listener.outcomes[0].result.status_code, 200);
  EXPECT_FALSE(f.conn().closed);
  ASSERT_EQ(f.rig.sink.keepalives.size(), 1u);
  EXPECT_TRUE(f.rig.sink.keepalives[0].first);  // the answer proved the flow alive
}

TEST(ExchangesStream, AProbeThatTimesOutUnderAnOverduePongFailsAsTimeoutThenTheFlowCloses) {
  KeptAliveFlow f;
  f.rig.run_for(seconds(13));  // t=18, ping outstanding since t=10
  f.rig.exchanges.start(0, f.rig.clock.now(), f.rig.clock.now() + seconds(5));
  f.rig.run_for(seconds(5));  // t=23: the pong deadline (t=20) passed under the probe
  EXPECT_FALSE(f.conn().closed);
  f.rig.exchanges.expire(0, f.rig.clock.now());
  ASSERT_EQ(f.rig.listener.outcomes.size(), 1u);
  EXPECT_EQ(f.rig.listener.outcomes[0].result.reason, FailureReason::timeout);
  EXPECT_TRUE(f.conn().closed);
  ASSERT_EQ(f.rig.sink.keepalives.size(), 1u);
  EXPECT_FALSE(f.rig.sink.keepalives[0].first);
}

// An idle address holds no request and no transaction: a finished exchange's record serves
// the next one of any address, every result still shows the request that was sent, and
// each address's CSeq goes on from its own last one.
TEST(ExchangesStream, InFlightRecordsPassFromFinishedExchangesToTheNext) {
  Rig rig;
  const ProbeTarget a = probe_target(Transport::tcp, 5070);
  const ProbeTarget b = probe_target(Transport::tcp, 5071);
  rig.exchanges.open(0, 1, a, loopback(5070, Transport::tcp));
  rig.exchanges.open(1, 1, b, loopback(5071, Transport::tcp));
  const auto exchange = [&](std::uint32_t address, std::size_t connection) {
    rig.exchanges.start(address, rig.clock.now(), rig.clock.now() + seconds(5));
    FakeConnection& c = *rig.connections.made.at(connection);
    if (!c.is_ready) c.become_ready();
    std::string sent = c.sent.back();
    EXPECT_EQ(rig.exchanges.spare_in_flight(), 0u) << "the exchange holds the record";
    c.deliver(reply(sent, 200), rig.clock.now());
    EXPECT_EQ(rig.listener.requests.back(), sent);
    EXPECT_EQ(rig.exchanges.spare_in_flight(), 1u) << "and gives it back when done";
    return sent;
  };
  const std::string first = exchange(0, 0);
  const std::string second = exchange(1, 1);
  const std::string third = exchange(0, 0);
  EXPECT_NE(header(first, "Call-ID"), header(second, "Call-ID"));
  EXPECT_NE(header(first, "Call-ID"), header(third, "Call-ID"));
  EXPECT_EQ(header(first, "CSeq"), "1 OPTIONS");
  EXPECT_EQ(header(second, "CSeq"), "1 OPTIONS") << "address 1's first, in address 0's record";
  EXPECT_EQ(header(third, "CSeq"), "2 OPTIONS") << "address 0's second, in address 1's record";
  EXPECT_EQ(rig.listener.outcomes.size(), 3u);
}

// /probe reports a TLS probe's handshake: each result points at what its connection's
// handshake told, a failed one included, and at nothing for a connection without one.
TEST(ExchangesStream, ResultsCarryTheHandshakeOfTheirConnection) {
  Rig rig;
  const ProbeTarget t = probe_target(Transport::tls, 5061);
  rig.exchanges.open(0, 1, t, loopback(5061, Transport::tls));
  const auto fail_with = [](FakeConnection& c, StreamFailure f, const TlsPeerInfo* tls) {
    auto on_failed = c.handlers.on_failed;  // the handler closes (and clears) the connection
    on_failed(f, "failed", tls);
  };

  rig.exchanges.start(0, rig.clock.now(), rig.clock.now() + seconds(5));
  ASSERT_EQ(rig.connections.made.size(), 1u);
  TlsPeerInfo good;
  good.version = "TLSv1.3";
  good.cipher = "TLS_AES_256_GCM_SHA384";
  good.cert_expiry = 1900000000;
  rig.connections.made[0]->is_ready = true;
  rig.connections.made[0]->handlers.on_ready(&good);
  ASSERT_EQ(rig.connections.made[0]->sent.size(), 1u);
  rig.connections.made[0]->deliver(reply(rig.connections.made[0]->sent[0], 200), rig.clock.now());
  ASSERT_EQ(rig.listener.outcomes.size(), 1u);
  const ProbeResult& answered = rig.listener.outcomes[0].result;
  EXPECT_EQ(answered.status_code, 200);
  ASSERT_NE(answered.tls, nullptr);
  EXPECT_EQ(answered.tls->version, "TLSv1.3");
  EXPECT_EQ(answered.tls->cipher, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(answered.tls->cert_expiry, 1900000000);
  ASSERT_TRUE(answered.destination.has_value());
  EXPECT_EQ(*answered.destination, loopback(5061, Transport::tls));

  // The peer closes; the next probe's handshake fails verification.
  fail_with(*rig.connections.made[0], StreamFailure::reset, nullptr);
  rig.exchanges.start(0, rig.clock.now(), rig.clock.now() + seconds(5));
  ASSERT_EQ(rig.connections.made.size(), 2u);
  TlsPeerInfo expired;
  expired.cert_expiry = 1600000000;
  expired.verify_error = "certificate has expired";
  fail_with(*rig.connections.made[1], StreamFailure::tls, &expired);
  ASSERT_EQ(rig.listener.outcomes.size(), 2u);
  const ProbeResult& refused_tls = rig.listener.outcomes[1].result;
  EXPECT_EQ(refused_tls.reason, FailureReason::tls);
  ASSERT_NE(refused_tls.tls, nullptr);
  EXPECT_EQ(refused_tls.tls->cert_expiry, 1600000000);
  EXPECT_EQ(refused_tls.tls->verify_error, "certificate has expired");

  // A connection that never got to a handshake tells nothing about TLS.
  rig.exchanges.start(0, rig.clock.now(), rig.clock.now() + seconds(5));
  ASSERT_EQ(rig.connections.made.size(), 3u);
  fail_with(*rig.connections.made[2], StreamFailure::connect, nullptr);
  ASSERT_EQ(rig.listener.outcomes.size(), 3u);
  EXPECT_EQ(rig.listener.outcomes[2].result.reason, FailureReason::connect);
  EXPECT_EQ(rig.listener.outcomes[2].result.tls, nullptr);
}

// RFC 7118: the upgrade names the URI's host, a WebSocket flow offers a random .invalid
// host in Via and Contact, new per connection, and answers match as on TCP.
TEST(ExchangesWebSocket, UpgradeHostAndPathAndInvalidViaAndContactPerConnection) {
  using ::testing::ContainsRegex;
  using ::testing::HasSubstr;
  Rig rig;
  ProbeTarget t = probe_target(Transport::ws, 8080);
  auto cfg = std::make_shared<TargetConfig>(*t.cfg);
  cfg->shared.edit().ws_path = "/sip";
  t.cfg = cfg;
  rig.exchanges.open(0, 1, t, loopback(8080, Transport::ws));
  rig.exchanges.start(0, rig.clock.now(), rig.clock.now() + seconds(5));
  ASSERT_EQ(rig.connections.options.size(), 1u);
  EXPECT_EQ(rig.connections.options[0].transport, Transport::ws);
  EXPECT_EQ(rig.connections.options[0].ws_host, "127.0.0.1:8080");
  EXPECT_EQ(rig.connections.options[0].ws_path, "/sip");

  auto request_on = [&](std::size_t i) {
    rig.connections.made[i]->become_ready();
    EXPECT_EQ(rig.connections.made[i]->sent.size(), 1u);
    return rig.connections.made[i]->sent.empty() ? std::string() : rig.connections.made[i]->sent[0];
  };
  const std::string first = request_on(0);
  EXPECT_THAT(header(first, "Via"), ContainsRegex("^SIP/2.0/WS [0-9a-f]{16}\\.invalid;branch="));
  const std::string host = header(first, "Via").substr(11, 24);
  EXPECT_THAT(header(first, "Contact"), HasSubstr("sip:prober@" + host + ";transport=ws"));
  rig.connections.made[0]->deliver(reply(first, 200), rig.clock.now());
  ASSERT_EQ(rig.listener.outcomes.size(), 1u);
  EXPECT_EQ(rig.listener.outcomes[0].result.status_code, 200);

  // The flow closes; the next probe's connection has a host of its own.
  auto on_failed = rig.connections.made[0]->handlers.on_failed;
  on_failed(StreamFailure::reset, "connection closed by peer", nullptr);
  rig.exchanges.start(0, rig.clock.now(), rig.clock.now() + seconds(5));
  ASSERT_EQ(rig.connections.made.size(), 2u);
  const std::string second = request_on(1);
  EXPECT_THAT(header(second, "Via"), ContainsRegex("^SIP/2.0/WS [0-9a-f]{16}\\.invalid;"));
  EXPECT_EQ(header(second, "Via").find(host), std::string::npos);
}

TEST(ExchangesWebSocket, UpgradeHostOmitsTheDefaultPortAndWssUsesTls) {
  Rig rig;
  ProbeTarget t = probe_target(Transport::wss, 443);
  rig.exchanges.open(0, 1, t, loopback(443, Transport::wss));
  rig.exchanges.start(0, rig.clock.now(), rig.clock.now() + seconds(5));
  ASSERT_EQ(rig.connections.options.size(), 1u);
  EXPECT_EQ(rig.connections.options[0].ws_host, "127.0.0.1");
  EXPECT_EQ(rig.connections.options[0].ws_path, "/");
  EXPECT_NE(rig.connections.options[0].tls, nullptr);
  EXPECT_EQ(rig.connections.options[0].tls_name, "127.0.0.1");
}

}  // namespace
}  // namespace stx
