// The exporter binary against a loopback DNS server (dnsmasq) and real Kamailio listeners on
// UDP, TCP and TLS over IPv4 and IPv6: RFC 3263 location, per-address health, certificates,
// identity headers, digest auth, keepalives, and every failure reason caused for real.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>

#include <string>

#include "certs.h"
#include "dns_server.h"
#include "harness.h"
#include "stream_peer.h"
#include "transport_peers.h"

namespace stx::it {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string port_of(std::uint16_t p) { return std::to_string(p); }

TargetSpec spec(std::string name, std::string uri,
                std::vector<std::pair<std::string, std::string>> overrides = {}) {
  TargetSpec t;
  t.name = std::move(name);
  t.uri = std::move(uri);
  t.overrides = std::move(overrides);
  return t;
}

// Every target has finished at least one probe.
bool all_probed(const Exposition& e, const std::vector<TargetSpec>& targets) {
  for (const TargetSpec& t : targets) {
    if (e.sum("sip_probes_total", {{"target", t.name}}) < 1) return false;
  }
  return true;
}

double failures(const Exposition& e, const std::string& target, const std::string& reason) {
  return e.sum("sip_probe_failures_total", {{"target", target}, {"reason", reason}});
}

class Transports : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_ = std::make_unique<TestCertificates>();
    kamailio_ = std::make_unique<KamailioTransports>(dir_.path(), *certs_);
    sipp_ = std::make_unique<SippPeer>(dir_.path(), "options_200.xml");
  }

  // The zone: a UDP trunk with three SRV edges (two alive, one closed), a TLS service
  // found by SRV, a TCP service found by NAPTR, and a name that does not exist.
  DnsZone zone(std::uint16_t dead_udp) const {
    const TransportPorts& p = kamailio_->ports();
    DnsZone z;
    z.ttl = 60;
    z.hosts = {{"v4.example.test", "127.0.0.1", "", std::nullopt}};
    z.srv = {{"_sip._udp.trunk.example.test", "v4.example.test", p.udp4, 10, 0},
             {"_sip._udp.trunk.example.test", "v4.example.test", sipp_->port(), 20, 0},
             {"_sip._udp.trunk.example.test", "v4.example.test", dead_udp, 30, 0},
             {"_sips._tcp.sip.example.test", "v4.example.test", p.tls4, 10, 0},
             {"_sip._tcp.naptr.example.test", "v4.example.test", p.tcp4, 10, 0}};
    z.naptr = {{"naptr.example.test", 10, 10, "s", "SIP+D2T", "", "_sip._tcp.naptr.example.test"}};
    return z;
  }

  TempDir dir_{"stx-transports"};
  std::unique_ptr<TestCertificates> certs_;
  std::unique_ptr<KamailioTransports> kamailio_;
  std::unique_ptr<SippPeer> sipp_;
};

TEST_F(Transports, MixedConfigProbesEveryAddressAndCausesEveryFailureReason) {
  const TransportPorts& p = kamailio_->ports();
  UdpSocket silent;                                     // never answers: timeout
  const std::uint16_t dead_udp = free_udp_port();       // nothing bound: ICMP refused
  const std::uint16_t dead_tcp = free_tcp_port();       // nothing listening: connect
  UdpSocket busy;                                       // its port cannot be our source: send_error
  StreamPeer cutter(StreamScript::close_mid_response);  // closes mid-answer: reset
  DnsServer dns(dir_.path(), zone(dead_udp));
  ASSERT_EQ(setenv("STX_TEST_AUTH_PASSWORD", "s3cret", 1), 0);

  const std::string ca = toml_string(certs_->ca().cert().string());
  ExporterConfigSpec cfg;
  cfg.interval = "1s";
  cfg.timeout = "800ms";
  cfg.failures_before_down = 1;
  cfg.extra_toml = "\n[exporter]\ndns_servers = [" + toml_string(dns.server()) + "]\n";
  cfg.targets = {
      spec("srv-udp", "sip:trunk.example.test"),
      spec("naptr-tcp", "sip:naptr.example.test"),
      spec("srv-tls", "sips:sip.example.test", {{"tls_ca_file", ca}}),
      spec("v6-udp", "sip:[::1]:" + port_of(p.udp6)),
      spec("v6-tls", "sips:[::1]:" + port_of(p.tls6), {{"tls_ca_file", ca}}),
      spec("tcp-keepalive", "sip:127.0.0.1:" + port_of(p.tcp4) + ";transport=tcp",
           {{"keepalive_interval", "\"5s\""}}),
      spec("auth", "sip:auth@127.0.0.1:" + port_of(p.udp4),
           {{"auth_user", "\"probe\""}, {"auth_password_env", "\"STX_TEST_AUTH_PASSWORD\""}}),
      spec("teams", "sip:teams@127.0.0.1:" + port_of(p.tls4) + ";transport=tls",
           {{"tls_ca_file", ca}, {"contact", "\"sip:sbc.example.test:5061;transport=tls\""}}),
      spec("xhdr", "sip:xhdr@127.0.0.1:" + port_of(p.udp4), {{"headers", "{ X-Probe = \"1\" }"}}),
      spec("mutual", "sips:127.0.0.1:" + port_of(p.tls_mutual),
           {{"tls_ca_file", ca},
            {"tls_cert_file", toml_string(certs_->client.cert.string())},
            {"tls_key_file", toml_string(certs_->client.key.string())}}),
      // Each of these fails, for its own reason.
      spec("timeout", "sip:127.0.0.1:" + port_of(silent.port())),
      spec("refused", "sip:127.0.0.1:" + port_of(dead_udp)),
      spec("send-error", "sip:127.0.0.1:" + port_of(p.udp4),
           {{"source_address", "\"127.0.0.1\""}, {"source_port", port_of(busy.port())}}),
      spec("dns-missing", "sip:missing.example.test"),
      spec("connect", "sip:127.0.0.1:" + port_of(dead_tcp) + ";transport=tcp"),
      spec("reset", "sip:127.0.0.1:" + port_of(cutter.port()) + ";transport=tcp"),
      spec("tls-expired", "sips:127.0.0.1:" + port_of(p.tls_expired), {{"tls_ca_file", ca}}),
      spec("tls-wrong-name", "sips:127.0.0.1:" + port_of(p.tls_wrong_name), {{"tls_ca_file", ca}}),
      spec("tls-no-client-cert", "sips:127.0.0.1:" + port_of(p.tls_mutual), {{"tls_ca_file", ca}}),
  };
  Exporter exporter(dir_.path(), cfg);
  const Scraped s = exporter.scrape_until(20s, [&](const Exposition& e) {
    return all_probed(e, cfg.targets) &&
           e.sum("sip_keepalives_total", {{"target", "tcp-keepalive"}, {"result", "success"}}) >= 1;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("sip_probes_total") << s.last.grep("sip_keepalives_total");
  const Exposition& e = s.last;

  for (const char* up : {"srv-udp", "naptr-tcp", "srv-tls", "v6-udp", "v6-tls", "tcp-keepalive",
                         "auth", "teams", "xhdr", "mutual"}) {
    EXPECT_EQ(e.value("sip_target_up", {{"target", up}}), 1.0)
        << up << "\n"
        << e.grep("\"" + std::string(up) + "\"");
  }

  // The SRV trunk: three edges in priority order, each with its own health.
  const std::string edge1 = "127.0.0.1:" + port_of(p.udp4);
  const std::string edge2 = "127.0.0.1:" + port_of(sipp_->port());
  const std::string edge3 = "127.0.0.1:" + port_of(dead_udp);
  EXPECT_EQ(e.find("sip_address_up", {{"target", "srv-udp"}}).size(), 3u);
  EXPECT_EQ(
      e.value("sip_address_up", {{"target", "srv-udp"}, {"address", edge1}, {"transport", "udp"}}),
      1.0);
  EXPECT_EQ(e.value("sip_address_up", {{"target", "srv-udp"}, {"address", edge2}}), 1.0);
  EXPECT_EQ(e.value("sip_address_up", {{"target", "srv-udp"}, {"address", edge3}}), 0.0);
  EXPECT_GT(*e.value("sip_address_last_rtt_seconds", {{"target", "srv-udp"}, {"address", edge1}}),
            0);
  EXPECT_EQ(e.value("sip_target_info", {{"target", "srv-udp"}, {"transport", "auto"}}), 1.0);

  // NAPTR chose TCP; SRV chose TLS; literals keep their transport and family.
  EXPECT_EQ(e.value("sip_address_up", {{"target", "naptr-tcp"},
                                       {"address", "127.0.0.1:" + port_of(p.tcp4)},
                                       {"transport", "tcp"}}),
            1.0);
  EXPECT_EQ(e.value("sip_address_up", {{"target", "srv-tls"},
                                       {"address", "127.0.0.1:" + port_of(p.tls4)},
                                       {"transport", "tls"}}),
            1.0);
  EXPECT_EQ(
      e.value("sip_address_up", {{"target", "v6-udp"}, {"address", "[::1]:" + port_of(p.udp6)}}),
      1.0);

  // Certificates: the expiry is the one the test's certificate carries, also when the
  // handshake failed because of it.
  EXPECT_EQ(e.value("sip_tls_cert_expiry_timestamp_seconds", {{"target", "srv-tls"}}),
            static_cast<double>(certs_->server.not_after));
  EXPECT_EQ(e.value("sip_tls_cert_expiry_timestamp_seconds", {{"target", "v6-tls"}}),
            static_cast<double>(certs_->server.not_after));
  EXPECT_EQ(e.value("sip_tls_cert_expiry_timestamp_seconds", {{"target", "tls-expired"}}),
            static_cast<double>(certs_->expired.not_after));
  const auto info = e.find("sip_tls_info", {{"target", "srv-tls"}});
  ASSERT_EQ(info.size(), 1u) << e.grep("sip_tls_info");
  EXPECT_EQ(info[0].labels.at("version").rfind("TLSv1.", 0), 0u);
  EXPECT_FALSE(info[0].labels.at("cipher").empty());

  // Every failure reason, each caused by its own peer.
  const std::vector<std::pair<std::string, std::string>> reasons = {
      {"timeout", "timeout"},       {"refused", "refused"},    {"send-error", "send_error"},
      {"dns-missing", "dns_error"}, {"connect", "connect"},    {"reset", "reset"},
      {"tls-expired", "tls"},       {"tls-wrong-name", "tls"}, {"tls-no-client-cert", "tls"}};
  for (const auto& [target, reason] : reasons) {
    EXPECT_GE(failures(e, target, reason), 1) << target << "\n" << e.grep("\"" + target + "\"");
    EXPECT_EQ(e.value("sip_target_up", {{"target", target}}), 0.0) << target;
  }
  // A name that never resolved has no address series.
  EXPECT_TRUE(e.find("sip_address_up", {{"target", "dns-missing"}}).empty());

  // The password never leaves the process.
  EXPECT_EQ(e.text().find("s3cret"), std::string::npos);
  EXPECT_EQ(exporter.process().stderr_text().find("s3cret"), std::string::npos);
  const std::string page = exporter.get("/target?name=auth").body;
  EXPECT_EQ(page.find("s3cret"), std::string::npos);
  // Nor does the digest response, which would allow guessing it offline.
  EXPECT_NE(page.find("Authorization: Digest &lt;credentials hidden&gt;"), std::string::npos);
  EXPECT_EQ(page.find("response="), std::string::npos);
  unsetenv("STX_TEST_AUTH_PASSWORD");
}

// RFC 3261 8.1.1.8: a request whose Request-URI is SIPS carries a SIPS Contact (without the
// deprecated ;transport=tls, RFC 5630); a sip: URI over TLS keeps sip: and ;transport=tls.
TEST_F(Transports, SipsTargetsSendASipsContact) {
  const TransportPorts& p = kamailio_->ports();
  ExporterConfigSpec cfg;
  cfg.targets = {spec("sips-target", "sips:127.0.0.1:" + port_of(p.tls4),
                      {{"tls_ca_file", toml_string(certs_->ca().cert().string())}})};
  cfg.extra_toml = "\n[module.tls]\ntls_ca_file = " + toml_string(certs_->ca().cert().string()) +
                   "\ntimeout = \"2s\"\n";
  Exporter exporter(dir_.path(), cfg);
  auto contact_of = [&](const std::string& uri) {
    std::string encoded;
    for (char c : uri)
      encoded += c == ':' ? std::string("%3A") : c == ';' ? "%3B" : std::string(1, c);
    const HttpResponse r = exporter.get("/probe?module=tls&debug=true&target=" + encoded);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_THAT(r.body, HasSubstr("SIP/2.0 200")) << r.body;
    // The request as sent, between the debug output's section markers.
    const auto begin = r.body.find("--- request ---\n");
    const auto end = r.body.find("--- response ---");
    if (begin == std::string::npos || end == std::string::npos) return std::string("(none)");
    const auto contact = sip_header(r.body.substr(begin + 16, end - begin - 16), "Contact");
    return contact.value_or("(none)");
  };
  const std::string sips = contact_of("sips:127.0.0.1:" + port_of(p.tls4));
  EXPECT_THAT(sips, StartsWith("<sips:"));
  EXPECT_THAT(sips, Not(HasSubstr("transport=")));
  const std::string sip_tls = contact_of("sip:127.0.0.1:" + port_of(p.tls4) + ";transport=tls");
  EXPECT_THAT(sip_tls, StartsWith("<sip:"));
  EXPECT_THAT(sip_tls, HasSubstr(";transport=tls"));
}

// /probe of a TLS trunk found by SRV: the handshake's version and cipher, the chain's
// earliest expiry (the leaf's: the CA lives longer), the address and the DNS time.
TEST_F(Transports, ProbeEndpointReportsTheTlsHandshakeAddressAndDnsTime) {
  DnsServer dns(dir_.path(), zone(free_udp_port()));
  ExporterConfigSpec cfg;
  cfg.extra_toml = "\n[exporter]\nallow_no_targets = true\ndns_servers = [" +
                   toml_string(dns.server()) +
                   "]\n\n[module.tls]\ntls_ca_file = " + toml_string(certs_->ca().cert().string()) +
                   "\ntimeout = \"2s\"\n";
  Exporter exporter(dir_.path(), cfg);
  const std::string tls_address = "127.0.0.1:" + port_of(kamailio_->ports().tls4);

  const HttpResponse r = exporter.get("/probe?module=tls&target=sips%3Asip.example.test");
  ASSERT_EQ(r.status, 200) << r.body;
  const Exposition e = Exposition::parse(r.body);
  EXPECT_EQ(e.value("sip_probe_success"), 1.0) << r.body;
  EXPECT_EQ(e.value("sip_probe_address_info", {{"address", tls_address}, {"transport", "tls"}}),
            1.0)
      << r.body;
  EXPECT_EQ(e.value("sip_probe_ip_protocol"), 4.0);
  const auto dns_time = e.value("sip_probe_dns_lookup_time_seconds");
  ASSERT_TRUE(dns_time) << r.body;
  EXPECT_GT(*dns_time, 0.0) << "SRV and A lookups take some time";
  EXPECT_LE(*dns_time, *e.value("sip_probe_duration_seconds"));
  const std::vector<Sample> version = e.find("sip_probe_tls_version_info");
  ASSERT_EQ(version.size(), 1u) << r.body;
  EXPECT_THAT(version[0].labels.at("version"), StartsWith("TLSv1."));
  const std::vector<Sample> cipher = e.find("sip_probe_tls_cipher_info");
  ASSERT_EQ(cipher.size(), 1u) << r.body;
  EXPECT_FALSE(cipher[0].labels.at("cipher").empty());
  EXPECT_EQ(e.value("sip_probe_ssl_earliest_cert_expiry"),
            static_cast<double>(certs_->server.not_after));
  const CheckResult lint = promtool_check_metrics(r.body, dir_.path());
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  EXPECT_EQ(lint.output, "");

  // The same peer by its IP literal: no lookup.
  const HttpResponse literal = exporter.get("/probe?module=tls&target=sips%3A127.0.0.1%3A" +
                                            port_of(kamailio_->ports().tls4));
  ASSERT_EQ(literal.status, 200) << literal.body;
  const Exposition l = Exposition::parse(literal.body);
  EXPECT_EQ(l.value("sip_probe_success"), 1.0) << literal.body;
  EXPECT_EQ(l.value("sip_probe_dns_lookup_time_seconds"), 0.0);
  EXPECT_EQ(l.find("sip_probe_tls_version_info").size(), 1u) << literal.body;
}

TEST_F(Transports, DnsAnswersAreKeptForTheirTtlPlusGraceThenDropped) {
  DnsZone z = zone(free_udp_port());
  z.ttl = 1;
  DnsServer dns(dir_.path(), z);
  ExporterConfigSpec cfg;
  cfg.failures_before_down = 1;
  cfg.extra_toml = "\n[exporter]\ndns_servers = [" + toml_string(dns.server()) +
                   "]\ndns_min_ttl = \"1s\"\ndns_grace = \"3s\"\n";
  cfg.targets = {spec("srv", "sip:trunk.example.test", {{"probe", "\"first\""}})};
  Exporter exporter(dir_.path(), cfg);
  const std::string edge1 = "127.0.0.1:" + port_of(kamailio_->ports().udp4);
  ASSERT_TRUE(exporter
                  .scrape_until(10s,
                                [&](const Exposition& e) {
                                  return e.value("sip_address_up", {{"address", edge1}}) == 1.0;
                                })
                  .ok);
  // probe = "first": only the highest-priority edge.
  EXPECT_EQ(exporter.scrape().find("sip_address_up", {{"target", "srv"}}).size(), 1u);

  dns.stop();
  const auto stopped = Clock::now();
  // Within TTL + grace the last answer keeps the trunk probed and up...
  const Scraped dropped = exporter.scrape_until(20s, [&](const Exposition& e) {
    if (Clock::now() - stopped < 3s) {
      EXPECT_EQ(e.value("sip_target_up", {{"target", "srv"}}), 1.0);
    }
    return e.find("sip_address_up", {{"target", "srv"}}).empty();
  });
  // ...then its addresses are dropped and the probe fails as dns_error.
  ASSERT_TRUE(dropped.ok) << dropped.last.grep("\"srv\"");
  EXPECT_GE(Clock::now() - stopped, 3s);
  ASSERT_TRUE(exporter
                  .scrape_until(5s,
                                [&](const Exposition& e) {
                                  return failures(e, "srv", "dns_error") >= 1 &&
                                         e.value("sip_target_up", {{"target", "srv"}}) == 0.0;
                                })
                  .ok);
  EXPECT_FALSE(log_lines_with_msg(exporter.process().stderr_text(),
                                  "DNS refresh failed; keeping the previous answer")
                   .empty());

  // The server comes back: the name resolves again and the address is probed again.
  dns.restart();
  ASSERT_TRUE(exporter
                  .scrape_until(15s,
                                [&](const Exposition& e) {
                                  return e.value("sip_address_up", {{"address", edge1}}) == 1.0 &&
                                         e.value("sip_target_up", {{"target", "srv"}}) == 1.0;
                                })
                  .ok);
}

TEST_F(Transports, AddressesThatLeaveTheAnswerLoseTheirSeries) {
  const std::uint16_t dead_udp = free_udp_port();
  DnsZone three = zone(dead_udp);
  three.ttl = 1;
  DnsZone one = three;  // only the first edge is left
  one.srv.erase(std::remove_if(one.srv.begin(), one.srv.end(),
                               [&](const DnsSrvRecord& r) {
                                 return r.name == "_sip._udp.trunk.example.test" &&
                                        r.port != kamailio_->ports().udp4;
                               }),
                one.srv.end());
  DnsServer before(dir_.path(), three, "dnsmasq-before");
  DnsServer after(dir_.path(), one, "dnsmasq-after");
  ExporterConfigSpec cfg;
  cfg.failures_before_down = 1;
  const auto dns_toml = [](const DnsServer& d) {
    return "\n[exporter]\ndns_servers = [" + toml_string(d.server()) + "]\ndns_min_ttl = \"1s\"\n";
  };
  cfg.extra_toml = dns_toml(before);
  cfg.targets = {spec("srv", "sip:trunk.example.test")};
  Exporter exporter(dir_.path(), cfg);
  ASSERT_TRUE(exporter
                  .scrape_until(10s,
                                [&](const Exposition& e) {
                                  return e.find("sip_address_up", {{"target", "srv"}}).size() ==
                                             3 &&
                                         e.value("sip_target_up", {{"target", "srv"}}) == 1.0;
                                })
                  .ok);
  // The carrier withdraws two edges: a reload points the exporter at the new answer.
  cfg.extra_toml = dns_toml(after);
  write_file(exporter.config_path(), render_config(cfg));
  exporter.process().signal(SIGHUP);
  const Scraped s = exporter.scrape_until(10s, [&](const Exposition& e) {
    return e.find("sip_address_up", {{"target", "srv"}}).size() == 1;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("sip_address_up");
  EXPECT_EQ(s.last.value("sip_address_up",
                         {{"address", "127.0.0.1:" + port_of(kamailio_->ports().udp4)}}),
            1.0);
  EXPECT_TRUE(
      s.last.find("sip_address_last_rtt_seconds", {{"address", "127.0.0.1:" + port_of(dead_udp)}})
          .empty());
  // The target itself was kept: same series, still up, no state change.
  EXPECT_EQ(s.last.value("sip_target_up", {{"target", "srv"}}), 1.0);
  EXPECT_EQ(s.last.value("sip_target_state_changes_total", {{"target", "srv"}}), 0.0);
}

}  // namespace
}  // namespace stx::it
