#include "exporter/status_board.h"

#include <gtest/gtest.h>

#include <cmath>

namespace stx {
namespace {

using std::chrono::milliseconds;

std::shared_ptr<const TargetConfig> config_named(const std::string& name) {
  auto t = std::make_shared<TargetConfig>();
  t->name = name;
  t->uri = "sip:192.0.2.1";
  t->labels = {{"carrier", "acme"}};
  return t;
}

ProbeResult answered(int code, milliseconds rtt) {
  ProbeResult r;
  r.status_code = code;
  r.success = code / 100 == 2;
  r.rtt = rtt;
  r.server = "peer";
  r.request = "OPTIONS sip:192.0.2.1 SIP/2.0\r\n\r\n";
  r.response = "SIP/2.0 200 OK\r\n\r\n";
  return r;
}

// The capabilities an OPTIONS answer advertised stay on the target page until a later 2xx
// advertises others; answers without any, or failures, leave them.
TEST(StatusBoard, KeepsTheCapabilitiesOfTheLast2xxThatHadAny) {
  StatusBoard board;
  board.add_target(0, config_named("a"));
  TargetState st;
  ProbeResult ok = answered(200, milliseconds(5));
  ok.allow = "INVITE, ACK, CANCEL, BYE, OPTIONS";
  ok.supported = "replaces, timer";
  ok.accept = "application/sdp";
  board.record(0, ok, st, st.record(true, 1, 1), 100);
  ProbeResult bare = answered(200, milliseconds(5));
  board.record(0, bare, st, st.record(true, 1, 1), 101);
  ProbeResult refused = answered(403, milliseconds(5));
  refused.allow = "OPTIONS";
  board.record(0, refused, st, st.record(false, 1, 1), 102);
  const TargetStatus a = board.snapshot_of("a", 200).targets.at(0);
  EXPECT_EQ(a.allow, "INVITE, ACK, CANCEL, BYE, OPTIONS");
  EXPECT_EQ(a.supported, "replaces, timer");
  EXPECT_EQ(a.accept, "application/sdp");
}

// TLS words, certificate expiry and a Retry-After pause are kept per address, and only
// for the addresses that had them; lifting a pause that was never set shows nothing.
TEST(StatusBoard, AnAddressShowsItsTlsAndItsPauseAndOthersShowNone) {
  StatusBoard board;
  board.add_target(0, config_named("a"));
  board.add_address(0, 7, {boost::asio::ip::make_address("192.0.2.1"), 5061, Transport::tls});
  board.add_address(0, 8, {boost::asio::ip::make_address("192.0.2.2"), 5060, Transport::udp});
  TlsPeerInfo info;
  info.version = "TLSv1.3";
  info.cipher = "TLS_AES_128_GCM_SHA256";
  info.cert_expiry = 1800000000;
  board.tls_peer(0, 7, info);
  board.address_paused(0, 7, 1700000000.5);
  board.address_paused(0, 8, 0);
  auto addresses = [&] { return board.snapshot_of("a", 0).targets.at(0).addresses; };
  std::vector<AddressStatus> a = addresses();
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].tls, "TLSv1.3 TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(a[0].cert_expiry_unix, 1800000000);
  EXPECT_EQ(a[0].paused_until_unix, 1700000000.5);
  EXPECT_EQ(a[1].tls, "");
  EXPECT_EQ(a[1].cert_expiry_unix, 0);
  EXPECT_EQ(a[1].paused_until_unix, 0);
  board.address_paused(0, 7, 0);  // lifted: the TLS details stay
  a = addresses();
  EXPECT_EQ(a[0].paused_until_unix, 0);
  EXPECT_EQ(a[0].tls, "TLSv1.3 TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(a[0].cert_expiry_unix, 1800000000);
}

// The recent RTTs are kept in two bytes each: close enough for a sparkline and its title over
// every RTT a probe can take, and a probe without answer stays marked.
TEST(StatusBoard, PackedRttsKeepTheirValueWithinTwoTenThousandths) {
  for (int i = 0; i < 1617; ++i) {  // 1 us * 1.0137^i, up to an hour
    const double rtt = 1e-6 * std::pow(1.0137, i);
    EXPECT_NEAR(StatusBoard::unpack_rtt(StatusBoard::pack_rtt(rtt)), rtt, rtt * 2e-4) << rtt;
  }
  EXPECT_NE(StatusBoard::pack_rtt(0), 0) << "an answer in no time is still an answer";
  EXPECT_DOUBLE_EQ(StatusBoard::unpack_rtt(StatusBoard::pack_rtt(0)), 1e-6);
  EXPECT_LT(StatusBoard::unpack_rtt(0), 0);
  EXPECT_EQ(StatusBoard::pack_rtt(1e9), 65535) << "beyond the range: the largest, not a wrap";
}

// A request that answered a challenge is stored with its credentials hidden; the others
// as they were sent.
TEST(StatusBoard, StoresARequestWithCredentialsOnlyRedacted) {
  StatusBoard board;
  board.add_target(0, config_named("a"));
  TargetState st;
  const std::string sent =
      "OPTIONS sip:192.0.2.1 SIP/2.0\r\nAuthorization: Digest username=\"u\", "
      "response=\"0123abcd\"\r\n\r\n";
  ProbeResult with = answered(200, milliseconds(5));
  with.request = sent;
  with.request_has_credentials = true;
  board.record(0, with, st, st.record(true, 1, 1), 100);
  const StatusSnapshot a = board.snapshot_of("a", 200);
  EXPECT_EQ(a.targets.at(0).exchanges.at(0).request,
            "OPTIONS sip:192.0.2.1 SIP/2.0\r\nAuthorization: Digest <credentials hidden>\r\n\r\n");
  ProbeResult plain = answered(200, milliseconds(5));
  board.record(0, plain, st, st.record(true, 1, 1), 101);
  const StatusSnapshot b = board.snapshot_of("a", 200);
  EXPECT_EQ(b.targets.at(0).exchanges.at(0).request, "OPTIONS sip:192.0.2.1 SIP/2.0\r\n\r\n");
}

TEST(StatusBoard, RecordsStateRingsAndExchanges) {
  StatusBoard board;
  board.add_target(3, config_named("b"));
  board.add_target(0, config_named("a"));
  TargetState st;
  for (int i = 0; i < 45; ++i) {
    board.record(3, answered(200, milliseconds(i)), st, st.record(true, 1, 1), 100 + i);
  }
  ProbeResult refused;
  refused.reason = FailureReason::refused;
  refused.request = "OPTIONS sip:192.0.2.1 SIP/2.0\r\n\r\n";
  board.record(3, refused, st, st.record(false, 1, 1), 200);

  const StatusSnapshot all = board.snapshot(300);
  ASSERT_EQ(all.targets.size(), 2u);
  EXPECT_EQ(all.targets[0].name, "a");
  EXPECT_EQ(all.targets[0].state, "unknown");
  const TargetStatus& b = all.targets[1];
  EXPECT_EQ(b.state, "down");
  EXPECT_EQ(b.last_code, 0);
  EXPECT_DOUBLE_EQ(b.last_rtt_seconds, 0.044);  // the last answered probe
  EXPECT_EQ(b.server, "peer");
  EXPECT_EQ(b.last_change_unix, 200);
  ASSERT_EQ(b.recent_rtts.size(), StatusBoard::kRecentRtts);
  EXPECT_LT(b.recent_rtts.back(), 0) << "the failed probe is marked";
  EXPECT_NEAR(b.recent_rtts.front(), 0.006, 0.006 * 2e-4);  // oldest kept of 46
  ASSERT_EQ(b.exchanges.size(), 1u) << "the list shows only the newest result";
  EXPECT_EQ(b.exchanges[0].reason, "refused");
  EXPECT_TRUE(b.exchanges[0].response.empty());

  const StatusSnapshot one = board.snapshot_of("b", 300);
  ASSERT_EQ(one.targets.size(), 1u);
  const auto& x = one.targets[0].exchanges;
  ASSERT_EQ(x.size(), StatusBoard::kExchanges);
  EXPECT_EQ(x[0].reason, "refused");  // newest first
  EXPECT_EQ(x[0].request, "OPTIONS sip:192.0.2.1 SIP/2.0\r\n\r\n");
  EXPECT_EQ(x[1].code, 200);
  EXPECT_EQ(x[1].response, "SIP/2.0 200 OK\r\n\r\n");
  EXPECT_TRUE(board.snapshot_of("nobody", 300).targets.empty());
}

TEST(StatusBoard, TextsAreCappedAndRemovedTargetsGo) {
  StatusBoard board;
  board.add_target(0, config_named("a"));
  std::string huge(10000, 'x');
  ProbeResult r = answered(200, milliseconds(1));
  r.response = huge;
  TargetState st;
  board.record(0, r, st, st.record(true, 1, 1), 1);
  EXPECT_EQ(board.snapshot_of("a", 2).targets[0].exchanges[0].response.size(),
            StatusBoard::kMaxText);
  board.remove_target(0);
  EXPECT_TRUE(board.snapshot(3).targets.empty());
  board.record(0, r, st, st.record(true, 1, 1), 4);  // late result for a removed slot: ignored
  EXPECT_TRUE(board.snapshot(5).targets.empty());
}

TEST(StatusBoard, OldTextsGiveWayToNewOnesOfAnyTarget) {
  StatusBoard board(100);  // room for about three short texts
  board.add_target(0, config_named("a"));
  board.add_target(1, config_named("b"));
  TargetState st;
  board.record(0, answered(200, milliseconds(1)), st, st.record(true, 1, 1), 1);
  ProbeResult timeout;
  timeout.reason = FailureReason::timeout;
  timeout.request = "OPTIONS sip:192.0.2.1 SIP/2.0\r\n\r\n";
  board.record(0, timeout, st, st.record(false, 1, 1), 2);
  board.record(1, answered(200, milliseconds(1)), st, st.record(true, 1, 1), 3);
  board.record(1, answered(200, milliseconds(1)), st, st.record(true, 1, 1), 4);
  const auto a = board.snapshot_of("a", 5).targets.at(0).exchanges;
  ASSERT_EQ(a.size(), 1u) << "the older exchange went with its texts";
  EXPECT_EQ(a[0].reason, "timeout") << "the newest exchange itself stays";
  EXPECT_TRUE(a[0].response.empty()) << "a timeout has no response to lose";
  EXPECT_NE(a[0].request.find("no longer kept"), std::string::npos) << a[0].request;
  const auto b = board.snapshot_of("b", 5).targets.at(0).exchanges;
  EXPECT_EQ(b[0].response, "SIP/2.0 200 OK\r\n\r\n");
  EXPECT_EQ(b[0].request, "OPTIONS sip:192.0.2.1 SIP/2.0\r\n\r\n");
}

// A target keeps only its newest exchange; the four before it wait in the text ring, newest
// first, and go as newer texts of any target overwrite them.
TEST(StatusBoard, OlderExchangesWaitInTheRingAndGoWithTheirTexts) {
  StatusBoard board(1000);
  board.add_target(0, config_named("a"));
  board.add_target(1, config_named("b"));
  TargetState st;
  for (int i = 0; i < 7; ++i) {
    ProbeResult r = answered(200 + i, milliseconds(1 + i));
    const std::string response = "SIP/2.0 " + std::to_string(200 + i) + " OK\r\n\r\n";
    r.response = response;
    board.record(0, r, st, st.record(true, 1, 1), 10 + i);
  }
  const auto kept = board.snapshot_of("a", 20).targets.at(0).exchanges;
  ASSERT_EQ(kept.size(), StatusBoard::kExchanges);
  for (std::size_t i = 0; i < kept.size(); ++i) {
    const int code = 206 - static_cast<int>(i);
    EXPECT_EQ(kept[i].code, code);
    EXPECT_EQ(kept[i].unix_time, 16 - static_cast<int>(i));
    EXPECT_NEAR(kept[i].rtt_seconds, 0.001 * (7 - i), 1e-6);
    EXPECT_EQ(kept[i].response, "SIP/2.0 " + std::to_string(code) + " OK\r\n\r\n");
  }
  EXPECT_EQ(kept[0].request, "OPTIONS sip:192.0.2.1 SIP/2.0\r\n\r\n");

  ProbeResult big = answered(200, milliseconds(1));
  const std::string filler(450, 'x');
  big.response = filler;
  board.record(1, big, st, st.record(true, 1, 1), 30);
  board.record(1, big, st, st.record(true, 1, 1), 31);
  const auto left = board.snapshot_of("a", 32).targets.at(0).exchanges;
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].code, 206);
  EXPECT_EQ(left[0].unix_time, 16);
  EXPECT_NE(left[0].response.find("no longer kept"), std::string::npos);
  const auto list = board.snapshot(32).targets.at(0).exchanges;
  ASSERT_EQ(list.size(), 1u) << "the list page shows the newest, texts or not";
  EXPECT_EQ(list[0].code, 206);
}

TEST(TextRing, WrapsAndKnowsWhatIsGone) {
  TextRing ring(10);
  const auto a = ring.put("abcdef");
  const auto b = ring.put("ghij");
  std::string out;
  EXPECT_TRUE(ring.get(a, out));
  EXPECT_EQ(out, "abcdef");
  const auto c = ring.put("klm");  // wraps over "abc"
  EXPECT_FALSE(ring.get(a, out));
  EXPECT_TRUE(ring.get(b, out));
  EXPECT_EQ(out, "ghij");
  EXPECT_TRUE(ring.get(c, out));
  EXPECT_EQ(out, "klm");
  const auto d = ring.put("0123456789xyz");  // longer than the ring: its first 10 bytes
  EXPECT_TRUE(ring.get(d, out));
  EXPECT_EQ(out, "0123456789");
  EXPECT_FALSE(ring.get(c, out));

  const std::uint32_t word = 0xa1b2c3d4;  // a record across the wrap, read back as bytes
  const auto e = ring.put({reinterpret_cast<const char*>(&word), sizeof word});
  std::uint32_t back = 0;
  EXPECT_TRUE(ring.get(e, &back));
  EXPECT_EQ(back, word);
  ring.put("0123456789");
  EXPECT_FALSE(ring.get(e, &back));
}

}  // namespace
}  // namespace stx
