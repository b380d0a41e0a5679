// Test calls (method = "invite") in the exchanges, in virtual time: what follows each answer
// (CANCEL after the first 18x or invite_cancel_after later, ACK of every final, BYE after a
// 2xx, nothing before a provisional), Timer A over UDP, and the verdict. Answers are
// delivered on a TCP connection the test drives; the UDP case uses a silent loopback peer.
#include <gtest/gtest.h>

#include <boost/asio/ip/udp.hpp>

#include "probes/exchanges.h"
#include "probes/probers.h"
#include "tests/unit/probes/probe_fakes.h"

namespace stx {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Outcome {
  ProbeResult result;
  TimePoint at;
};

class Listener final : public ExchangeListener {
 public:
  void exchange_finished(std::uint32_t, ProbeResult& r, TimePoint now) override {
    outcomes.push_back({r, now});
  }
  std::vector<Outcome> outcomes;
};

std::string method_of(const std::string& msg) { return msg.substr(0, msg.find(' ')); }
std::string request_uri_of(const std::string& msg) {
  const auto a = msg.find(' ') + 1;
  return msg.substr(a, msg.find(' ', a) - a);
}
std::string branch_of(const std::string& msg) {
  const std::string via = header(msg, "Via");
  const auto b = via.find(";branch=") + 8;
  return via.substr(b, via.find(';', b) - b);
}

// An answer to `req` (its Via, From, Call-ID, CSeq), with the peer's To tag and `extra`.
std::string answer(const std::string& req, int code, const std::string& extra = "") {
  return "SIP/2.0 " + std::to_string(code) + " X\r\nVia: " + header(req, "Via") +
         "\r\nFrom: " + header(req, "From") + "\r\nTo: " + header(req, "To") +
         (code > 100 ? ";tag=peer" : "") + "\r\nCall-ID: " + header(req, "Call-ID") +
         "\r\nCSeq: " + header(req, "CSeq") + "\r\n" + extra + "Content-Length: 0\r\n\r\n";
}

// An INVITE answered as `code` but with CSeq method `method` (the 487 follows a CANCEL).
std::string answer_as(const std::string& req, int code, const std::string& cseq) {
  std::string a = answer(req, code);
  const auto pos = a.find("CSeq: ") + 6;
  return a.replace(pos, a.find("\r\n", pos) - pos, cseq);
}

ProbeTarget call_target(Transport transport, std::uint16_t port,
                        milliseconds cancel_after = milliseconds(0)) {
  auto cfg = std::make_shared<TargetConfig>(
      test_target("sip:127.0.0.1:" + std::to_string(port), seconds(30), seconds(10)));
  cfg->shared.edit().transport = transport;
  cfg->shared.edit().method = ProbeMethod::invite;
  cfg->shared.edit().invite_cancel_after = cancel_after;
  ProbeTarget t;
  t.cfg = cfg;
  t.prober = &prober_for(ProbeMethod::invite);
  t.own_request_uri =
      std::make_unique<const std::string>("sip:echo@127.0.0.1:" + std::to_string(port));
  return t;
}

struct Call {
  explicit Call(milliseconds cancel_after = milliseconds(0))
      : exchanges(
            {io, clock, timers, sink, connections.factory()}, listener, [] {}, [] {}),
        t(call_target(Transport::tcp, 5060, cancel_after)) {
    exchanges.open(0, 1, t, {boost::asio::ip::make_address("127.0.0.1"), 5060, Transport::tcp});
    t0 = clock.now();
    exchanges.start(0, t0, t0 + seconds(5));
    conn().become_ready();
  }
  FakeConnection& conn() { return *connections.made.at(0); }
  const std::string& invite() { return conn().sent.at(0); }
  std::vector<std::string> methods_sent() {
    std::vector<std::string> m;
    for (const auto& s : conn().sent) m.push_back(method_of(s));
    return m;
  }
  void deliver(const std::string& m) { conn().deliver(m, clock.now()); }
  void run_for(SteadyClock::duration d) {
    VirtualTimers{clock, timers, [this](const TimerEntry& e) { return exchanges.live(e); },
                  [this](const TimerEntry& e, TimePoint now) { exchanges.fire(e, now); }}
        .run_for(d);
  }

  boost::asio::io_context io;
  ManualClock clock;
  TimerQueue timers;
  RecordingSink sink{&clock};
  Listener listener;
  FakeConnections connections;
  Exchanges exchanges;
  ProbeTarget t;
  TimePoint t0;
};

TEST(InviteExchange, TheInviteOffersPcmuOnTheDiscardPortToTheTestNumber) {
  Call c;
  const std::string& inv = c.invite();
  EXPECT_EQ(method_of(inv), "INVITE");
  EXPECT_EQ(request_uri_of(inv), "sip:echo@127.0.0.1:5060");
  EXPECT_EQ(header(inv, "To"), "<sip:echo@127.0.0.1:5060>");
  EXPECT_EQ(header(inv, "Content-Type"), "application/sdp");
  EXPECT_NE(inv.find("\r\nc=IN IP4 127.0.0.1\r\n"), std::string::npos) << inv;
  EXPECT_NE(inv.find("\r\nm=audio 9 RTP/AVP 0\r\n"), std::string::npos) << inv;
  const std::string body = inv.substr(inv.find("\r\n\r\n") + 4);
  EXPECT_EQ(header(inv, "Content-Length"), std::to_string(body.size()));
}

TEST(InviteExchange, RingingIsCancelledAtOnceThenThe487IsAcknowledged) {
  Call c;
  c.clock.advance(milliseconds(20));
  c.deliver(answer(c.invite(), 100));
  EXPECT_EQ(c.methods_sent(), std::vector<std::string>{"INVITE"}) << "no CANCEL on 100";
  c.clock.advance(milliseconds(180));
  c.deliver(answer(c.invite(), 180));
  ASSERT_EQ(c.methods_sent(), (std::vector<std::string>{"INVITE", "CANCEL"}));
  const std::string cancel = c.conn().sent[1];
  // RFC 3261 9.1: the INVITE's Request-URI, Call-ID, From, To (no tag), CSeq number, branch.
  EXPECT_EQ(request_uri_of(cancel), request_uri_of(c.invite()));
  EXPECT_EQ(branch_of(cancel), branch_of(c.invite()));
  EXPECT_EQ(header(cancel, "Call-ID"), header(c.invite(), "Call-ID"));
  EXPECT_EQ(header(cancel, "From"), header(c.invite(), "From"));
  EXPECT_EQ(header(cancel, "To"), header(c.invite(), "To"));
  const std::string cseq = header(c.invite(), "CSeq");
  EXPECT_EQ(header(cancel, "CSeq"), cseq.substr(0, cseq.find(' ')) + " CANCEL");
  EXPECT_TRUE(c.listener.outcomes.empty()) << "the call goes on until its final answer";

  c.clock.advance(milliseconds(10));
  c.deliver(answer(cancel, 200));  // the CANCEL's own answer: ours, not a stray
  c.deliver(answer_as(c.invite(), 487, header(c.invite(), "CSeq")));
  ASSERT_EQ(c.methods_sent(), (std::vector<std::string>{"INVITE", "CANCEL", "ACK"}));
  const std::string ack = c.conn().sent[2];
  EXPECT_EQ(branch_of(ack), branch_of(c.invite()))
      << "a non-2xx ACK is in the INVITE's transaction";
  EXPECT_EQ(header(ack, "To"), header(c.invite(), "To") + ";tag=peer");
  EXPECT_EQ(header(ack, "CSeq"), cseq.substr(0, cseq.find(' ')) + " ACK");
  EXPECT_TRUE(c.sink.unmatched.empty());

  ASSERT_EQ(c.listener.outcomes.size(), 1u);
  const ProbeResult& r = c.listener.outcomes[0].result;
  EXPECT_TRUE(r.success) << "it rang";
  EXPECT_EQ(r.status_code, 487);
  ASSERT_TRUE(r.post_dial_delay.has_value());
  EXPECT_EQ(*r.post_dial_delay, milliseconds(200));
  EXPECT_EQ(r.rtt, milliseconds(20)) << "a call's RTT ends at its first response";
  // The target page shows the whole exchange, then the final response.
  const std::string shown(r.response);
  EXPECT_NE(shown.find("+0.000 s -> INVITE sip:echo@127.0.0.1:5060 SIP/2.0\n"), std::string::npos)
      << shown;
  EXPECT_NE(shown.find("+0.020 s <- 100 X (INVITE)\n"), std::string::npos) << shown;
  EXPECT_NE(shown.find("+0.200 s <- 180 X (INVITE)\n+0.200 s -> CANCEL "), std::string::npos)
      << shown;
  EXPECT_NE(shown.find("<- 200 X (CANCEL)\n"), std::string::npos) << shown;
  EXPECT_NE(shown.find("+0.210 s <- 487 X (INVITE)\n+0.210 s -> ACK "), std::string::npos)
      << shown;
  EXPECT_NE(shown.find("\nSIP/2.0 487 X\r\n"), std::string::npos) << shown;

  // A retransmitted 487 gets the ACK again.
  c.deliver(answer_as(c.invite(), 487, header(c.invite(), "CSeq")));
  EXPECT_EQ(c.methods_sent(), (std::vector<std::string>{"INVITE", "CANCEL", "ACK", "ACK"}));
  EXPECT_TRUE(c.sink.unmatched.empty());
}

TEST(InviteExchange, CancelWaitsInviteCancelAfterPastTheFirstRing) {
  Call c(milliseconds(1500));
  c.deliver(answer(c.invite(), 183));
  c.run_for(milliseconds(1499));
  EXPECT_EQ(c.methods_sent(), std::vector<std::string>{"INVITE"});
  c.deliver(answer(c.invite(), 180));  // a second ring changes nothing
  c.run_for(milliseconds(1));
  EXPECT_EQ(c.methods_sent(), (std::vector<std::string>{"INVITE", "CANCEL"}));
}

TEST(InviteExchange, AnAnsweredCallIsAcknowledgedAtItsContactAndHungUp) {
  Call c;
  c.deliver(answer(c.invite(), 200, "Contact: <sip:uas@127.0.0.1:7070;transport=tcp>\r\n"));
  ASSERT_EQ(c.methods_sent(), (std::vector<std::string>{"INVITE", "ACK", "BYE"}));
  const std::string ack = c.conn().sent[1];
  const std::string bye = c.conn().sent[2];
  EXPECT_EQ(request_uri_of(ack), "sip:uas@127.0.0.1:7070;transport=tcp");
  EXPECT_NE(branch_of(ack), branch_of(c.invite())) << "a 2xx ACK is a transaction of its own";
  EXPECT_EQ(request_uri_of(bye), "sip:uas@127.0.0.1:7070;transport=tcp");
  EXPECT_EQ(header(bye, "To"), header(c.invite(), "To") + ";tag=peer");
  const std::string cseq = header(c.invite(), "CSeq");
  const int n = std::stoi(cseq);
  EXPECT_EQ(header(bye, "CSeq"), std::to_string(n + 1) + " BYE");
  ASSERT_EQ(c.listener.outcomes.size(), 1u);
  EXPECT_TRUE(c.listener.outcomes[0].result.success) << "200 is in healthy_codes";
  EXPECT_FALSE(c.listener.outcomes[0].result.post_dial_delay.has_value());

  // The 2xx again (our ACK was lost): ACKed again, no second BYE; the BYE's 200 is ours.
  c.deliver(answer(c.invite(), 200, "Contact: <sip:uas@127.0.0.1:7070;transport=tcp>\r\n"));
  EXPECT_EQ(c.methods_sent(), (std::vector<std::string>{"INVITE", "ACK", "BYE", "ACK"}));
  c.deliver(answer(bye, 200));
  EXPECT_TRUE(c.sink.unmatched.empty());
}

TEST(InviteExchange, BusyIsAcknowledgedAndJudgedByHealthyCodes) {
  Call c;
  c.deliver(answer(c.invite(), 486));
  EXPECT_EQ(c.methods_sent(), (std::vector<std::string>{"INVITE", "ACK"}));
  ASSERT_EQ(c.listener.outcomes.size(), 1u);
  EXPECT_FALSE(c.listener.outcomes[0].result.success);
  EXPECT_EQ(c.listener.outcomes[0].result.status_code, 486);
  EXPECT_EQ(c.listener.outcomes[0].result.reason, FailureReason::none);
}

TEST(InviteExchange, SilenceTimesOutWithoutACancel) {
  Call c;
  c.clock.advance(seconds(5));
  c.exchanges.expire(0, c.clock.now());
  EXPECT_EQ(c.methods_sent(), std::vector<std::string>{"INVITE"});
  ASSERT_EQ(c.listener.outcomes.size(), 1u);
  EXPECT_EQ(c.listener.outcomes[0].result.reason, FailureReason::timeout);
}

TEST(InviteExchange, ATryingCallThatTimesOutIsCancelledAndARingAfterwardsToo) {
  Call c;
  c.deliver(answer(c.invite(), 100));
  c.clock.advance(seconds(5));
  c.exchanges.expire(0, c.clock.now());
  EXPECT_EQ(c.methods_sent(), (std::vector<std::string>{"INVITE", "CANCEL"}));
  ASSERT_EQ(c.listener.outcomes.size(), 1u);
  EXPECT_EQ(c.listener.outcomes[0].result.reason, FailureReason::timeout);
  // The 487 that follows is ACKed though the probe is over.
  c.deliver(answer_as(c.invite(), 487, header(c.invite(), "CSeq")));
  EXPECT_EQ(c.methods_sent(), (std::vector<std::string>{"INVITE", "CANCEL", "ACK"}));
  EXPECT_TRUE(c.sink.unmatched.empty());
}

TEST(InviteExchange, ARingWithoutAFinalBeforeTheTimeoutIsHealthy) {
  Call c;
  c.deliver(answer(c.invite(), 180));
  c.clock.advance(seconds(5));
  c.exchanges.expire(0, c.clock.now());
  ASSERT_EQ(c.listener.outcomes.size(), 1u);
  EXPECT_TRUE(c.listener.outcomes[0].result.success);
  EXPECT_EQ(c.listener.outcomes[0].result.status_code, 0);
  EXPECT_TRUE(c.listener.outcomes[0].result.post_dial_delay.has_value());
}

TEST(InviteExchange, ALateAnswerAfterTheTimeoutIsHungUp) {
  Call c;
  c.clock.advance(seconds(5));
  c.exchanges.expire(0, c.clock.now());
  c.deliver(answer(c.invite(), 200, "Contact: <sip:uas@127.0.0.1:7070>\r\n"));
  EXPECT_EQ(c.methods_sent(), (std::vector<std::string>{"INVITE", "ACK", "BYE"}));
  EXPECT_EQ(c.listener.outcomes.size(), 1u) << "the outcome was the timeout";
}

TEST(InviteExchange, StragglersAfterTimerBGoUnanswered) {
  Call c;
  c.clock.advance(seconds(5));
  c.exchanges.expire(0, c.clock.now());
  c.clock.advance(seconds(28));  // 33 s after the INVITE: past Timer B (32 s)
  c.deliver(answer(c.invite(), 200, "Contact: <sip:uas@127.0.0.1:7070>\r\n"));
  EXPECT_EQ(c.methods_sent(), std::vector<std::string>{"INVITE"});
  EXPECT_EQ(c.sink.unmatched.size(), 1u);
}

// Timer A over UDP: the INVITE doubles from T1 without the T2 cap of Timer E.
TEST(InviteExchange, TimerADoublesWithoutTheT2Cap) {
  boost::asio::io_context io;
  boost::asio::ip::udp::socket peer(
      io, boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  peer.non_blocking(true);
  ManualClock clock;
  TimerQueue timers;
  RecordingSink sink{&clock};
  Listener listener;
  FakeConnections connections;
  Exchanges x(
      {io, clock, timers, sink, connections.factory()}, listener, [] {}, [] {});
  const std::uint16_t port = peer.local_endpoint().port();
  const ProbeTarget t = call_target(Transport::udp, port);
  x.open(0, 1, t, {boost::asio::ip::make_address("127.0.0.1"), port, Transport::udp});
  const TimePoint t0 = clock.now();
  x.start(0, t0, t0 + seconds(20));
  std::vector<milliseconds> at;
  const auto drain = [&] {
    std::array<char, 65536> buf{};
    boost::asio::ip::udp::endpoint from;
    boost::system::error_code ec;
    while (peer.receive_from(boost::asio::buffer(buf), from, 0, ec) > 0 && !ec) {
      at.push_back(std::chrono::duration_cast<milliseconds>(clock.now() - t0));
    }
  };
  drain();
  VirtualTimers{clock, timers, [&](const TimerEntry& e) { return x.live(e); },
                [&](const TimerEntry& e, TimePoint now) { x.fire(e, now); }, drain}
      .run_for(seconds(16));
  const std::vector<milliseconds> want = {milliseconds(0),    milliseconds(500),
                                          milliseconds(1500), milliseconds(3500),
                                          milliseconds(7500), milliseconds(15500)};
  EXPECT_EQ(at, want) << "Timer E would cap at 4 s: 7.5, 11.5, 15.5";
}

}  // namespace
}  // namespace stx
