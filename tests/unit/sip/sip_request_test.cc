#include "sip/sip_request.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sip/sip_response.h"

namespace stx {
namespace {

OptionsRequest sample_request() {
  OptionsRequest r;
  r.request_uri = "sip:203.0.113.7:5060";
  r.to_uri = "sip:203.0.113.7:5060";
  r.from_uri = "sip:sip_trunk_exporter@example.com";
  r.from_tag = "a1b2c3d4";
  r.via_transport = "UDP";
  r.via_sent_by = "192.0.2.1:40000";
  r.branch = "z9hG4bK7f3e2d1c0b";
  r.call_id = "4f8e2a1c9b7d@192.0.2.1";
  r.cseq = 42;
  r.contact_uri = "sip:sip_trunk_exporter@192.0.2.1:40000";
  r.user_agent = "sip_trunk_exporter/0.1.0";
  return r;
}

constexpr std::string_view kGolden =
    "OPTIONS sip:203.0.113.7:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:40000;branch=z9hG4bK7f3e2d1c0b;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:sip_trunk_exporter@example.com>;tag=a1b2c3d4\r\n"
    "To: <sip:203.0.113.7:5060>\r\n"
    "Call-ID: 4f8e2a1c9b7d@192.0.2.1\r\n"
    "CSeq: 42 OPTIONS\r\n"
    "Contact: <sip:sip_trunk_exporter@192.0.2.1:40000>\r\n"
    "User-Agent: sip_trunk_exporter/0.1.0\r\n"
    "Accept: application/sdp\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

// Splits on CRLF; fails the test on a bare LF or CR.
std::vector<std::string_view> crlf_lines(std::string_view s) {
  std::vector<std::string_view> lines;
  while (!s.empty()) {
    const std::size_t end = s.find("\r\n");
    if (end == std::string_view::npos) {
      ADD_FAILURE() << "unterminated line: " << s;
      break;
    }
    const std::string_view line = s.substr(0, end);
    EXPECT_EQ(line.find_first_of("\r\n"), std::string_view::npos) << line;
    lines.push_back(line);
    s.remove_prefix(end + 2);
  }
  return lines;
}

TEST(SipRequest, GoldenOutput) {
  std::string out;
  build_options(sample_request(), out);
  EXPECT_EQ(out, kGolden);
}

TEST(SipRequest, UserAgentLineOmittedWhenEmpty) {
  OptionsRequest r = sample_request();
  r.user_agent = "";
  std::string out;
  build_options(r, out);
  std::string expected(kGolden);
  const std::string ua_line = "User-Agent: sip_trunk_exporter/0.1.0\r\n";
  expected.erase(expected.find(ua_line), ua_line.size());
  EXPECT_EQ(out, expected);
  EXPECT_EQ(out.find("User-Agent"), std::string::npos);
}

TEST(SipRequest, TcpIpv6AndLargeCSeq) {
  OptionsRequest r = sample_request();
  r.request_uri = "sip:trunk.example.com;transport=tcp";
  r.to_uri = "sip:trunk.example.com";
  r.via_transport = "TCP";
  r.via_sent_by = "[2001:db8::1]:40000";
  r.cseq = 4294967295U;
  std::string out;
  build_options(r, out);
  EXPECT_EQ(out.substr(0, out.find("\r\n")), "OPTIONS sip:trunk.example.com;transport=tcp SIP/2.0");
  EXPECT_NE(out.find("\r\nVia: SIP/2.0/TCP [2001:db8::1]:40000;branch=z9hG4bK7f3e2d1c0b;rport\r\n"),
            std::string::npos);
  EXPECT_NE(out.find("\r\nTo: <sip:trunk.example.com>\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nCSeq: 4294967295 OPTIONS\r\n"), std::string::npos);
}

TEST(SipRequest, RoundTripsThroughARequestLineCheck) {
  std::string out;
  build_options(sample_request(), out);
  ASSERT_GE(out.size(), 4U);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");

  const std::vector<std::string_view> lines = crlf_lines(out);
  ASSERT_EQ(lines.size(), 12U);  // request line, 10 headers, empty line
  EXPECT_TRUE(lines.back().empty());

  // Request-Line = Method SP Request-URI SP SIP-Version
  const std::string_view request_line = lines.front();
  const std::size_t sp1 = request_line.find(' ');
  const std::size_t sp2 = request_line.find(' ', sp1 + 1);
  ASSERT_NE(sp1, std::string_view::npos);
  ASSERT_NE(sp2, std::string_view::npos);
  EXPECT_EQ(request_line.find(' ', sp2 + 1), std::string_view::npos);
  EXPECT_EQ(request_line.substr(0, sp1), "OPTIONS");
  EXPECT_EQ(request_line.substr(sp1 + 1, sp2 - sp1 - 1), "sip:203.0.113.7:5060");
  EXPECT_EQ(request_line.substr(sp2 + 1), "SIP/2.0");

  // Every header line is "Name: value".
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
    const std::size_t colon = lines[i].find(": ");
    EXPECT_NE(colon, std::string_view::npos) << lines[i];
    EXPECT_GT(colon, 0U) << lines[i];
  }

  // The response parser must refuse our own request.
  SipResponse parsed;
  EXPECT_EQ(parse_sip_response(out, parsed), SipParseError::not_a_response);
}

TEST(SipRequest, NoAllocationWhenCapacitySuffices) {
  std::string out;
  out.reserve(1024);
  build_options(sample_request(), out);
  const char* data = out.data();
  const std::size_t capacity = out.capacity();
  ASSERT_EQ(out, kGolden);

  OptionsRequest r = sample_request();
  r.cseq = 4294967295U;
  r.branch = "z9hG4bKa-much-longer-branch-value-for-the-second-build";
  build_options(r, out);
  EXPECT_EQ(out.data(), data);
  EXPECT_EQ(out.capacity(), capacity);
  EXPECT_NE(out.find("CSeq: 4294967295 OPTIONS\r\n"), std::string::npos);

  build_options(sample_request(), out);
  EXPECT_EQ(out.data(), data);
  EXPECT_EQ(out.capacity(), capacity);
  EXPECT_EQ(out, kGolden);
}

TEST(SipRequest, ReusedBufferIsExactlyRewritten) {
  std::string out = "stale content that must disappear";
  build_options(sample_request(), out);
  EXPECT_EQ(out, kGolden);
  // A buffer sized by a first build is large enough for the same request again.
  const char* data = out.data();
  build_options(sample_request(), out);
  EXPECT_EQ(out.data(), data);
  EXPECT_EQ(out, kGolden);
}

const std::vector<std::pair<std::string, std::string>> kExtraHeaders = {
    {"X-Account", "1234"}, {"P-Preferred-Identity", "<sip:+15551230000@carrier.example>"}};

TEST(SipRequest, ExtraHeadersFollowUserAgentInOrder) {
  OptionsRequest r = sample_request();
  r.extra_headers = kExtraHeaders;
  std::string out;
  build_options(r, out);
  std::string expected(kGolden);
  const std::string after_ua = "User-Agent: sip_trunk_exporter/0.1.0\r\n";
  expected.insert(expected.find(after_ua) + after_ua.size(),
                  "X-Account: 1234\r\n"
                  "P-Preferred-Identity: <sip:+15551230000@carrier.example>\r\n");
  EXPECT_EQ(out, expected);
  EXPECT_EQ(crlf_lines(out).size(), 14U);
}

TEST(SipRequest, AuthorizationHeader) {
  OptionsRequest r = sample_request();
  r.extra_headers = kExtraHeaders;
  r.authorization_name = "Proxy-Authorization";
  r.authorization_value = "Digest username=\"u\", realm=\"r\", response=\"0a\"";
  std::string out;
  build_options(r, out);
  const std::vector<std::string_view> lines = crlf_lines(out);
  ASSERT_EQ(lines.size(), 15U);
  EXPECT_EQ(lines[9], "X-Account: 1234");
  EXPECT_EQ(lines[11], "Proxy-Authorization: Digest username=\"u\", realm=\"r\", response=\"0a\"");
  EXPECT_EQ(lines[12], "Accept: application/sdp");
  EXPECT_EQ(lines[14], "");

  r.authorization_name = "Authorization";
  build_options(r, out);
  EXPECT_NE(out.find("\r\nAuthorization: Digest username="), std::string::npos);
  EXPECT_EQ(out.find("Proxy-Authorization"), std::string::npos);

  // Without a name there is no line, whatever the value.
  r.authorization_name = "";
  build_options(r, out);
  EXPECT_EQ(out.find("Authorization"), std::string::npos);
  EXPECT_EQ(out.find("Digest"), std::string::npos);
}

TEST(SipRequest, TlsVia) {
  OptionsRequest r = sample_request();
  r.request_uri = "sips:trunk.example.com";
  r.via_transport = "TLS";
  std::string out;
  build_options(r, out);
  EXPECT_NE(out.find("\r\nVia: SIP/2.0/TLS 192.0.2.1:40000;branch=z9hG4bK7f3e2d1c0b;rport\r\n"),
            std::string::npos);
  EXPECT_EQ(out.rfind("OPTIONS sips:trunk.example.com SIP/2.0\r\n", 0), 0U);
}

TEST(SipRequest, NoAllocationWithExtraHeadersAndAuthorization) {
  OptionsRequest r = sample_request();
  r.extra_headers = kExtraHeaders;
  r.authorization_name = "Authorization";
  r.authorization_value = "Digest username=\"u\"";
  std::string out;
  out.reserve(2048);
  build_options(r, out);
  const char* data = out.data();
  const std::size_t capacity = out.capacity();
  r.authorization_value = "Digest username=\"a-longer-user-name\", realm=\"realm\"";
  build_options(r, out);
  EXPECT_EQ(out.data(), data);
  EXPECT_EQ(out.capacity(), capacity);
  EXPECT_NE(out.find("realm=\"realm\"\r\n"), std::string::npos);
}

// The builder takes the method: it goes in the request line and the CSeq, and a kind that
// must not send a Contact (a REGISTER fetching bindings) or an Accept leaves them out.
TEST(BuildRequest, MethodIsAFieldAndContactAndAcceptAreOptional) {
  RequestFields r = sample_request();
  r.method = "REGISTER";
  r.contact_uri = {};
  std::string out;
  build_request(r, out);
  EXPECT_EQ(out.rfind("REGISTER sip:203.0.113.7:5060 SIP/2.0\r\n", 0), 0U);
  EXPECT_NE(out.find("\r\nCSeq: 42 REGISTER\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Contact:"), std::string::npos);
  EXPECT_EQ(out.find("Accept:"), std::string::npos);
  EXPECT_EQ(crlf_lines(out).back(), "");  // every line CRLF-terminated, then the blank one
}

TEST(BuildRequest, OptionsIsTheBuilderWithItsMethodAndAccept) {
  std::string via_options;
  build_options(sample_request(), via_options);
  RequestFields r = sample_request();
  r.method = kOptions;
  r.accept = "application/sdp";
  std::string direct;
  build_request(r, direct);
  EXPECT_EQ(via_options, direct);
  EXPECT_EQ(direct, kGolden);
}

// An INVITE carries its SDP offer with the Content-Length that counts it; a To tag and a
// body are written when set.
TEST(BuildRequest, InviteCarriesItsSdpOfferAndItsLength) {
  RequestFields r = sample_request();
  std::string out;
  build_invite(r, "192.0.2.10", 77, out);
  EXPECT_EQ(out.rfind("INVITE sip:203.0.113.7:5060 SIP/2.0\r\n", 0), 0U);
  EXPECT_NE(out.find("\r\nCSeq: 42 INVITE\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nContent-Type: application/sdp\r\n"), std::string::npos);
  const std::string body = out.substr(out.find("\r\n\r\n") + 4);
  EXPECT_EQ(body,
            "v=0\r\no=- 77 1 IN IP4 192.0.2.10\r\ns=sip_trunk_exporter test call\r\n"
            "c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=sendrecv\r\n");
  EXPECT_NE(out.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"),
            std::string::npos);
  build_invite(r, "2001:db8::1", 1, out);
  EXPECT_NE(out.find("\r\nc=IN IP6 2001:db8::1\r\n"), std::string::npos);
}

TEST(BuildRequest, ToTagIsWrittenWhenSet) {
  RequestFields r = sample_request();
  r.method = kBye;
  r.to_tag = "peer1";
  std::string out;
  build_request(r, out);
  EXPECT_NE(out.find(">;tag=peer1\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\r\nContent-Length: 0\r\n\r\n"), std::string::npos);
}

}  // namespace
}  // namespace stx
