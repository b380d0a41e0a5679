#include "sip/sip_uri.h"

#include <gtest/gtest.h>

#include <string>

namespace stx {
namespace {

SipUri must_parse(std::string_view text) {
  std::string error;
  std::optional<SipUri> uri = parse_sip_uri(text, &error);
  EXPECT_TRUE(uri.has_value()) << text << ": " << error;
  return uri.value_or(SipUri{});
}

std::string must_fail(std::string_view text) {
  std::string error;
  std::optional<SipUri> uri = parse_sip_uri(text, &error);
  EXPECT_FALSE(uri.has_value()) << text << " parsed unexpectedly";
  EXPECT_FALSE(error.empty()) << text;
  return error;
}

TEST(SipUri, Ipv4WithPort) {
  SipUri uri = must_parse("sip:203.0.113.7:5060");
  EXPECT_FALSE(uri.secure);
  EXPECT_EQ(uri.user, "");
  EXPECT_EQ(uri.host, "203.0.113.7");
  EXPECT_EQ(uri.host_kind, HostKind::ipv4);
  EXPECT_EQ(uri.port, 5060);
  EXPECT_EQ(uri.transport, "");
}

TEST(SipUri, Ipv4WithoutPort) {
  SipUri uri = must_parse("sip:10.0.0.1");
  EXPECT_EQ(uri.host, "10.0.0.1");
  EXPECT_EQ(uri.host_kind, HostKind::ipv4);
  EXPECT_EQ(uri.port, 0);
}

TEST(SipUri, Ipv4Extremes) {
  EXPECT_EQ(must_parse("sip:0.0.0.0").host, "0.0.0.0");
  EXPECT_EQ(must_parse("sip:255.255.255.255").host, "255.255.255.255");
}

TEST(SipUri, SipsSchemeIsSecure) {
  SipUri uri = must_parse("sips:example.com");
  EXPECT_TRUE(uri.secure);
  EXPECT_EQ(uri.host, "example.com");
}

TEST(SipUri, SchemeIsCaseInsensitive) {
  EXPECT_FALSE(must_parse("SIP:example.com").secure);
  EXPECT_TRUE(must_parse("SiPs:example.com").secure);
}

TEST(SipUri, UserIsKeptPasswordDropped) {
  SipUri uri = must_parse("sip:alice:secret@pbx.example.com:5080");
  EXPECT_EQ(uri.user, "alice");
  EXPECT_EQ(uri.host, "pbx.example.com");
  EXPECT_EQ(uri.port, 5080);
}

TEST(SipUri, UserWithEscapesAndUserUnreservedCharacters) {
  SipUri uri = must_parse("sip:+1%20555;isub=1@example.com");
  EXPECT_EQ(uri.user, "+1%20555;isub=1");
  EXPECT_EQ(uri.host, "example.com");
}

TEST(SipUri, HostNameIsLowerCased) {
  SipUri uri = must_parse("sip:SIP.Example.COM");
  EXPECT_EQ(uri.host, "sip.example.com");
  EXPECT_EQ(uri.host_kind, HostKind::name);
}

TEST(SipUri, SingleLabelHostAndHyphens) {
  EXPECT_EQ(must_parse("sip:localhost").host, "localhost");
  EXPECT_EQ(must_parse("sip:edge-1.sip-provider.net").host, "edge-1.sip-provider.net");
  EXPECT_EQ(must_parse("sip:1and1.example.com").host, "1and1.example.com");
}

TEST(SipUri, TrailingDotHostNameAccepted) {
  EXPECT_EQ(must_parse("sip:example.com.").host, "example.com.");
}

TEST(SipUri, Ipv6Literal) {
  SipUri uri = must_parse("sip:[2001:DB8::1]:5062");
  EXPECT_EQ(uri.host, "2001:db8::1");
  EXPECT_EQ(uri.host_kind, HostKind::ipv6);
  EXPECT_EQ(uri.port, 5062);
}

TEST(SipUri, Ipv6WithoutPortAndWithParams) {
  SipUri uri = must_parse("sip:[::1];transport=UDP");
  EXPECT_EQ(uri.host, "::1");
  EXPECT_EQ(uri.port, 0);
  EXPECT_EQ(uri.transport, "udp");
}

TEST(SipUri, TransportIsLowerCased) {
  EXPECT_EQ(must_parse("sip:example.com;transport=TCP").transport, "tcp");
  EXPECT_EQ(must_parse("sip:example.com;TRANSPORT=udp").transport, "udp");
}

TEST(SipUri, OtherParamsAcceptedAndIgnored) {
  SipUri uri = must_parse("sip:203.0.113.7:5060;lr;user=phone;transport=udp;maddr=10.0.0.1");
  EXPECT_EQ(uri.host, "203.0.113.7");
  EXPECT_EQ(uri.port, 5060);
  EXPECT_EQ(uri.transport, "udp");
}

TEST(SipUri, PortBounds) {
  EXPECT_EQ(must_parse("sip:example.com:1").port, 1);
  EXPECT_EQ(must_parse("sip:example.com:65535").port, 65535);
}

TEST(SipUri, Errors) {
  struct Case {
    std::string_view text;
    std::string_view error;
  };
  const Case cases[] = {
      {"", "empty URI"},
      {"203.0.113.7", "missing scheme (want sip: or sips:)"},
      {"http://example.com", "unsupported scheme \"http\" (want sip: or sips:)"},
      {"tel:+15551234", "unsupported scheme \"tel\" (want sip: or sips:)"},
      {"sip:", "missing host"},
      {"sip:alice@", "missing host"},
      {"sip::5060", "missing host"},
      {"sip:;transport=udp", "missing host"},
      {"sip:[]", "missing host"},
      {"sip:@example.com", "empty user before '@'"},
      {"sip:a@b@example.com", "more than one '@'"},
      {"sip:al<ice@example.com", "invalid user \"al<ice\" (character '<')"},
      {"sip:alice%2@example.com", "invalid user \"alice%2\" (invalid %-escape)"},
      {"sip:alice:pa;ss@example.com", "invalid password (character ';')"},
      {"sip:1.2.3.4:70000", "port \"70000\" out of range 1-65535"},
      {"sip:1.2.3.4:99999", "port \"99999\" out of range 1-65535"},
      {"sip:1.2.3.4:0", "port \"0\" out of range 1-65535"},
      {"sip:1.2.3.4:99999999999999999999", "port \"99999999999999999999\" out of range 1-65535"},
      {"sip:1.2.3.4:", "missing port after ':'"},
      {"sip:1.2.3.4:50a0", "invalid port \"50a0\" (digits only)"},
      {"sip:1.2.3.4:+5060", "invalid port \"+5060\" (digits only)"},
      {"sip:1.2.3.4:5060/x", "invalid port \"5060/x\" (digits only)"},
      {"sip:256.1.1.1", "invalid IPv4 address \"256.1.1.1\" (octet \"256\" out of range 0-255)"},
      {"sip:1.2.3.1000", "invalid IPv4 address \"1.2.3.1000\" (octet \"1000\" out of range 0-255)"},
      {"sip:1.2.3", "invalid IPv4 address \"1.2.3\" (want 4 octets, got 3)"},
      {"sip:1.2.3.4.5", "invalid IPv4 address \"1.2.3.4.5\" (want 4 octets, got 5)"},
      {"sip:1..3.4", "invalid IPv4 address \"1..3.4\" (empty octet)"},
      {"sip:1.2.3.4.", "invalid IPv4 address \"1.2.3.4.\" (empty octet)"},
      {"sip:010.0.0.1", "invalid IPv4 address \"010.0.0.1\" (octet \"010\" has a leading zero)"},
      {"sip:12345", "invalid IPv4 address \"12345\" (octet \"12345\" out of range 0-255)"},
      {"sip:1.2.3.4x",
       "invalid host name \"1.2.3.4x\" (last label \"4x\" must start with a letter)"},
      {"sip:-bad.example.com",
       "invalid host name \"-bad.example.com\" (label \"-bad\" starts or ends with '-')"},
      {"sip:bad-.example.com",
       "invalid host name \"bad-.example.com\" (label \"bad-\" starts or ends with '-')"},
      {"sip:exa_mple.com", "invalid host name \"exa_mple.com\" (character '_' not allowed)"},
      {"sip:example..com", "invalid host name \"example..com\" (empty label)"},
      {"sip:.example.com", "invalid host name \".example.com\" (empty label)"},
      {"sip:example.com/path",
       "invalid host name \"example.com/path\" (character '/' not allowed)"},
      {"sip:[2001:db8::1", "missing ']' after IPv6 address"},
      {"sip:[2001:db8::g]", "invalid IPv6 address \"2001:db8::g\""},
      {"sip:[1.2.3.4]", "invalid IPv6 address \"1.2.3.4\""},
      {"sip:[fe80::1%25eth0]", "invalid IPv6 address \"fe80::1%25eth0\""},
      {"sip:[::1]x", "unexpected \"x\" after host"},
      {"sip:[::1]:", "missing port after ':'"},
      {"sip:example.com?Subject=hi", "URI headers (?...) are not allowed in a probe target"},
      {"sip:example.com:5060?x=y", "URI headers (?...) are not allowed in a probe target"},
      {"sip:example.com;lr?x=y", "URI headers (?...) are not allowed in a probe target"},
      {"sip:example.com;", "empty URI parameter"},
      {"sip:example.com;;lr", "empty URI parameter"},
      {"sip:example.com;=udp", "invalid URI parameter name \"\""},
      {"sip:example.com;a(b=1", "invalid URI parameter name \"a(b\""},
      {"sip:example.com;transport=", "URI parameter \"transport\" has an empty value"},
      {"sip:example.com;transport", "transport parameter has no value"},
      {"sip:example.com;transport=udp;transport=tcp", "duplicate transport parameter"},
      {"sip:example.com;transport=u:p", "invalid transport \"u:p\""},
      {"sip:example.com;foo=a\"b", "invalid URI parameter \"foo=a\\\"b\" (character '\"')"},
      {"sip:exam ple.com", "whitespace is not allowed (at offset 8)"},
      {" sip:example.com", "whitespace is not allowed (at offset 0)"},
      {"sip:example.com ", "whitespace is not allowed (at offset 15)"},
      {"sip:example.com\t", "whitespace is not allowed (at offset 15)"},
      {"sip:example.com\r\nVia: x", "control character at offset 15"},
      {"sip:example.com\n", "control character at offset 15"},
      {std::string_view("sip:a\0b", 7), "control character at offset 5"},
      {"sip:example.com\x7f", "control character at offset 15"},
      {"sip:\xc3\xa9xample.com", "non-ASCII byte at offset 4 (use %-escapes)"},
  };
  for (const Case& c : cases) {
    std::string error = must_fail(c.text);
    EXPECT_EQ(error, c.error) << "input: " << c.text;
  }
}

TEST(SipUri, HostNameLengthLimits) {
  std::string label63(63, 'a');
  EXPECT_EQ(must_parse("sip:" + label63 + ".com").host, label63 + ".com");
  EXPECT_EQ(
      must_fail("sip:" + std::string(64, 'a') + ".com"),
      "invalid host name \"" + std::string(64, 'a') + ".com\" (label longer than 63 characters)");

  // 4 * 63 + 1 = 253 characters is the maximum.
  std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  ASSERT_EQ(name253.size(), 253u);
  EXPECT_EQ(must_parse("sip:" + name253).host, name253);
  std::string name254 = name253 + "b";
  EXPECT_EQ(must_fail("sip:" + name254.substr(0, 190) + "." + name254.substr(190)),
            "host name is longer than 253 characters");
}

TEST(SipUri, NullErrorPointerIsAllowed) {
  EXPECT_FALSE(parse_sip_uri("http://x", nullptr).has_value());
  EXPECT_TRUE(parse_sip_uri("sip:x", nullptr).has_value());
}

TEST(SipUri, ErrorIsNotTouchedOnSuccess) {
  std::string error = "unchanged";
  EXPECT_TRUE(parse_sip_uri("sip:example.com", &error).has_value());
  EXPECT_EQ(error, "unchanged");
}

TEST(SipUri, HostForUri) {
  EXPECT_EQ(host_for_uri("2001:db8::1", HostKind::ipv6), "[2001:db8::1]");
  EXPECT_EQ(host_for_uri("203.0.113.7", HostKind::ipv4), "203.0.113.7");
  EXPECT_EQ(host_for_uri("example.com", HostKind::name), "example.com");
}

TEST(SipUri, HostForUriRoundTripsParsedIpv6) {
  SipUri uri = must_parse("sip:[2001:db8::5]:5060");
  EXPECT_EQ(host_for_uri(uri.host, uri.host_kind), "[2001:db8::5]");
}

std::string with_user(std::string_view text, std::string_view user) {
  std::string error;
  std::optional<SipUri> uri = parse_sip_uri(text, &error);
  EXPECT_TRUE(uri.has_value()) << error;
  std::string out = request_uri_with_user(*uri, text, user);
  // The result is a valid URI with the new user and everything else unchanged.
  std::optional<SipUri> again = parse_sip_uri(out, &error);
  EXPECT_TRUE(again.has_value()) << out << ": " << error;
  if (again && !user.empty()) {
    EXPECT_EQ(again->user, user);
    EXPECT_EQ(again->host, uri->host);
    EXPECT_EQ(again->port, uri->port);
    EXPECT_EQ(again->transport, uri->transport);
    EXPECT_EQ(again->secure, uri->secure);
  }
  return out;
}

TEST(RequestUriWithUser, InsertsWhenThereIsNoUser) {
  EXPECT_EQ(with_user("sip:203.0.113.7:5060", "+15551234567"), "sip:+15551234567@203.0.113.7:5060");
  EXPECT_EQ(with_user("SIPS:Edge.Example.com;transport=tls;lr", "trunk"),
            "SIPS:trunk@Edge.Example.com;transport=tls;lr");
  EXPECT_EQ(with_user("sip:[2001:db8::1]:5062", "u"), "sip:u@[2001:db8::1]:5062");
}

TEST(RequestUriWithUser, ReplacesTheUserKeepingThePassword) {
  EXPECT_EQ(with_user("sip:old@carrier.example", "new"), "sip:new@carrier.example");
  EXPECT_EQ(with_user("sip:old:secret@carrier.example:5080", "new"),
            "sip:new:secret@carrier.example:5080");
  EXPECT_EQ(with_user("sip:a%40b@x.example;user=phone", "1%2023;ext=5"),
            "sip:1%2023;ext=5@x.example;user=phone");
}

TEST(RequestUriWithUser, EmptyUserKeepsTheUri) {
  EXPECT_EQ(with_user("sip:old@carrier.example", ""), "sip:old@carrier.example");
  EXPECT_EQ(with_user("sip:carrier.example", ""), "sip:carrier.example");
}

TEST(SipUser, Validation) {
  std::string error;
  for (std::string_view ok :
       {"alice", "+15551234567", "a-b_c.d!e~f*g'h(i)j", "&=+$,;?/", "%41%7e"}) {
    EXPECT_TRUE(is_valid_sip_user(ok, &error)) << ok << ": " << error;
  }
  EXPECT_FALSE(is_valid_sip_user("", &error));
  EXPECT_EQ(error, "empty user");
  EXPECT_FALSE(is_valid_sip_user("a b", &error));
  EXPECT_EQ(error, "invalid user \"a b\" (byte \" \" at offset 1)");
  EXPECT_FALSE(is_valid_sip_user("a@b", &error));
  EXPECT_EQ(error, "invalid user \"a@b\" (character '@')");
  EXPECT_FALSE(is_valid_sip_user("a:b", &error));
  EXPECT_FALSE(is_valid_sip_user("%4", &error));
  EXPECT_EQ(error, "invalid user \"%4\" (invalid %-escape)");
  EXPECT_FALSE(is_valid_sip_user("a\r\nVia", &error));
  EXPECT_EQ(error, "invalid user \"a\\x0d\\x0aVia\" (byte \"\\x0d\" at offset 1)");
  EXPECT_TRUE(is_valid_sip_user("a", nullptr));
  EXPECT_FALSE(is_valid_sip_user("", nullptr));
}

}  // namespace
}  // namespace stx
