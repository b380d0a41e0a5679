#include "sip/sip_response.h"

#include "sip/sip_grammar.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace stx {
namespace {

using E = SipParseError;

std::string read_message(std::string_view name) {
  const std::string path = std::string(STX_SEEDS_DIR) + "/sip_responses/" + std::string(name);
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << "cannot open " << path;
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

const std::vector<std::string_view>& all_message_files() {
  static const std::vector<std::string_view> files = {
      "opensips_lync_options_200_tcp.sip",
      "lync_mediation_acme_options_200.sip",
      "kamailio_options_200_two_vias.sip",
      "asterisk_503_retry_after.sip",
      "trying_100.sip",
      "freeswitch_404.sip",
      "compact_folded_200.sip",
      "lf_only_200.sip",
      "sdp_body_200.sip",
  };
  return files;
}

// A minimal valid response; tests splice headers into it.
constexpr std::string_view kStart = "SIP/2.0 200 OK\r\n";
constexpr std::string_view kVia = "Via: SIP/2.0/UDP 192.0.2.1:40000;branch=z9hG4bKabc123;rport\r\n";
constexpr std::string_view kFrom = "From: <sip:probe@example.com>;tag=f1\r\n";
constexpr std::string_view kTo = "To: <sip:203.0.113.7>;tag=t1\r\n";
constexpr std::string_view kCallId = "Call-ID: cid-1@192.0.2.1\r\n";
constexpr std::string_view kCSeq = "CSeq: 1 OPTIONS\r\n";
constexpr std::string_view kLength = "Content-Length: 0\r\n";

std::string minimal(std::string_view extra_headers = "") {
  std::string m;
  m += kStart;
  m += kVia;
  m += kFrom;
  m += kTo;
  m += kCallId;
  m += kCSeq;
  m += extra_headers;
  m += "\r\n";
  return m;
}

// The minimal response with one standard header replaced (or removed when empty).
std::string replacing(std::string_view which, std::string_view replacement) {
  std::string m(kStart);
  for (std::string_view h : {kVia, kFrom, kTo, kCallId, kCSeq, kLength}) {
    m += (h == which) ? replacement : h;
  }
  m += "\r\n";
  return m;
}

E parse(std::string_view in) {
  SipResponse r;
  return parse_sip_response(in, r);
}

bool within(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void expect_views_inside(const SipResponse& r, std::string_view in) {
  EXPECT_TRUE(within(r.reason, in));
  EXPECT_TRUE(within(r.via_transport, in));
  EXPECT_TRUE(within(r.via_branch, in));
  EXPECT_TRUE(within(r.call_id, in));
  EXPECT_TRUE(within(r.cseq_method, in));
  EXPECT_TRUE(within(r.to_tag, in));
  EXPECT_TRUE(within(r.server, in));
  for (std::size_t i = 0; i < r.challenge_count; ++i) EXPECT_TRUE(within(r.challenges[i], in));
  EXPECT_LE(r.message_length, in.size());
  EXPECT_LE(r.content_length, r.message_length);
}

// ---------------------------------------------------------------------------
// Real-world messages.

TEST(SipResponseReal, OpenSipsAnsweringLyncOverTcp) {
  const std::string m = read_message("opensips_lync_options_200_tcp.sip");
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.status_code, 200);
  EXPECT_EQ(r.reason, "OK");
  EXPECT_EQ(r.via_transport, "TCP");
  EXPECT_EQ(r.via_branch, "z9hG4bKda4bc549");
  EXPECT_EQ(r.call_id, "d4e0df91996b43d087e11706fb7c3dae");
  EXPECT_EQ(r.cseq_number, 4351U);
  EXPECT_EQ(r.cseq_method, "OPTIONS");
  // The ';' inside the From URI (transport, ms-opaque) must not confuse anything,
  // and the To tag is the header parameter, not a URI parameter.
  EXPECT_EQ(r.to_tag, "SD50i1399-5c2eff7ee20883dc6fcfd8e6637f3308.42c7");
  EXPECT_EQ(r.server, "OpenSIPS (1.4.3-notls (i686/linux))");
  EXPECT_FALSE(r.retry_after.has_value());
  EXPECT_EQ(r.content_length, 0U);
  EXPECT_EQ(r.message_length, m.size());
}

TEST(SipResponseReal, LyncMediationServerAnsweringAcmeWithoutContentLength) {
  const std::string m = read_message("lync_mediation_acme_options_200.sip");
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.status_code, 200);
  EXPECT_EQ(r.via_transport, "TCP");
  EXPECT_EQ(r.via_branch, "z9hG4bK1dftos00203hllce83c1");
  EXPECT_EQ(r.call_id, "fb018378727650901dffb4be0eba91720000090@198.51.100.5");
  EXPECT_EQ(r.cseq_number, 18U);
  EXPECT_EQ(r.cseq_method, "OPTIONS");
  EXPECT_EQ(r.to_tag, "b891de15b");
  EXPECT_EQ(r.server, "RTCC/4.0.0.0 MediationServer");
  EXPECT_EQ(r.content_length, 0U);  // no Content-Length: the body runs to the end
  EXPECT_EQ(r.message_length, m.size());
}

TEST(SipResponseReal, LyncWithoutContentLengthTakesTrailingBytesAsBody) {
  const std::string m = read_message("lync_mediation_acme_options_200.sip") + "xyz";
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.content_length, 3U);
  EXPECT_EQ(r.message_length, m.size());
}

TEST(SipResponseReal, KamailioWithTwoVias) {
  const std::string m = read_message("kamailio_options_200_two_vias.sip");
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.status_code, 200);
  EXPECT_EQ(r.via_transport, "UDP");
  EXPECT_EQ(r.via_branch, "z9hG4bK-sipx-5f1c2a9e7b3d4c6a");  // the top Via, not the second
  EXPECT_EQ(r.call_id, "7c3f9a2b1e4d5c6a@192.0.2.1");
  EXPECT_EQ(r.cseq_number, 1U);
  EXPECT_EQ(r.to_tag, "a6a1c5f60faecf035a1ae5b6e96e979a-7c2d");
  EXPECT_EQ(r.server, "kamailio (5.6.3 (x86_64/linux))");
  EXPECT_EQ(r.content_length, 0U);
  EXPECT_EQ(r.message_length, m.size());
}

TEST(SipResponseReal, ServiceUnavailableWithRetryAfterComment) {
  const std::string m = read_message("asterisk_503_retry_after.sip");
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.status_code, 503);
  EXPECT_EQ(r.reason, "Service Unavailable");
  EXPECT_EQ(r.via_branch, "z9hG4bKf3a9c1d2");
  EXPECT_EQ(r.cseq_number, 42U);
  EXPECT_EQ(r.server, "Asterisk PBX 18.20.0");
  ASSERT_TRUE(r.retry_after.has_value());
  EXPECT_EQ(*r.retry_after, 120U);
}

TEST(SipResponseReal, TryingWithoutToTag) {
  const std::string m = read_message("trying_100.sip");
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.status_code, 100);
  EXPECT_EQ(r.reason, "Trying");
  EXPECT_EQ(r.to_tag, "");
  EXPECT_EQ(r.server, "");
  EXPECT_EQ(r.via_branch, "z9hG4bK7e2d9a41");
}

TEST(SipResponseReal, NotFoundWithUserAgentOnly) {
  const std::string m = read_message("freeswitch_404.sip");
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.status_code, 404);
  EXPECT_EQ(r.reason, "Not Found");
  EXPECT_EQ(r.to_tag, "8Xy2FpQ3cv1Sa");
  EXPECT_EQ(r.server, "FreeSWITCH-mod_sofia/1.10.9-release~64bit");
  EXPECT_EQ(r.cseq_number, 7U);
}

TEST(SipResponseReal, CompactHeadersAndFoldedServer) {
  const std::string m = read_message("compact_folded_200.sip");
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.via_transport, "UDP");
  EXPECT_EQ(r.via_branch, "z9hG4bKc0mpact1");
  EXPECT_EQ(r.call_id, "c0mpact-call-id@192.0.2.1");
  EXPECT_EQ(r.to_tag, "99bb");  // the quoted display name holds a ';'
  EXPECT_EQ(r.cseq_number, 5U);
  // The folded value spans both lines, fold included.
  EXPECT_EQ(r.server, "ExampleGateway/2.1\r\n\t(build 4711)");
  EXPECT_EQ(r.content_length, 0U);
  EXPECT_EQ(r.message_length, m.size());
}

TEST(SipResponseReal, BareLineFeeds) {
  const std::string m = read_message("lf_only_200.sip");
  ASSERT_EQ(m.find('\r'), std::string::npos);
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.reason, "OK");
  EXPECT_EQ(r.via_branch, "z9hG4bKlf0nly");
  EXPECT_EQ(r.call_id, "lf-only-1@192.0.2.1");
  EXPECT_EQ(r.to_tag, "2201AB");
  EXPECT_EQ(r.server, "Cisco-SIPGateway/IOS-15.6.1.T");
  EXPECT_EQ(r.message_length, m.size());
}

TEST(SipResponseReal, SdpBodyWithContentLength) {
  const std::string m = read_message("sdp_body_200.sip");
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  const std::size_t body_at = m.find("\r\n\r\n") + 4;
  EXPECT_EQ(r.content_length, m.size() - body_at);
  EXPECT_GT(r.content_length, 100U);
  EXPECT_EQ(r.message_length, m.size());
  EXPECT_EQ(r.to_tag, "1c1234567890");
}

TEST(SipResponseReal, SdpBodyFollowedByJunkIsIgnored) {
  const std::string full = read_message("sdp_body_200.sip");
  const std::string m = full + "\r\ngarbage after the body";
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.message_length, full.size());
}

TEST(SipResponseReal, AcmeOptionsRequestIsNotAResponse) {
  EXPECT_EQ(parse(read_message("acme_options_request.sip")), E::not_a_response);
}

TEST(SipResponseReal, AllViewsPointIntoTheInput) {
  for (std::string_view name : all_message_files()) {
    SCOPED_TRACE(name);
    const std::string m = read_message(name);
    SipResponse r;
    ASSERT_EQ(parse_sip_response(m, r), E::ok);
    expect_views_inside(r, m);
  }
}

// Every prefix of every real message: no crash, and never ok with data that
// differs from the full parse.
TEST(SipResponseReal, EveryTruncationIsSafe) {
  std::vector<std::string> messages;
  for (std::string_view name : all_message_files()) messages.push_back(read_message(name));
  // Without Content-Length a cut inside the body is a shorter, still valid, message.
  messages.push_back(read_message("lync_mediation_acme_options_200.sip") + "some body bytes");
  for (const std::string& m : messages) {
    SCOPED_TRACE(m.substr(0, 40));
    SipResponse full;
    ASSERT_EQ(parse_sip_response(m, full), E::ok);
    for (std::size_t len = 0; len < m.size(); ++len) {
      // A fresh heap copy, so reading past the prefix is caught by sanitizers.
      const std::string prefix = m.substr(0, len);
      SipResponse r;
      const E e = parse_sip_response(prefix, r);
      if (e != E::ok) continue;
      SCOPED_TRACE(len);
      expect_views_inside(r, prefix);
      EXPECT_EQ(r.status_code, full.status_code);
      EXPECT_EQ(r.reason, full.reason);
      EXPECT_EQ(r.via_transport, full.via_transport);
      EXPECT_EQ(r.via_branch, full.via_branch);
      EXPECT_EQ(r.call_id, full.call_id);
      EXPECT_EQ(r.cseq_number, full.cseq_number);
      EXPECT_EQ(r.cseq_method, full.cseq_method);
      EXPECT_EQ(r.to_tag, full.to_tag);
      EXPECT_EQ(r.server, full.server);
      EXPECT_EQ(r.retry_after, full.retry_after);
      // Only a message without Content-Length can be cut inside its body.
      EXPECT_LT(r.content_length, full.content_length);
      EXPECT_EQ(r.message_length, len);
    }
  }
}

TEST(SipResponseReal, TruncatedInsideHeadersIsIncomplete) {
  const std::string m = read_message("kamailio_options_200_two_vias.sip");
  EXPECT_EQ(parse(std::string_view(m).substr(0, m.size() - 2)), E::incomplete);
  EXPECT_EQ(parse(std::string_view(m).substr(0, m.find("CSeq"))), E::incomplete);
  EXPECT_EQ(parse(std::string_view(m).substr(0, 5)), E::incomplete);
  EXPECT_EQ(parse(""), E::incomplete);
}

// ---------------------------------------------------------------------------
// Hostile input.

TEST(SipResponseHostile, RandomBytesNeverCrash) {
  std::mt19937 rng(20240611);
  for (int round = 0; round < 20000; ++round) {
    const std::size_t len = rng() % 600;
    std::string buf(len, '\0');
    for (char& c : buf) c = static_cast<char>(rng() & 0xff);
    if (round % 2 == 0 && len >= 8) buf.replace(0, 8, "SIP/2.0 ");  // get past the start
    SipResponse r;
    if (parse_sip_response(buf, r) == E::ok) expect_views_inside(r, buf);
  }
}

TEST(SipResponseHostile, MutatedRealMessagesNeverCrash) {
  std::mt19937 rng(7);
  static constexpr char kInteresting[] = {'\r', '\n', ' ',  '\t', ':', ';',  ',', '<', '>', '"',
                                          '=',  '/',  '\\', '0',  '9', '\0', '@', '[', ']'};
  for (std::string_view name : all_message_files()) {
    const std::string m = read_message(name);
    for (int round = 0; round < 3000; ++round) {
      std::string buf = m;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < edits && !buf.empty(); ++k) {
        const std::size_t at = rng() % buf.size();
        switch (rng() % 4) {
          case 0:
            buf[at] = static_cast<char>(rng() & 0xff);
            break;
          case 1:
            buf[at] = kInteresting[rng() % sizeof(kInteresting)];
            break;
          case 2:
            buf.erase(at, 1 + rng() % 8);
            break;
          default:
            buf.insert(at, 1, kInteresting[rng() % sizeof(kInteresting)]);
            break;
        }
      }
      SipResponse r;
      if (parse_sip_response(buf, r) == E::ok) expect_views_inside(r, buf);
    }
  }
}

TEST(SipResponseHostile, OversizedInputIsTooLarge) {
  std::string m = minimal();
  m.resize(kMaxSipMessageSize + 1, 'x');  // 64 KiB: 65536 bytes
  EXPECT_EQ(m.size(), 65536U);
  EXPECT_EQ(parse(m), E::too_large);
}

TEST(SipResponseHostile, LargestAcceptedInput) {
  std::string m = minimal();  // no Content-Length: the padding is the body
  m.resize(kMaxSipMessageSize, 'x');
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.message_length, kMaxSipMessageSize);
}

TEST(SipResponseHostile, TooManyHeaders) {
  std::string extra;
  for (int i = 0; i < 200; ++i) extra += "X-Filler: " + std::to_string(i) + "\r\n";
  EXPECT_EQ(parse(minimal(extra)), E::too_large);
}

TEST(SipResponseHostile, HeaderCountLimitIsExact) {
  const std::size_t standard = 5;  // Via, From, To, Call-ID, CSeq in minimal()
  std::string extra;
  for (std::size_t i = standard; i < kMaxSipHeaders; ++i) extra += "X-Filler: a\r\n";
  EXPECT_EQ(parse(minimal(extra)), E::ok);
  extra += "X-Filler: one too many\r\n";
  EXPECT_EQ(parse(minimal(extra)), E::too_large);
}

TEST(SipResponseHostile, NulInsideHeader) {
  std::string m = minimal("Server: evil");
  m.insert(m.size() - 2, std::string_view("\0box\r\n", 6));
  EXPECT_EQ(parse(m), E::bad_header);
  EXPECT_EQ(parse(minimal(std::string_view("X-A\0: b\r\n", 9))), E::bad_header);
  EXPECT_EQ(parse(replacing(kCallId, std::string_view("Call-ID: ab\0c\r\n", 15))), E::bad_header);
}

TEST(SipResponseHostile, ControlCharactersInHeaders) {
  EXPECT_EQ(parse(minimal("X-A: b\x01\r\n")), E::bad_header);
  EXPECT_EQ(parse(minimal("X-A: b\x7f\r\n")), E::bad_header);
  EXPECT_EQ(parse(minimal("X-A: b\rc\r\n")), E::bad_header);  // bare CR inside a line
  EXPECT_EQ(parse(minimal("X-A: b\tc\r\n")), E::ok);          // HTAB is fine
  EXPECT_EQ(parse(minimal("X-A: caf\xc3\xa9\r\n")), E::ok);   // UTF-8 is fine
}

// ---------------------------------------------------------------------------
// One test (at least) per error.

TEST(SipResponseErrors, NotAResponse) {
  EXPECT_EQ(parse("OPTIONS sip:203.0.113.7 SIP/2.0\r\n" + minimal().substr(kStart.size())),
            E::not_a_response);
  EXPECT_EQ(parse("INVITE sip:bob@example.com SIP/2.0\r\n\r\n"), E::not_a_response);
  EXPECT_EQ(parse("HTTP/1.1 200 OK\r\n\r\n"), E::not_a_response);
  EXPECT_EQ(parse("SIP/2.1 200 OK\r\n\r\n"), E::not_a_response);
  EXPECT_EQ(parse("SIP/2.0\t200 OK\r\n\r\n"), E::not_a_response);
  EXPECT_EQ(parse(" SIP/2.0 200 OK\r\n\r\n"), E::not_a_response);
  EXPECT_EQ(parse("\r"), E::not_a_response);
  EXPECT_EQ(parse(std::string_view("\0\0\0\0\0\0\0\0\0", 9)), E::not_a_response);
}

TEST(SipResponseErrors, BadStatusLine) {
  const std::string rest = minimal().substr(kStart.size());
  for (std::string_view start :
       {"SIP/2.0 2000 OK\r\n", "SIP/2.0 20 OK\r\n", "SIP/2.0 099 Low\r\n", "SIP/2.0 700 High\r\n",
        "SIP/2.0 abc OK\r\n", "SIP/2.0  200 OK\r\n", "SIP/2.0 200\tOK\r\n", "SIP/2.0 \r\n",
        "SIP/2.0 200 O\x01K\r\n", "SIP/2.0 200 OK\r\r\n"}) {
    SCOPED_TRACE(start);
    EXPECT_EQ(parse(std::string(start) + rest), E::bad_status_line);
  }
}

TEST(SipResponseErrors, BadHeader) {
  EXPECT_EQ(parse(minimal("NoColonHere\r\n")), E::bad_header);
  EXPECT_EQ(parse(minimal(": empty-name\r\n")), E::bad_header);
  EXPECT_EQ(parse(minimal("Bad Name: x\r\n")), E::bad_header);
  EXPECT_EQ(parse(minimal("Bad(Name): x\r\n")), E::bad_header);
  EXPECT_EQ(parse(std::string(kStart) + " x\r\n" + minimal().substr(kStart.size())), E::bad_header);
}

TEST(SipResponseErrors, RepeatedSingletonHeaders) {
  EXPECT_EQ(parse(minimal(kCallId)), E::bad_header);
  EXPECT_EQ(parse(minimal("i: other@192.0.2.1\r\n")), E::bad_header);  // compact duplicate
  EXPECT_EQ(parse(minimal(kCSeq)), E::bad_header);
  EXPECT_EQ(parse(minimal(kFrom)), E::bad_header);
  EXPECT_EQ(parse(minimal("t: <sip:x@example.com>\r\n")), E::bad_header);
  EXPECT_EQ(parse(minimal("Content-Length: 0\r\nl: 0\r\n")), E::bad_header);
}

TEST(SipResponseErrors, BadCallId) {
  EXPECT_EQ(parse(replacing(kCallId, "Call-ID: \r\n")), E::bad_header);
  EXPECT_EQ(parse(replacing(kCallId, "Call-ID: two words\r\n")), E::bad_header);
  EXPECT_EQ(parse(replacing(kCallId, "Call-ID: abc\r\n def\r\n")), E::bad_header);
}

TEST(SipResponseErrors, BadTo) {
  EXPECT_EQ(parse(replacing(kTo, "To: <sip:x@example.com;tag=t\r\n")), E::bad_header);
  EXPECT_EQ(parse(replacing(kTo, "To: <sip:x@example.com>;tag=\r\n")), E::bad_header);
  EXPECT_EQ(parse(replacing(kTo, "To: <sip:x@example.com>;tag\r\n")), E::bad_header);
  EXPECT_EQ(parse(replacing(kTo, "To: <sip:x@example.com>;tag=a b\r\n")), E::bad_header);
  EXPECT_EQ(parse(replacing(kTo, "To: <sip:x@example.com> junk\r\n")), E::bad_header);
  EXPECT_EQ(parse(replacing(kTo, "To: \"unterminated <sip:x@example.com>\r\n")), E::bad_header);
  EXPECT_EQ(parse(replacing(kTo, "To: <>\r\n")), E::bad_header);
  EXPECT_EQ(parse(replacing(kTo, "To: \r\n")), E::bad_header);
  EXPECT_EQ(parse(replacing(kFrom, "From: \r\n")), E::bad_header);
}

TEST(SipResponseErrors, MissingHeader) {
  for (std::string_view h : {kVia, kFrom, kTo, kCallId, kCSeq}) {
    SCOPED_TRACE(h);
    EXPECT_EQ(parse(replacing(h, "")), E::missing_header);
  }
  EXPECT_EQ(parse(replacing(kLength, "")), E::ok);  // Content-Length is optional
}

TEST(SipResponseErrors, BadVia) {
  for (std::string_view via : {
           "Via: \r\n",
           "Via: SIP/2.0 192.0.2.1\r\n",
           "Via: SIP/3.0/UDP 192.0.2.1\r\n",
           "Via: XMPP/2.0/UDP 192.0.2.1\r\n",
           "Via: SIP/2.0/UDP\r\n",
           "Via: SIP/2.0/UDP;branch=z9hG4bK1\r\n",
           "Via: SIP/2.0/ 192.0.2.1\r\n",
           "Via: SIP/2.0/UDP 192.0.2.1;branch=\r\n",
           "Via: SIP/2.0/UDP 192.0.2.1;branch\r\n",
           "Via: SIP/2.0/UDP 192.0.2.1;branch=a:b\r\n",
           "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1:\r\n",
           "Via: SIP/2.0/UDP 192.0.2.1;branch=[z9hG4bK1]\r\n",
           "Via: SIP/2.0/UDP 192.0.2.1;branch=\"z9hG4bK1\"\r\n",
           "Via: SIP/2.0/UDP 192.0.2.1:99999;branch=z9hG4bK1\r\n",
           "Via: SIP/2.0/UDP 192.0.2.1:;branch=z9hG4bK1\r\n",
           "Via: SIP/2.0/UDP [2001:db8::1;branch=z9hG4bK1\r\n",
           "Via: SIP/2.0/UDP 192.0.2.1 junk\r\n",
           "Via: SIP/2.0/UDP 192.0.2.1;=x\r\n",
           "Via: SIP/2.0/UDP 192.0.2.1;received=\"unterminated\r\n",
           "Via: , SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n",
       }) {
    SCOPED_TRACE(via);
    EXPECT_EQ(parse(replacing(kVia, via)), E::bad_via);
  }
}

// A branch and a To tag are tokens: every token character is theirs, and what a parameter
// value may hold besides (':' '[' ']', a quoted string) is not.
TEST(SipResponse, BranchAndTagTakeEveryTokenCharacterAndNothingElse) {
  const std::string token = "z9hG4bK-.!%*_+`'~09AZaz";
  SipResponse r;
  // Each message outlives `r`'s views into it.
  const std::string via =
      replacing(kVia, "Via: SIP/2.0/UDP 192.0.2.1;rport=5;branch=" + token + "\r\n");
  ASSERT_EQ(parse_sip_response(via, r), E::ok);
  EXPECT_EQ(r.via_branch, token);
  const std::string to = replacing(kTo, "To: <sip:203.0.113.7>;tag=" + token + "\r\n");
  ASSERT_EQ(parse_sip_response(to, r), E::ok);
  EXPECT_EQ(r.to_tag, token);
  for (const std::string_view bad : {"a:b", "[a]", "\"a\""}) {
    EXPECT_EQ(parse(replacing(kTo, "To: <sip:203.0.113.7>;tag=" + std::string(bad) + "\r\n")),
              E::bad_header)
        << bad;
  }
}

TEST(SipResponseErrors, BadCSeq) {
  for (std::string_view cseq : {
           "CSeq: OPTIONS\r\n",
           "CSeq: 1\r\n",
           "CSeq: 1OPTIONS\r\n",
           "CSeq: -1 OPTIONS\r\n",
           "CSeq: 2147483648 OPTIONS\r\n",
           "CSeq: 99999999999999999999999 OPTIONS\r\n",
           "CSeq: 1 OPT IONS\r\n",
           "CSeq: 1 OPTIONS/2\r\n",
           "CSeq: \r\n",
       }) {
    SCOPED_TRACE(cseq);
    EXPECT_EQ(parse(replacing(kCSeq, cseq)), E::bad_cseq);
  }
}

TEST(SipResponseErrors, BadContentLength) {
  for (std::string_view cl :
       {"Content-Length: abc\r\n", "Content-Length: -1\r\n", "Content-Length: 1 2\r\n",
        "Content-Length: \r\n", "Content-Length: 0x10\r\n", "l: +5\r\n"}) {
    SCOPED_TRACE(cl);
    EXPECT_EQ(parse(replacing(kLength, cl)), E::bad_content_length);
  }
}

TEST(SipResponseErrors, BodyMismatch) {
  EXPECT_EQ(parse(replacing(kLength, "Content-Length: 10\r\n") + "short"), E::body_mismatch);
  EXPECT_EQ(parse(replacing(kLength, "Content-Length: 1\r\n")), E::body_mismatch);
  EXPECT_EQ(parse(replacing(kLength, "Content-Length: 99999999999999999999999999\r\n") + "x"),
            E::body_mismatch);
}

TEST(SipResponseErrors, Incomplete) {
  std::string m = minimal();
  m.pop_back();
  m.pop_back();  // no empty line
  EXPECT_EQ(parse(m), E::incomplete);
  EXPECT_EQ(parse("SIP/2.0 200 OK"), E::incomplete);
  EXPECT_EQ(parse("SIP/2"), E::incomplete);
  EXPECT_EQ(parse("\r\n\r\n"), E::incomplete);  // a bare keepalive
}

TEST(SipResponseErrors, ToStringNames) {
  EXPECT_EQ(to_string(E::ok), "ok");
  EXPECT_EQ(to_string(E::incomplete), "incomplete");
  EXPECT_EQ(to_string(E::too_large), "too_large");
  EXPECT_EQ(to_string(E::not_a_response), "not_a_response");
  EXPECT_EQ(to_string(E::bad_status_line), "bad_status_line");
  EXPECT_EQ(to_string(E::bad_header), "bad_header");
  EXPECT_EQ(to_string(E::missing_header), "missing_header");
  EXPECT_EQ(to_string(E::bad_via), "bad_via");
  EXPECT_EQ(to_string(E::bad_cseq), "bad_cseq");
  EXPECT_EQ(to_string(E::bad_content_length), "bad_content_length");
  EXPECT_EQ(to_string(E::body_mismatch), "body_mismatch");
}

// ---------------------------------------------------------------------------
// Field extraction details.

TEST(SipResponseFields, MinimalMessage) {
  const std::string m = minimal();
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.via_branch, "z9hG4bKabc123");
  EXPECT_EQ(r.call_id, "cid-1@192.0.2.1");
  EXPECT_EQ(r.to_tag, "t1");
  EXPECT_EQ(r.content_length, 0U);
  EXPECT_EQ(r.message_length, m.size());
}

TEST(SipResponseFields, KeepaliveCrlfsBeforeTheStartLine) {
  const std::string m = "\r\n\r\n\n" + minimal();
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.status_code, 200);
  EXPECT_EQ(r.message_length, minimal().size());  // the keepalive is not part of the message
}

TEST(SipResponseFields, StatusLineVariants) {
  const std::string rest = minimal().substr(kStart.size());
  SipResponse r;
  std::string m = "SIP/2.0 200 \r\n" + rest;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.reason, "");
  m = "SIP/2.0 200\r\n" + rest;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.reason, "");
  m = "sip/2.0 486 Busy Here\r\n" + rest;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.status_code, 486);
  EXPECT_EQ(r.reason, "Busy Here");
  m = "SIP/2.0 699 \xc3\x9c\tber  weird reason \r\n" + rest;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.status_code, 699);
  EXPECT_EQ(r.reason, "\xc3\x9c\tber  weird reason ");
}

TEST(SipResponseFields, TopViaFromCommaListAndLws) {
  SipResponse r;
  std::string m = replacing(kVia,
                            "Via: SIP / 2.0 / TLS [2001:db8::1]:5061 ; BRANCH = z9hG4bK.x-1 ;rport"
                            " , SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKsecond\r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.via_transport, "TLS");
  EXPECT_EQ(r.via_branch, "z9hG4bK.x-1");

  // The second element is not validated beyond being present.
  m = replacing(kVia, "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bK1,this is not a via\r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.via_branch, "z9hG4bK1");

  // A later, malformed Via header is ignored.
  m = minimal("Via: garbage\r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.via_branch, "z9hG4bKabc123");
}

TEST(SipResponseFields, ViaVariants) {
  SipResponse r;
  std::string m = replacing(kVia, "Via: SIP/2.0/UDP 192.0.2.1:5060\r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.via_branch, "");  // absent branch is not an error
  m = replacing(kVia,
                "v: sip/2.0/udp 192.0.2.1 : 5060;received=2001:db8::9;maddr=\"q;x\";branch=z9hG4bK"
                "Q\r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.via_transport, "udp");
  EXPECT_EQ(r.via_branch, "z9hG4bKQ");
  // Folded Via: the value spans the fold, parameters see CRLF+SP as whitespace.
  m = replacing(kVia, "Via: SIP/2.0/WSS\r\n  edge.example.com:443\r\n\t;branch=z9hG4bKfold\r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.via_transport, "WSS");
  EXPECT_EQ(r.via_branch, "z9hG4bKfold");
}

TEST(SipResponseFields, ToTagForms) {
  struct Case {
    std::string_view header;
    std::string_view tag;
  };
  for (const Case& c : {
           Case{"To: sip:bob@example.com;tag=abc\r\n", "abc"},
           Case{"To: <sip:bob@example.com;tag=notme>;tag=real\r\n", "real"},
           Case{"To: <sip:bob@example.com;tag=notme>\r\n", ""},
           Case{"To: \"A <b>; c\" <sip:x@example.com>;tag=t1\r\n", "t1"},
           Case{"To: Bob Smith <sip:bob@example.com>;foo=\"x;tag=no\";TAG=yes\r\n", "yes"},
           Case{"To: <sip:bob@example.com> ; tag = spaced ; other\r\n", "spaced"},
           Case{"To: <sip:bob@example.com>\r\n ;tag=folded\r\n", "folded"},
           Case{"To: sip:bob@example.com\r\n", ""},
       }) {
    SCOPED_TRACE(c.header);
    const std::string m = replacing(kTo, c.header);
    SipResponse r;
    ASSERT_EQ(parse_sip_response(m, r), E::ok);
    EXPECT_EQ(r.to_tag, c.tag);
  }
}

TEST(SipResponseFields, CallIdAndCSeqExact) {
  SipResponse r;
  std::string m = replacing(kCallId, "CALL-ID :   a84b4c76e66710@pc33.example.com  \r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.call_id, "a84b4c76e66710@pc33.example.com");
  m = replacing(kCSeq, "cseq:\t2147483647   OPTIONS \r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.cseq_number, 2147483647U);
  EXPECT_EQ(r.cseq_method, "OPTIONS");
  m = replacing(kCSeq, "CSeq: 0007\r\n INVITE\r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.cseq_number, 7U);
  EXPECT_EQ(r.cseq_method, "INVITE");
}

TEST(SipResponseFields, ContentLengthHandling) {
  SipResponse r;
  std::string m = replacing(kLength, "Content-Length:   5  \r\n") + "hello";
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.content_length, 5U);
  EXPECT_EQ(r.message_length, m.size());

  m = replacing(kLength, "l: 2\r\n") + "hello";  // bytes beyond Content-Length are ignored
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.content_length, 2U);
  EXPECT_EQ(r.message_length, m.size() - 3);

  m = replacing(kLength, "") + "body";  // absent: to the end of the datagram
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.content_length, 4U);
  EXPECT_EQ(r.message_length, m.size());
}

TEST(SipResponseFields, ServerAndUserAgent) {
  SipResponse r;
  std::string m = minimal("User-Agent: ua/1\r\nServer:  srv/2 \r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.server, "srv/2");
  m = minimal("user-agent: ua/1\r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.server, "ua/1");
  m = minimal();
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.server, "");
}

TEST(SipResponseFields, RetryAfterForms) {
  struct Case {
    std::string_view header;
    std::optional<std::uint32_t> seconds;
  };
  for (const Case& c : {
           Case{"Retry-After: 120\r\n", 120U},
           Case{"Retry-After: 120 (maintenance)\r\n", 120U},
           Case{"Retry-After: 120;duration=3600\r\n", 120U},
           Case{"Retry-After: 18000;duration=3600;foo=bar\r\n", 18000U},
           Case{"retry-after:  0 \r\n", 0U},
           Case{"Retry-After: 4294967295\r\n", 4294967295U},
           Case{"Retry-After: 4294967296\r\n", std::nullopt},
           Case{"Retry-After: soon\r\n", std::nullopt},
           Case{"Retry-After: 12abc\r\n", std::nullopt},
           Case{"Retry-After: \r\n", std::nullopt},
           Case{"", std::nullopt},
       }) {
    SCOPED_TRACE(c.header);
    SipResponse r;
    ASSERT_EQ(parse_sip_response(minimal(c.header), r), E::ok);
    EXPECT_EQ(r.retry_after, c.seconds);
  }
}

TEST(SipResponseFields, IgnoredCompactForms) {
  SipResponse r;
  const std::string m =
      minimal("m: <sip:203.0.113.7>\r\nc: application/sdp\r\nk: timer\r\ns: hi\r\ne: gzip\r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.to_tag, "t1");
}

// The minimal response with another status line.
std::string with_status(std::string_view status_line, std::string_view extra_headers) {
  std::string m = minimal(extra_headers);
  m.replace(0, kStart.size(), status_line);
  return m;
}

TEST(SipResponseChallenges, AsteriskStyle401) {
  const std::string m =
      "SIP/2.0 401 Unauthorized\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1:40000;branch=z9hG4bKabc123;rport=40000;received=192.0.2.1\r\n"
      "From: <sip:probe@example.com>;tag=f1\r\n"
      "To: <sip:203.0.113.7>;tag=as1b2c3d4e\r\n"
      "Call-ID: cid-1@192.0.2.1\r\n"
      "CSeq: 1 OPTIONS\r\n"
      "Server: Asterisk PBX 18.20.0\r\n"
      "WWW-Authenticate: Digest algorithm=MD5, realm=\"asterisk\", nonce=\"1b2c3d4e\"\r\n"
      "WWW-Authenticate: Digest algorithm=SHA-256, realm=\"asterisk\",\r\n"
      "  nonce=\"5f6a7b8c\", qop=\"auth\"  \r\n"
      "Content-Length: 0\r\n"
      "\r\n";
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  EXPECT_EQ(r.status_code, 401);
  ASSERT_EQ(r.challenge_count, 2U);
  EXPECT_EQ(r.challenges[0], "Digest algorithm=MD5, realm=\"asterisk\", nonce=\"1b2c3d4e\"");
  // Folded: the view spans the fold, trimmed at both ends.
  EXPECT_EQ(r.challenges[1],
            "Digest algorithm=SHA-256, realm=\"asterisk\",\r\n  nonce=\"5f6a7b8c\", qop=\"auth\"");
  expect_views_inside(r, m);
}

TEST(SipResponseChallenges, ProxyAuthenticateOn407) {
  SipResponse r;
  // The views in `r` point into the message: it must outlive them.
  const std::string m = with_status("SIP/2.0 407 Proxy Authentication Required\r\n",
                                    "proxy-authenticate:Digest realm=\"p\", nonce=\"n\"\r\n"
                                    "WWW-Authenticate: Digest realm=\"w\", nonce=\"n\"\r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  ASSERT_EQ(r.challenge_count, 1U);
  EXPECT_EQ(r.challenges[0], "Digest realm=\"p\", nonce=\"n\"");
}

TEST(SipResponseChallenges, OnlyTheMatchingHeaderOfA401) {
  SipResponse r;
  const std::string m = with_status("SIP/2.0 401 Unauthorized\r\n",
                                    "Proxy-Authenticate: Digest realm=\"p\", nonce=\"n\"\r\n"
                                    "www-AUTHENTICATE: Digest realm=\"w\", nonce=\"n\"\r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  ASSERT_EQ(r.challenge_count, 1U);
  EXPECT_EQ(r.challenges[0], "Digest realm=\"w\", nonce=\"n\"");
}

TEST(SipResponseChallenges, IgnoredOnOtherStatusCodes) {
  for (std::string_view status :
       {"SIP/2.0 200 OK\r\n", "SIP/2.0 403 Forbidden\r\n", "SIP/2.0 100 Trying\r\n"}) {
    SCOPED_TRACE(status);
    SipResponse r;
    ASSERT_EQ(
        parse_sip_response(with_status(status,
                                       "WWW-Authenticate: Digest realm=\"w\", nonce=\"n\"\r\n"
                                       "Proxy-Authenticate: Digest realm=\"p\", nonce=\"n\"\r\n"),
                           r),
        E::ok);
    EXPECT_EQ(r.challenge_count, 0U);
  }
}

TEST(SipResponseChallenges, AtMostFourAndEmptyValuesSkipped) {
  std::string headers = "WWW-Authenticate:   \r\n";
  for (int i = 0; i < 6; ++i) {
    headers += "WWW-Authenticate: Digest realm=\"r\", nonce=\"n" + std::to_string(i) + "\"\r\n";
  }
  SipResponse r;
  const std::string m = with_status("SIP/2.0 401 Unauthorized\r\n", headers);
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  ASSERT_EQ(r.challenge_count, kMaxChallenges);
  EXPECT_EQ(r.challenges[0], "Digest realm=\"r\", nonce=\"n0\"");
  EXPECT_EQ(r.challenges[3], "Digest realm=\"r\", nonce=\"n3\"");
  expect_views_inside(r, m);
}

TEST(SipResponseChallenges, MalformedChallengeDoesNotBreakTheResponse) {
  // The parser records the value; judging it is parse_digest_challenge's job.
  SipResponse r;
  const std::string m = with_status("SIP/2.0 401 Unauthorized\r\n",
                                    "WWW-Authenticate: Digest realm=\"unterminated\r\n");
  ASSERT_EQ(parse_sip_response(m, r), E::ok);
  ASSERT_EQ(r.challenge_count, 1U);
  EXPECT_EQ(r.challenges[0], "Digest realm=\"unterminated");
}

TEST(SipResponseFields, ResetsOutputBetweenCalls) {
  SipResponse r;
  ASSERT_EQ(parse_sip_response(minimal("Retry-After: 5\r\nServer: x\r\n"), r), E::ok);
  ASSERT_EQ(parse_sip_response(minimal(), r), E::ok);
  EXPECT_FALSE(r.retry_after.has_value());
  EXPECT_EQ(r.server, "");
  ASSERT_EQ(parse_sip_response(with_status("SIP/2.0 401 Unauthorized\r\n",
                                           "WWW-Authenticate: Digest realm=\"r\"\r\n"),
                               r),
            E::ok);
  ASSERT_EQ(r.challenge_count, 1U);
  ASSERT_EQ(parse_sip_response(minimal(), r), E::ok);
  EXPECT_EQ(r.challenge_count, 0U);
}

// The remote target of a 2xx to INVITE: the first Contact's URI, only when it is one we can
// write into a Request-URI.
TEST(SipResponseFields, FirstContactUri) {
  EXPECT_EQ(first_contact_uri("<sip:a@192.0.2.1:5070;transport=tcp>;expires=60"),
            "sip:a@192.0.2.1:5070;transport=tcp");
  EXPECT_EQ(first_contact_uri("\"Bob\" <sips:b@h>, <sip:c@h>"), "sips:b@h");
  EXPECT_EQ(first_contact_uri("sip:a@h;expires=60"), "sip:a@h");
  EXPECT_EQ(first_contact_uri("sip:a@h, sip:b@h"), "sip:a@h");
  EXPECT_EQ(first_contact_uri("*"), "");
  EXPECT_EQ(first_contact_uri("<tel:+15550100>"), "");
  EXPECT_EQ(first_contact_uri("<sip:a b@h>"), "");
  EXPECT_EQ(first_contact_uri("<sip:a@h"), "");
  SipResponse r;
  ASSERT_EQ(parse_sip_response("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
                               "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\n"
                               "CSeq: 1 INVITE\r\nContact: <sip:uas@192.0.2.7:5080>\r\n"
                               "Content-Length: 0\r\n\r\n",
                               r),
            SipParseError::ok);
  EXPECT_EQ(r.contact_uri, "sip:uas@192.0.2.7:5080");
}

// An OPTIONS answer's capabilities (RFC 3261 11.2), the first header of each; k is the
// compact Supported.
TEST(SipResponseFields, Capabilities) {
  SipResponse r;
  ASSERT_EQ(parse_sip_response("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
                               "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\n"
                               "CSeq: 1 OPTIONS\r\nAllow: INVITE, ACK, BYE\r\n"
                               "Allow: OPTIONS\r\nk: timer, 100rel\r\n"
                               "Accept:  application/sdp \r\nContent-Length: 0\r\n\r\n",
                               r),
            SipParseError::ok);
  EXPECT_EQ(r.allow, "INVITE, ACK, BYE");
  EXPECT_EQ(r.supported, "timer, 100rel");
  EXPECT_EQ(r.accept, "application/sdp");
}

}  // namespace
}  // namespace stx

namespace stx {
namespace {

// Header names are told apart by length first: every known name in any case is recognised,
// and a name of the same length that is not one of them is ignored.
TEST(SipResponseHeaders, KnownNamesInAnyCaseAndSameLengthStrangers) {
  const std::string m(
      "SIP/2.0 401 Unauthorized\r\n"
      "vIA: SIP/2.0/UDP 192.0.2.1:40000;branch=z9hG4bKabc123\r\n"
      "fROM: <sip:probe@example.com>;tag=f1\r\n"
      "tO: <sip:203.0.113.7>;tag=t1\r\n"
      "cALL-iD: cid-1@192.0.2.1\r\n"
      "cSEQ: 1 OPTIONS\r\n"
      "Fish: 2 BYE\r\n"  // 4 letters, neither CSeq nor From
      "cONTACT: <sip:a@192.0.2.9>\r\n"
      "Callers: 1\r\n"  // 7 letters, neither Call-ID nor Contact
      "sERVER: srv/1\r\n"
      "uSER-aGENT: ua/1\r\n"
      "aLLOW: INVITE, OPTIONS\r\n"
      "aCCEPT: application/sdp\r\n"
      "Access: x\r\n"  // 6 letters, neither Server nor Accept
      "sUPPORTED: path\r\n"
      "rETRY-aFTER: 30\r\n"
      "wWW-aUTHENTICATE: Digest realm=\"r\", nonce=\"n\"\r\n"
      "pROXY-aUTHENTICATE: Digest realm=\"p\", nonce=\"n\"\r\n"
      "cONTENT-lENGTH: 0\r\n"
      "\r\n");
  SipResponse r;
  ASSERT_EQ(parse_sip_response(m, r), SipParseError::ok);
  EXPECT_EQ(r.via_branch, "z9hG4bKabc123");
  EXPECT_EQ(r.to_tag, "t1");
  EXPECT_EQ(r.call_id, "cid-1@192.0.2.1");
  EXPECT_EQ(r.cseq_number, 1u);
  EXPECT_EQ(r.cseq_method, "OPTIONS");
  EXPECT_EQ(r.contact_count, 1u);
  EXPECT_EQ(r.server, "srv/1");
  EXPECT_EQ(r.allow, "INVITE, OPTIONS");
  EXPECT_EQ(r.accept, "application/sdp");
  EXPECT_EQ(r.supported, "path");
  EXPECT_EQ(r.retry_after, 30u);
  ASSERT_EQ(r.challenge_count, 1);  // only the WWW- one counts in a 401
  EXPECT_EQ(r.challenges[0], "Digest realm=\"r\", nonce=\"n\"");
}

// The eight-bytes-at-a-time scan agrees with the rule for every byte at every position.
TEST(SipGrammar, ForbiddenControlScanMatchesTheRule) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const bool forbidden = (b < 0x20 && c != '\t') || b == 0x7f;
    for (std::size_t len = 1; len <= 19; ++len) {
      for (std::size_t at = 0; at < len; ++at) {
        std::string line(len, 'a');
        line[at] = c;
        ASSERT_EQ(has_forbidden_ctl(line), forbidden) << "byte " << b << " at " << at << "/" << len;
      }
    }
  }
  EXPECT_FALSE(has_forbidden_ctl(""));
  EXPECT_FALSE(has_forbidden_ctl("\t\t\t\t\t\t\t\t\xc3\xa9\xc3\xa9 UTF-8 and tabs"));
}

// The sixteen-bytes-at-a-time line scan finds the LF and the first control character a
// byte-by-byte reading finds, for every byte at every position of lines across two blocks,
// after an offset, with and without a CR before the LF, and with no LF at all.
TEST(SipGrammar, LineScanAgreesWithAByteByByteReading) {
  for (int b = 0; b < 256; ++b) {
    for (std::size_t len = 0; len <= 37; ++len) {
      for (std::size_t at = 0; at < std::max<std::size_t>(len, 1); ++at) {
        for (const std::string_view ending : {"\r\n", "\n", ""}) {
          std::string text = "xx";  // scanning starts after these
          std::string body(len, 'a');
          if (len > 0) body[at] = static_cast<char>(b);
          text += body;
          text += ending;
          text += "next: line\r\n";
          const LineScan scan = scan_line(text, 2);
          const std::size_t lf = text.find('\n', 2);
          ASSERT_EQ(scan.lf, lf) << b << " " << at << "/" << len;
          std::size_t ctl = std::string_view::npos;
          for (std::size_t i = 2; i <= lf && ctl == std::string_view::npos; ++i) {
            const auto u = static_cast<unsigned char>(text[i]);
            if ((u < 0x20 && u != '\t') || u == 0x7f) ctl = i;
          }
          ASSERT_EQ(scan.first_ctl, ctl) << b << " " << at << "/" << len;
          // What the parser concludes: the line's content holds a forbidden byte.
          std::size_t end = lf;
          if (end > 2 && text[end - 1] == '\r') --end;
          ASSERT_EQ(scan.first_ctl < end, has_forbidden_ctl(text.substr(2, end - 2)))
              << b << " " << at << "/" << len;
        }
      }
    }
  }
  EXPECT_EQ(scan_line("no line end here, long enough for a block", 0).lf, std::string_view::npos);
}

// Header names match in any case and at their full length only, whatever word the
// comparison reads: every known name in mixed case is recognised, and each with any one
// character changed to another is not (a required header then goes missing).
TEST(SipResponse, HeaderNamesMatchInAnyCaseAndNoOtherName) {
  const std::vector<std::pair<std::string, std::string_view>> required = {
      {"Via", kVia}, {"From", kFrom}, {"To", kTo}, {"Call-ID", kCallId}, {"CSeq", kCSeq}};
  for (const auto& [name, line] : required) {
    const std::string value(line.substr(line.find(':')));
    std::string mixed = name;
    for (std::size_t i = 0; i < mixed.size(); i += 2) {
      if (mixed[i] >= 'a' && mixed[i] <= 'z') mixed[i] = static_cast<char>(mixed[i] - 32);
      if (mixed[i] >= 'A' && mixed[i] <= 'Z' && i + 1 < mixed.size()) {
        mixed[i + 1] = static_cast<char>(mixed[i + 1] | 0x20);
      }
    }
    EXPECT_EQ(parse(replacing(line, mixed + value)), E::ok) << mixed;
    for (std::size_t i = 0; i < name.size(); ++i) {
      std::string other = name;
      other[i] = other[i] == '-' ? '.' : (other[i] == 'z' || other[i] == 'Z') ? 'y' : 'z';
      EXPECT_EQ(parse(replacing(line, other + value)), E::missing_header) << other;
    }
  }
  const std::vector<std::string> optional = {"Server",      "User-Agent", "Content-Length",
                                             "Retry-After", "Allow",      "Supported",
                                             "Accept",      "Contact"};
  for (const std::string& name : optional) {
    for (std::size_t i = 0; i <= name.size(); ++i) {
      std::string other = name;
      if (i < name.size()) {
        other[i] = other[i] == '-' ? '.' : (other[i] == 'z' || other[i] == 'Z') ? 'y' : 'z';
      }
      const bool same = i == name.size();
      std::transform(other.begin(), other.end(), other.begin(),
                     [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
      SipResponse r;
      // A body of seven bytes: a Content-Length read says 3, one not read leaves 7. The
      // message outlives `r`'s views into it.
      const std::string message = minimal(other + ": 3\r\n") + "1234567";
      ASSERT_EQ(parse_sip_response(message, r), E::ok) << other;
      const bool seen = r.server == "3" || r.content_length == 3 || r.retry_after == 3u ||
                        r.allow == "3" || r.supported == "3" || r.accept == "3" ||
                        r.contact_count == 1;
      EXPECT_EQ(seen, same) << other;
    }
  }
}

// A Call-ID holds no whitespace, wherever it is and however long the Call-ID; other bytes,
// UTF-8 included, are its own.
TEST(SipResponse, CallIdWithWhitespaceAnywhereIsRefused) {
  for (std::size_t len = 3; len <= 40; ++len) {
    for (std::size_t at = 1; at + 1 < len; ++at) {
      for (const char ws : {' ', '\t'}) {
        std::string id(len, 'c');
        id[at] = ws;
        EXPECT_EQ(parse(replacing(kCallId, "Call-ID: " + id + "\r\n")), E::bad_header)
            << len << " " << at;
      }
      std::string id(len, 'c');
      id[at] = static_cast<char>(0xc3);
      SipResponse r;
      const std::string message = replacing(kCallId, "Call-ID: " + id + "\r\n");
      ASSERT_EQ(parse_sip_response(message, r), E::ok);
      EXPECT_EQ(r.call_id, id);
    }
  }
}

}  // namespace
}  // namespace stx
