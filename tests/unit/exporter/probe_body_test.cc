// What /probe says about one probe beyond success, duration and code: why it failed, RTT,
// transmissions, the address probed and its IP protocol, DNS time and the TLS handshake.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "exporter/probe_endpoint.h"
#include "tests/unit/exporter/probe_results.h"

namespace stx {
namespace {

using std::chrono::milliseconds;
using test::answered;

// The sample lines (no # lines) of a body.
std::vector<std::string> samples(const std::string& body) {
  std::vector<std::string> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("#")) out.push_back(line);
  }
  return out;
}

// The sample lines of `body` whose series is `name` (with or without labels).
std::vector<std::string> series_of(const std::string& body, const std::string& name) {
  std::vector<std::string> out;
  for (const std::string& line : samples(body)) {
    if (line.starts_with(name + " ") || line.starts_with(name + "{")) out.push_back(line);
  }
  return out;
}

Destination dest(const char* ip, unsigned short port, Transport t) {
  Destination d;
  d.address = boost::asio::ip::make_address(ip);
  d.port = port;
  d.transport = t;
  return d;
}

TEST(ProbeBody, AnsweredUdpProbeOfAnIpLiteral) {
  ProbeResult r = answered(200, milliseconds(20), "x");
  r.transmissions = 2;
  r.destination = dest("192.0.2.7", 5060, Transport::udp);
  const std::string body = probe_metrics_text(r);
  EXPECT_EQ(series_of(body, "sip_probe_round_trip_seconds"),
            std::vector<std::string>{"sip_probe_round_trip_seconds 0.02"});
  EXPECT_EQ(series_of(body, "sip_probe_transmissions"),
            std::vector<std::string>{"sip_probe_transmissions 2"});
  EXPECT_EQ(series_of(body, "sip_probe_address_info"),
            std::vector<std::string>{
                R"(sip_probe_address_info{address="192.0.2.7:5060",transport="udp"} 1)"});
  EXPECT_EQ(series_of(body, "sip_probe_ip_protocol"),
            std::vector<std::string>{"sip_probe_ip_protocol 4"});
  EXPECT_EQ(series_of(body, "sip_probe_dns_lookup_time_seconds"),
            std::vector<std::string>{"sip_probe_dns_lookup_time_seconds 0"});
  EXPECT_TRUE(series_of(body, "sip_probe_failure_info").empty()) << body;
  EXPECT_TRUE(series_of(body, "sip_probe_tls_version_info").empty()) << body;
  EXPECT_TRUE(series_of(body, "sip_probe_ssl_earliest_cert_expiry").empty()) << body;
}

TEST(ProbeBody, TimeoutSaysWhyAndHasNoRtt) {
  ProbeResult r;
  r.reason = FailureReason::timeout;
  r.duration = milliseconds(2000);
  r.transmissions = 4;
  r.destination = dest("2001:db8::5", 5060, Transport::udp);
  const std::string body = probe_metrics_text(r);
  EXPECT_EQ(series_of(body, "sip_probe_failure_info"),
            std::vector<std::string>{R"(sip_probe_failure_info{reason="timeout"} 1)"});
  EXPECT_EQ(series_of(body, "sip_probe_round_trip_seconds"),
            std::vector<std::string>{"sip_probe_round_trip_seconds 0"});
  EXPECT_EQ(series_of(body, "sip_probe_ip_protocol"),
            std::vector<std::string>{"sip_probe_ip_protocol 6"});
  EXPECT_EQ(series_of(body, "sip_probe_address_info"),
            std::vector<std::string>{
                R"(sip_probe_address_info{address="[2001:db8::5]:5060",transport="udp"} 1)"});
}

TEST(ProbeBody, AnUnhealthyCodeIsTheReasonStatusCode) {
  const std::string body = probe_metrics_text(answered(503, milliseconds(30), ""));
  EXPECT_EQ(series_of(body, "sip_probe_failure_info"),
            std::vector<std::string>{R"(sip_probe_failure_info{reason="status_code"} 1)"});
  EXPECT_EQ(series_of(body, "sip_probe_round_trip_seconds"),
            std::vector<std::string>{"sip_probe_round_trip_seconds 0.03"});
}

TEST(ProbeBody, DnsFailureHasNoAddressButItsLookupTime) {
  ProbeResult r;
  r.reason = FailureReason::dns_error;
  r.duration = milliseconds(300);
  r.dns_lookup = milliseconds(300);
  const std::string body = probe_metrics_text(r);
  EXPECT_EQ(series_of(body, "sip_probe_failure_info"),
            std::vector<std::string>{R"(sip_probe_failure_info{reason="dns_error"} 1)"});
  EXPECT_TRUE(series_of(body, "sip_probe_address_info").empty()) << body;
  EXPECT_EQ(series_of(body, "sip_probe_ip_protocol"),
            std::vector<std::string>{"sip_probe_ip_protocol 0"});
  EXPECT_EQ(series_of(body, "sip_probe_dns_lookup_time_seconds"),
            std::vector<std::string>{"sip_probe_dns_lookup_time_seconds 0.3"});
  EXPECT_EQ(series_of(body, "sip_probe_transmissions"),
            std::vector<std::string>{"sip_probe_transmissions 0"});
}

TEST(ProbeBody, TlsProbeShowsVersionCipherAndEarliestExpiry) {
  ProbeResult r = answered(200, milliseconds(8), "");
  r.destination = dest("192.0.2.9", 5061, Transport::tls);
  TlsPeerInfo tls;
  tls.version = "TLSv1.3";
  tls.cipher = "TLS_AES_128_GCM_SHA256";
  tls.cert_expiry = 1900000000;
  r.tls = &tls;
  const std::string body = probe_metrics_text(r);
  EXPECT_EQ(series_of(body, "sip_probe_tls_version_info"),
            std::vector<std::string>{R"(sip_probe_tls_version_info{version="TLSv1.3"} 1)"});
  EXPECT_EQ(
      series_of(body, "sip_probe_tls_cipher_info"),
      std::vector<std::string>{R"(sip_probe_tls_cipher_info{cipher="TLS_AES_128_GCM_SHA256"} 1)"});
  EXPECT_EQ(series_of(body, "sip_probe_ssl_earliest_cert_expiry"),
            std::vector<std::string>{"sip_probe_ssl_earliest_cert_expiry 1900000000"});
  EXPECT_EQ(series_of(body, "sip_probe_address_info"),
            std::vector<std::string>{
                R"(sip_probe_address_info{address="192.0.2.9:5061",transport="tls"} 1)"});
}

TEST(ProbeBody, FailedVerificationStillShowsTheExpiry) {
  ProbeResult r;
  r.reason = FailureReason::tls;
  r.destination = dest("192.0.2.9", 5061, Transport::tls);
  TlsPeerInfo tls;
  tls.cert_expiry = 1700000000;
  tls.verify_error = "certificate has expired";
  r.tls = &tls;
  const std::string body = probe_metrics_text(r);
  EXPECT_EQ(series_of(body, "sip_probe_failure_info"),
            std::vector<std::string>{R"(sip_probe_failure_info{reason="tls"} 1)"});
  EXPECT_EQ(series_of(body, "sip_probe_ssl_earliest_cert_expiry"),
            std::vector<std::string>{"sip_probe_ssl_earliest_cert_expiry 1700000000"});
  EXPECT_TRUE(series_of(body, "sip_probe_tls_version_info").empty()) << body;
}

TEST(ProbeBody, DebugTextNamesTheAddressAndDnsTime) {
  ProbeResult r = answered(200, milliseconds(8), "");
  r.destination = dest("192.0.2.9", 5061, Transport::tls);
  r.dns_lookup = milliseconds(15);
  TlsPeerInfo tls;
  tls.version = "TLSv1.2";
  tls.cipher = "ECDHE-RSA-AES128-GCM-SHA256";
  r.tls = &tls;
  ProbeRequest req;
  req.module = "default";
  TargetConfig target;
  target.uri = "sips:pbx.example.net";
  const std::string text = probe_debug_text(req, target, r);
  EXPECT_NE(text.find("Address: 192.0.2.9:5061 (tls)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("DNS lookup: 0.015000s\n"), std::string::npos) << text;
  EXPECT_NE(text.find("TLS: TLSv1.2, ECDHE-RSA-AES128-GCM-SHA256\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace stx
