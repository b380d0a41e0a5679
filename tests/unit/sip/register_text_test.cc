// The SIP text of the REGISTER probe: the fetch request (no Contact, no Expires), the
// registrar's Request-URI, and counting the bindings a 2xx lists in its Contact headers.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sip/sip_request.h"
#include "sip/sip_response.h"
#include "sip/sip_uri.h"

namespace stx {
namespace {

std::string response_with(std::string_view contact_headers) {
  std::string m =
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1:40000;branch=z9hG4bKabc;rport=40000\r\n"
      "From: <sip:pbx01@example.com>;tag=f1\r\n"
      "To: <sip:pbx01@example.com>;tag=t1\r\n"
      "Call-ID: cid-1@192.0.2.1\r\n"
      "CSeq: 1 REGISTER\r\n";
  m += contact_headers;
  m += "Content-Length: 0\r\n\r\n";
  return m;
}

SipResponse parsed(std::string_view contact_headers) {
  const std::string text = response_with(contact_headers);
  SipResponse r;
  EXPECT_EQ(parse_sip_response(text, r), SipParseError::ok) << text;
  return r;  // views into `text` are not used by these tests
}

TEST(CountContacts, OneValueMayHoldSeveral) {
  std::uint32_t n = 0;
  EXPECT_TRUE(count_contacts("<sip:a@192.0.2.1:5060>;expires=3600", n));
  EXPECT_EQ(n, 1u);
  EXPECT_TRUE(count_contacts("<sip:a@192.0.2.1>;expires=60, <sip:a@192.0.2.2>;q=0.5", n));
  EXPECT_EQ(n, 3u) << "adds to the count";
  n = 0;
  EXPECT_TRUE(count_contacts("sip:a@192.0.2.1;expires=60,sip:b@192.0.2.2", n));
  EXPECT_EQ(n, 2u) << "addr-spec form";
}

TEST(CountContacts, CommasInsideQuotesAndBracketsDoNotSplit) {
  std::uint32_t n = 0;
  EXPECT_TRUE(count_contacts(
      "\"Doe, John\" <sip:john@192.0.2.1;x=a,b>;+sip.instance=\"<urn:uuid:1,2>\";expires=30", n));
  EXPECT_EQ(n, 1u);
  n = 0;
  EXPECT_TRUE(count_contacts("\"a \\\" , b\" <sip:x@h>, <sip:y@h>", n));
  EXPECT_EQ(n, 2u) << "an escaped quote does not end the quoted string";
}

TEST(CountContacts, MalformedValuesCountNothing) {
  for (const std::string_view bad :
       {"*", "", " ", "<sip:a@h>,", ",<sip:a@h>", "<sip:a@h>,,<sip:b@h>", "<sip:a@h",
        "\"open <sip:a@h>", "<sip:a@h>, *"}) {
    std::uint32_t n = 7;
    EXPECT_FALSE(count_contacts(bad, n)) << bad;
    EXPECT_EQ(n, 7u) << bad;
  }
}

TEST(ResponseContacts, CountedOverAllContactHeadersIncludingCompactForm) {
  EXPECT_EQ(parsed("").contact_count, 0u);
  EXPECT_EQ(parsed("Contact: <sip:a@192.0.2.1>;expires=3600\r\n").contact_count, 1u);
  const SipResponse r = parsed(
      "Contact: <sip:a@192.0.2.1>;expires=3600, <sip:a@192.0.2.2>;expires=60\r\n"
      "m: <sip:a@192.0.2.3>;expires=10\r\n"
      "CONTACT: sip:a@192.0.2.4\r\n");
  EXPECT_EQ(r.contact_count, 4u);
  EXPECT_FALSE(r.contacts_malformed);
}

TEST(ResponseContacts, FoldedContactValuesAreOneValue) {
  const SipResponse r =
      parsed("Contact: <sip:a@192.0.2.1>;expires=3600,\r\n <sip:a@192.0.2.2>;expires=60\r\n");
  EXPECT_EQ(r.contact_count, 2u);
  EXPECT_FALSE(r.contacts_malformed);
}

TEST(ResponseContacts, AMalformedContactFlagsTheCountNotTheResponse) {
  SipResponse r = parsed("Contact: *\r\n");
  EXPECT_EQ(r.status_code, 200);
  EXPECT_TRUE(r.contacts_malformed);
  r = parsed("Contact: <sip:a@192.0.2.1>\r\nContact: <sip:broken\r\n");
  EXPECT_TRUE(r.contacts_malformed);
  EXPECT_EQ(r.contact_count, 1u);
}

RequestFields fields() {
  RequestFields r;
  r.request_uri = "sip:registrar.example.com";
  r.to_uri = "sip:pbx01@example.com";
  r.from_uri = "sip:pbx01@example.com";
  r.from_tag = "f00d";
  r.via_transport = "UDP";
  r.via_sent_by = "192.0.2.1:40000";
  r.branch = "z9hG4bK1";
  r.call_id = "c0ffee";
  r.cseq = 2;
  r.user_agent = "ua/1";
  return r;
}

TEST(BuildRegister, IsAFetchWithoutContactOrExpires) {
  RequestFields r = fields();
  r.method = "OPTIONS";                         // overridden
  r.contact_uri = "sip:pbx01@192.0.2.1:40000";  // never written
  r.accept = "application/sdp";                 // not for a REGISTER
  std::string out;
  build_register(r, out);
  EXPECT_EQ(out.rfind("REGISTER sip:registrar.example.com SIP/2.0\r\n", 0), 0U) << out;
  EXPECT_NE(out.find("\r\nTo: <sip:pbx01@example.com>\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nCSeq: 2 REGISTER\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Contact"), std::string::npos) << out;
  EXPECT_EQ(out.find("Expires"), std::string::npos) << out;
  EXPECT_EQ(out.find("Accept"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("Content-Length: 0\r\n\r\n"));
}

TEST(BuildRegister, CarriesCredentialsAndExtraHeaders) {
  RequestFields r = fields();
  const std::vector<std::pair<std::string, std::string>> extra = {{"X-Account", "1"}};
  r.extra_headers = extra;
  r.authorization_name = "Authorization";
  r.authorization_value = "Digest username=\"pbx01\"";
  std::string out;
  build_register(r, out);
  EXPECT_NE(out.find("\r\nX-Account: 1\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nAuthorization: Digest username=\"pbx01\"\r\n"), std::string::npos);
}

TEST(RequestUriWithoutUser, DropsTheUserPartOnly) {
  const auto strip = [](std::string_view text) {
    std::string error;
    const auto uri = parse_sip_uri(text, &error);
    EXPECT_TRUE(uri) << text << ": " << error;
    return uri ? request_uri_without_user(*uri, text) : std::string();
  };
  EXPECT_EQ(strip("sip:registrar.example.com"), "sip:registrar.example.com");
  EXPECT_EQ(strip("sip:pbx01@registrar.example.com:5070;transport=tcp"),
            "sip:registrar.example.com:5070;transport=tcp");
  EXPECT_EQ(strip("sips:pbx01:secret@[2001:db8::1]:5061"), "sips:[2001:db8::1]:5061");
  EXPECT_EQ(strip("sip:+15550100@203.0.113.7"), "sip:203.0.113.7");
}

}  // namespace
}  // namespace stx
