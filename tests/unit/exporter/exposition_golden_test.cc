// /metrics and /probe bodies for a fixed scene, compared byte for byte with files in
// tests/data/exposition: family names, HELP, TYPE, label names and their order and the order
// of series are a public contract (dashboards, rules and users' queries read them).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "exporter/metrics.h"
#include "exporter/probe_endpoint.h"
#include "tests/unit/exporter/probe_results.h"
#include "version.h"

namespace stx {
namespace {

using std::chrono::milliseconds;
using test::answered;

std::string golden(const std::string& name) {

  std::ifstream in(STX_SOURCE_DIR "/tests/data/exposition/" + name);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The build's version and revision where the file says @VERSION@ and @REVISION@.
std::string with_build(std::string text) {
  for (const auto& [mark, value] : {std::pair{"@VERSION@", kVersion}, {"@REVISION@", kRevision}}) {
    const auto at = text.find(mark);
    if (at != std::string::npos) text.replace(at, std::string_view(mark).size(), value);
  }
  return text;
}

// The body with the value of every process_* sample replaced by @VALUE@: they are this
// test process's own, read from /proc (process_metrics_test compares them with /proc).
std::string with_process_values_masked(const std::string& body) {
  std::istringstream in(body);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("process_")) line = line.substr(0, line.rfind(' ') + 1) + "@VALUE@";
    out += line + "\n";
  }
  return out;
}

ProbeResult failed(FailureReason why) {
  ProbeResult r;
  r.reason = why;
  r.duration = milliseconds(2000);
  return r;
}

Destination address(const char* ip, unsigned short port, Transport t) {
  Destination d;
  d.address = boost::asio::ip::make_address(ip);
  d.port = port;
  d.transport = t;
  return d;
}

// Three targets (static labels, a literal and a DNS name), an answer, a failure, an RTT
// histogram, addresses with TLS and keepalives, and every exporter-wide family.
std::unique_ptr<Metrics> scene_metrics() {
  const Config config = parse_config(R"(
[exporter]
rtt_buckets = [0.01, 0.1, 1]
[[target]]
name = "a"
uri = "sip:192.0.2.1:5060"
labels = { carrier = "acme", site = "ny\"c" }
[[target]]
name = "b"
uri = "sip:192.0.2.2"
[[target]]
name = "c"
uri = "sip:pbx.example.net"
[[target]]
name = "d"
uri = "sip:registrar.example.net:5060"
method = "register"
[[target]]
name = "e"
uri = "sip:sbc.example.net:5060"
method = "invite"
ruri_user = "echo"
)",
                                     "golden.toml");
  auto metrics = std::make_unique<Metrics>(config);
  Metrics& m = *metrics;
  for (std::size_t i = 0; i < config.targets.size(); ++i) m.add_target(i, config.targets[i]);
  TargetState a;
  TargetState b;
  m.probe_started();
  m.probe_finished(0, answered(200, milliseconds(20), "Kamailio 5.6"), a.record(true, 1, 1), a,
                   1700000000.5);
  m.probe_started();
  m.probe_finished(1, answered(503, milliseconds(250), ""), b.record(false, 1, 1), b, 1700000001);
  m.probe_started();
  m.probe_finished(1, failed(FailureReason::timeout), b.record(false, 1, 1), b, 1700000002);
  TargetState c;  // alive and refusing: degraded, with the pause it asked for
  ProbeResult busy = answered(503, milliseconds(30), "SBC");
  busy.degraded = true;
  busy.retry_after = 30;
  m.probe_started();
  m.probe_finished(2, busy, c.record(Verdict::degraded, 1, 1), c, 1700000003);
  TargetState d;  // a REGISTER fetch: one binding, then a refused password
  ProbeResult bound = answered(200, milliseconds(15), "Kamailio 5.6");
  bound.contacts = 1;
  m.probe_started();
  m.probe_finished(3, bound, d.record(true, 1, 1), d, 1700000004);
  ProbeResult refused = answered(401, milliseconds(12), "Kamailio 5.6");
  refused.reason = FailureReason::auth;
  m.probe_started();
  m.probe_finished(3, refused, d.record(false, 1, 1), d, 1700000005);
  TargetState e;  // a test call that rang after 1.2 s and was cancelled
  ProbeResult rang = answered(487, milliseconds(8), "SBC");
  rang.success = true;
  rang.post_dial_delay = milliseconds(1200);
  m.probe_started();
  m.probe_finished(4, rang, e.record(true, 1, 1), e, 1700000006);
  m.probe_started();  // one still in flight
  m.schedule_lateness(std::chrono::microseconds(80));
  m.schedule_lateness(std::chrono::milliseconds(3));
  m.unmatched_response();
  m.invalid_message("bad_via");
  m.invalid_message("too_large");
  m.invalid_message("bad_via");
  m.config_reloaded(true, 1700000000);
  m.add_address(0, 0, address("192.0.2.1", 5061, Transport::tls));
  m.add_address(2, 1, address("2001:db8::1", 5060, Transport::udp));
  m.address_finished(0, answered(200, milliseconds(5), ""), a);
  m.address_finished(1, busy, c);
  m.address_paused(1, 1700000033);
  TlsPeerInfo tls;
  tls.version = "TLSv1.3";
  tls.cipher = "TLS_AES_256_GCM_SHA384";
  tls.cert_expiry = 1800000000;
  m.tls_peer(0, tls);
  m.keepalive_finished(0, true);
  m.keepalive_finished(0, false);
  return metrics;
}

std::string scene() { return scene_metrics()->serialize(); }

TEST(ExpositionGolden, MetricsBodyIsUnchanged) {
  EXPECT_EQ(with_process_values_masked(scene()), with_build(golden("metrics.txt")));
}

// The streamed scrape: the same bytes however small its pieces, each piece but the last at
// least the size asked for.
TEST(ExpositionGolden, StreamedBodyIsUnchangedAtAnyPieceSize) {
  const auto m = scene_metrics();
  for (const std::size_t chunk :
       {std::size_t{1}, std::size_t{100}, std::size_t{4096}, kScrapeChunkBytes}) {
    const auto source = m->scrape(chunk);
    std::string body;
    std::vector<std::size_t> sizes;
    for (std::string_view piece = source->next(); !piece.empty(); piece = source->next()) {
      sizes.push_back(piece.size());
      body.append(piece);
    }
    EXPECT_TRUE(source->next().empty()) << "it stays at its end";
    EXPECT_EQ(with_process_values_masked(body), with_build(golden("metrics.txt"))) << chunk;
    ASSERT_FALSE(sizes.empty());
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_GE(sizes[i], chunk) << i;
    if (chunk == 1) {
      EXPECT_GT(sizes.size(), 20U) << "a piece per block of series";
    }
  }
}

// A fleet: pieces stay near the size asked for (a block of series more at most) while the
// whole text is many times that, so a scrape never holds the whole text.
TEST(ExpositionGolden, StreamedPiecesOfALargeFleetAreBounded) {
  std::string toml = "[exporter]\nrtt_buckets = [0.01, 0.1, 1]\n";
  for (int i = 0; i < 2000; ++i) {
    toml += "[[target]]\nname = \"t" + std::to_string(i) + "\"\nuri = \"sip:192.0.2." +
            std::to_string(i % 250 + 1) + ":" + std::to_string(5060 + i) + "\"\n";
  }
  const Config config = parse_config(toml, "fleet.toml");
  Metrics m(config);
  for (std::size_t i = 0; i < config.targets.size(); ++i) m.add_target(i, config.targets[i]);
  const std::string whole = m.serialize();
  constexpr std::size_t kChunk = 16 * 1024;
  const auto source = m.scrape(kChunk);
  std::string body;
  std::size_t largest = 0;
  for (std::string_view piece = source->next(); !piece.empty(); piece = source->next()) {
    largest = std::max(largest, piece.size());
    body.append(piece);
  }
  EXPECT_EQ(with_process_values_masked(body), with_process_values_masked(whole));
  EXPECT_GT(whole.size(), 40 * kChunk);
  // One block is 64 targets' lines of one family, here under 1 KiB a target (the failure
  // reasons' ten lines are the most).
  EXPECT_LT(largest, kChunk + 64 * 1024);
}

ProbeResult fetched(std::uint32_t contacts) {
  ProbeResult r = answered(200, milliseconds(15), "x");
  r.contacts = contacts;
  return r;
}

TEST(ExpositionGolden, ProbeBodyIsUnchanged) {
  // A TLS probe answered after a DNS lookup, and a UDP probe of an IPv6 literal that timed out.
  ProbeResult ok = answered(200, milliseconds(20), "x");
  ok.duration = milliseconds(45);
  ok.transmissions = 1;
  ok.destination = address("192.0.2.1", 5061, Transport::tls);
  ok.dns_lookup = milliseconds(12);
  TlsPeerInfo tls;
  tls.version = "TLSv1.3";
  tls.cipher = "TLS_AES_256_GCM_SHA384";
  tls.cert_expiry = 1800000000;
  ok.tls = &tls;
  ProbeResult lost = failed(FailureReason::timeout);
  lost.transmissions = 3;
  lost.destination = address("2001:db8::1", 5060, Transport::udp);
  // And a REGISTER fetch that found two bindings, and a test call that rang after 2.5 s.
  ProbeResult rang = answered(487, milliseconds(8), "x");
  rang.success = true;
  rang.post_dial_delay = milliseconds(2500);
  EXPECT_EQ(probe_metrics_text(ok) + probe_metrics_text(lost) + probe_metrics_text(fetched(2)) +
                probe_metrics_text(rang),
            golden("probe.txt"));
}

}  // namespace
}  // namespace stx
