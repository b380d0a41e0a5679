// method = "invite": test calls against SIPp UAS scenarios (tests/integration/peers/
// invite_*.xml) and through a real proxy (Kamailio with tm, kamailio_relay.cfg). What
// matters besides the verdict is what the peer saw: the CANCEL only after a provisional,
// the ACK of every final, the BYE of an answered call, so no call is left open. SIPp's own
// message log is the witness.
#include <chrono>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness.h"

namespace stx::it {
namespace {

class InviteTest : public ::testing::Test {
 protected:
  TempDir tmp_;
};

TargetSpec invite_target(const std::string& name, const std::string& uri,
                         std::vector<std::pair<std::string, std::string>> more = {}) {
  TargetSpec t{name, uri, {}, {}};
  t.overrides = {{"method", "\"invite\""}, {"ruri_user", "\"echo\""}};
  for (auto& o : more) t.overrides.push_back(std::move(o));
  return t;
}

ExporterConfigSpec call_spec(TargetSpec target) {
  ExporterConfigSpec spec;
  spec.interval = "1s";
  spec.timeout = "900ms";
  spec.targets = {std::move(target)};
  return spec;
}

double count_of(const Exposition& e, const std::string& name, const Labels& l) {
  return e.value(name, l).value_or(0);
}

// 100, 180, then the CANCEL: 200 to it, 487 to the INVITE, our ACK. Healthy: it rang.
TEST_F(InviteTest, RingingIsCancelledAndThe487Acknowledged) {
  SippPeer sipp(tmp_.path(), "invite_ring_cancel.xml");
  Exporter exporter(tmp_.path(), call_spec(invite_target("call", sipp.uri())));
  const Labels t{{"target", "call"}};
  auto s = exporter.scrape_until(15s, [&](const Exposition& e) {
    return e.value("sip_target_up", t) == 1.0 &&
           count_of(e, "sip_probe_responses_total", {{"target", "call"}, {"code", "487"}}) >= 3;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"call\"");
  const Exposition& e = s.last;
  EXPECT_EQ(e.value("sip_target_last_status_code", t), 487.0);
  EXPECT_EQ(e.sum("sip_probe_failures_total", t), 0.0) << e.grep("failures");
  EXPECT_EQ(e.value("sip_probes_total", {{"target", "call"}, {"result", "failure"}}), 0.0);
  const double calls = count_of(e, "sip_invite_post_dial_delay_seconds_count", t);
  EXPECT_GE(calls, 3.0) << e.grep("post_dial");
  const double pdd = count_of(e, "sip_invite_post_dial_delay_seconds_sum", t) / calls;
  EXPECT_GT(pdd, 0.0);
  EXPECT_LT(pdd, 0.5) << "SIPp rings at once on loopback";
  EXPECT_EQ(
      e.value("sip_invite_post_dial_delay_seconds_bucket", {{"target", "call"}, {"le", "+Inf"}}),
      calls);
  // The CANCEL's 200 and the 487 are ours, not strays.
  EXPECT_EQ(e.value("sip_exporter_unmatched_responses_total"), 0.0);
  // Every call SIPp saw was cancelled and its 487 acknowledged (the last may be in flight).
  const int invites = sipp.requests_received("INVITE");
  const int cancels = sipp.requests_received("CANCEL");
  const int acks = sipp.requests_received("ACK");
  EXPECT_GE(invites, 3);
  EXPECT_GE(cancels, invites - 1);
  EXPECT_GE(acks, invites - 1);
  EXPECT_EQ(sipp.requests_received("BYE"), 0);
}

// 183 with SDP (early media) counts as ringing: cancelled and healthy.
TEST_F(InviteTest, SessionProgressWithSdpIsCancelledToo) {
  SippPeer sipp(tmp_.path(), "invite_183_sdp.xml");
  Exporter exporter(tmp_.path(), call_spec(invite_target("early", sipp.uri())));
  const Labels t{{"target", "early"}};
  auto s = exporter.scrape_until(15s, [&](const Exposition& e) {
    return e.value("sip_target_up", t) == 1.0 &&
           count_of(e, "sip_invite_post_dial_delay_seconds_count", t) >= 2;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"early\"");
  EXPECT_GE(sipp.requests_received("CANCEL"), 1);
  EXPECT_GE(sipp.requests_received("ACK"), 1);
  EXPECT_EQ(s.last.value("sip_exporter_unmatched_responses_total"), 0.0);
}

// 486 at once: not healthy (not in healthy_codes), no CANCEL (nothing rings), the 486 ACKed.
TEST_F(InviteTest, BusyIsUnhealthyAndAcknowledgedWithoutCancel) {
  SippPeer sipp(tmp_.path(), "invite_486.xml");
  Exporter exporter(tmp_.path(), call_spec(invite_target("busy", sipp.uri())));
  const Labels t{{"target", "busy"}};
  auto s = exporter.scrape_until(15s, [&](const Exposition& e) {
    return e.value("sip_target_up", t) == 0.0 &&
           count_of(e, "sip_probe_responses_total", {{"target", "busy"}, {"code", "486"}}) >= 3;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"busy\"");
  EXPECT_EQ(s.last.value("sip_target_last_status_code", t), 486.0);
  EXPECT_EQ(s.last.sum("sip_probe_failures_total", t), 0.0) << "a final code, not a failure";
  EXPECT_EQ(count_of(s.last, "sip_invite_post_dial_delay_seconds_count", t), 0.0);
  EXPECT_EQ(sipp.requests_received("CANCEL"), 0);
  EXPECT_GE(sipp.requests_received("ACK"), sipp.requests_received("INVITE") - 1);
}

// An answered call: ACK and BYE at once; 200 is in healthy_codes.
TEST_F(InviteTest, AnsweredCallIsAcknowledgedAndHungUp) {
  SippPeer sipp(tmp_.path(), "invite_200.xml");
  Exporter exporter(tmp_.path(), call_spec(invite_target("answered", sipp.uri())));
  const Labels t{{"target", "answered"}};
  auto s = exporter.scrape_until(15s, [&](const Exposition& e) {
    return e.value("sip_target_up", t) == 1.0 &&
           count_of(e, "sip_probe_responses_total", {{"target", "answered"}, {"code", "200"}}) >= 3;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"answered\"");
  const int invites = sipp.requests_received("INVITE");
  EXPECT_GE(sipp.requests_received("ACK"), invites - 1);
  EXPECT_GE(sipp.requests_received("BYE"), invites - 1);
  EXPECT_EQ(sipp.requests_received("CANCEL"), 0);
  // The BYE's 200 is ours too.
  EXPECT_EQ(s.last.value("sip_exporter_unmatched_responses_total"), 0.0);
}

// /probe answers as soon as the call is answered; the BYE after it is still the
// exporter's, so the BYE's 200 is matched rather than counted as a stray.
TEST_F(InviteTest, ProbeEndpointCallIsHungUpAfterItsAnswerIsServed) {
  SippPeer sipp(tmp_.path(), "invite_200.xml");
  ExporterConfigSpec spec;  // no background targets: every call is a /probe one
  spec.extra_toml =
      "\n[module.call]\nmethod = \"invite\"\nruri_user = \"echo\"\ntimeout = \"900ms\"\n";
  Exporter exporter(tmp_.path(), spec);
  constexpr int kCalls = 3;
  for (int i = 0; i < kCalls; ++i) {
    const HttpResponse r = exporter.get("/probe?module=call&target=" + sipp.uri());
    ASSERT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(Exposition::parse(r.body).value("sip_probe_success"), 1.0) << r.body;
  }
  auto s = exporter.scrape_until(
      10s, [&](const Exposition&) { return sipp.requests_received("BYE") >= kCalls; });
  ASSERT_TRUE(s.ok) << "BYEs seen: " << sipp.requests_received("BYE");
  std::this_thread::sleep_for(300ms);  // the last BYE's 200 crosses loopback
  EXPECT_EQ(exporter.scrape().value("sip_exporter_unmatched_responses_total"), 0.0);
}

// Silence: the INVITE is retransmitted (Timer A) until the timeout; no CANCEL, since no
// provisional ever came (RFC 3261 9.1).
TEST_F(InviteTest, SilenceTimesOutWithoutAStrayCancel) {
  SippPeer sipp(tmp_.path(), "invite_silent.xml");
  Exporter exporter(tmp_.path(), call_spec(invite_target("silent", sipp.uri())));
  const Labels t{{"target", "silent"}};
  auto s = exporter.scrape_until(15s, [&](const Exposition& e) {
    return count_of(e, "sip_probe_failures_total", {{"target", "silent"}, {"reason", "timeout"}}) >=
           2;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"silent\"");
  EXPECT_EQ(sipp.requests_received("CANCEL"), 0);
  EXPECT_GE(sipp.requests_received("INVITE"), 4) << "Timer A retransmits at 500 ms";
}

// Through a real proxy: Kamailio (tm) relays the INVITE and the CANCEL to SIPp and sends 100
// Trying itself; the call still rings, is cancelled and its 487 ACKed.
TEST_F(InviteTest, ACallThroughKamailioIsCancelledEndToEnd) {
  SippPeer sipp(tmp_.path(), "invite_ring_cancel_proxied.xml");
  KamailioPeer proxy(tmp_.path(), "kamailio_relay.cfg", 0, "relay",
                     {{"@NEXT_HOP@", "127.0.0.1:" + std::to_string(sipp.port())}});
  Exporter exporter(tmp_.path(), call_spec(invite_target("via-proxy", proxy.uri())));
  const Labels t{{"target", "via-proxy"}};
  auto s = exporter.scrape_until(20s, [&](const Exposition& e) {
    return e.value("sip_target_up", t) == 1.0 &&
           count_of(e, "sip_probe_responses_total", {{"target", "via-proxy"}, {"code", "487"}}) >=
               2;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"via-proxy\"");
  EXPECT_GE(count_of(s.last, "sip_invite_post_dial_delay_seconds_count", t), 2.0);
  EXPECT_GE(sipp.requests_received("CANCEL"), 1) << "the proxy relayed our CANCEL";
  EXPECT_EQ(s.last.value("sip_exporter_unmatched_responses_total"), 0.0);
}

// An answered call through the proxy: the ACK and BYE reach SIPp across Kamailio.
TEST_F(InviteTest, AnAnsweredCallThroughKamailioIsHungUp) {
  SippPeer sipp(tmp_.path(), "invite_200.xml");
  KamailioPeer proxy(tmp_.path(), "kamailio_relay.cfg", 0, "relay",
                     {{"@NEXT_HOP@", "127.0.0.1:" + std::to_string(sipp.port())}});
  Exporter exporter(tmp_.path(), call_spec(invite_target("via-proxy", proxy.uri())));
  const Labels t{{"target", "via-proxy"}};
  auto s = exporter.scrape_until(20s, [&](const Exposition& e) {
    return count_of(e, "sip_probe_responses_total", {{"target", "via-proxy"}, {"code", "200"}}) >=
           2;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"via-proxy\"");
  EXPECT_GE(sipp.requests_received("BYE"), 1);
  EXPECT_GE(sipp.requests_received("ACK"), 1);
}

}  // namespace
}  // namespace stx::it
