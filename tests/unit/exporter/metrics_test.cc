#include "exporter/metrics.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

#include "config/config.h"
#include "tests/unit/exporter/probe_results.h"
#include "tests/unit/exporter/two_targets.h"

namespace stx {
namespace {

using std::chrono::milliseconds;
using test::answered;

using test::escaped_target_config;
using test::two_targets_config;
using test::TwoTargets;

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

// Target a's address 192.0.2.1:5061 over TLS, and a handshake with it.
Destination tls_address() {
  Destination d;
  d.address = boost::asio::ip::make_address("192.0.2.1");
  d.port = 5061;
  d.transport = Transport::tls;
  return d;
}

TlsPeerInfo tls13() {
  TlsPeerInfo info;
  info.version = "TLSv1.3";
  info.cipher = "TLS_AES_256_GCM_SHA384";
  info.cert_expiry = 1800000000;
  return info;
}

TEST(Metrics, SeriesExistBeforeAnyProbe) {
  TwoTargets fixture;
  Metrics& m = fixture.m;
  const std::string t = m.serialize();
  EXPECT_TRUE(has_line(t, "sip_target_up{carrier=\"acme\",target=\"a\"} 0"));
  EXPECT_TRUE(has_line(t, "sip_target_up{target=\"b\"} 0"));
  EXPECT_TRUE(has_line(t, "sip_probe_failures_total{reason=\"timeout\",target=\"b\"} 0"));
  EXPECT_TRUE(has_line(t, "sip_probe_failures_total{reason=\"dns_error\",target=\"b\"} 0"));
  EXPECT_TRUE(has_line(
      t, "sip_target_info{server=\"\",target=\"b\",transport=\"udp\",uri=\"sip:192.0.2.2\"} 1"));
  EXPECT_TRUE(has_line(t, "sip_exporter_probes_in_flight 0"));
  EXPECT_NE(t.find("sip_exporter_build_info{revision="), std::string::npos);
  EXPECT_NE(t.find("# TYPE sip_probe_rtt_seconds histogram"), std::string::npos);
  EXPECT_EQ(t.find("sip_probe_responses_total{"), std::string::npos) << "no code seen yet";
  // No RTT before a first answer: a 0 would read as "0 s" on the dashboards.
  EXPECT_EQ(t.find("sip_target_last_rtt_seconds"), std::string::npos) << t;
}

// A histogram cannot change its buckets in place: new buckets only once every target's
// series are gone (a reload removes them all first), and the targets added after use them.
TEST(Metrics, RttBucketsChangeOnlyWhileThereAreNoTargets) {
  TwoTargets fixture;
  Metrics& m = fixture.m;
  EXPECT_THROW(m.set_rtt_buckets({0.1, 1}), std::logic_error);
  m.remove_target(0, false);
  EXPECT_THROW(m.set_rtt_buckets({0.1, 1}), std::logic_error);
  m.remove_target(1, false);
  m.set_rtt_buckets({0.1, 1});
  m.add_target(0, fixture.config.targets[0]);
  fixture.answer(0, std::chrono::milliseconds(250));
  const std::string t = m.serialize();
  EXPECT_TRUE(
      has_line(t, "sip_probe_rtt_seconds_bucket{carrier=\"acme\",target=\"a\",le=\"0.1\"} 0"));
  EXPECT_TRUE(
      has_line(t, "sip_probe_rtt_seconds_bucket{carrier=\"acme\",target=\"a\",le=\"1\"} 1"));
  EXPECT_TRUE(
      has_line(t, "sip_probe_rtt_seconds_bucket{carrier=\"acme\",target=\"a\",le=\"+Inf\"} 1"));
  EXPECT_EQ(t.find("sip_probe_rtt_seconds_bucket{carrier=\"acme\",target=\"a\",le=\"0.025\""),
            std::string::npos)
      << "none of the old buckets";
}

TEST(Metrics, AnsweredProbe) {
  TwoTargets fixture;
  Metrics& m = fixture.m;
  TargetState s;
  const StateChange c = s.record(true, 3, 1);
  m.probe_started();
  m.probe_finished(0, answered(200, milliseconds(20), "Kamailio"), c, s, 1700000000.5);
  const std::string t = m.serialize();
  EXPECT_TRUE(has_line(t, "sip_target_up{carrier=\"acme\",target=\"a\"} 1"));
  EXPECT_TRUE(has_line(t, "sip_probes_total{carrier=\"acme\",result=\"success\",target=\"a\"} 1"));
  EXPECT_TRUE(
      has_line(t, "sip_probe_responses_total{carrier=\"acme\",code=\"200\",target=\"a\"} 1"));
  EXPECT_TRUE(has_line(t, "sip_target_last_status_code{carrier=\"acme\",target=\"a\"} 200"));
  EXPECT_TRUE(has_line(t, "sip_target_last_rtt_seconds{carrier=\"acme\",target=\"a\"} 0.02"));
  EXPECT_TRUE(
      has_line(t, "sip_probe_rtt_seconds_bucket{carrier=\"acme\",target=\"a\",le=\"0.025\"} 1"));
  EXPECT_TRUE(
      has_line(t, "sip_probe_rtt_seconds_bucket{carrier=\"acme\",target=\"a\",le=\"0.01\"} 0"));
  EXPECT_TRUE(has_line(t, "sip_target_state_changes_total{carrier=\"acme\",target=\"a\"} 0"));
  EXPECT_TRUE(has_line(
      t, "sip_target_last_change_timestamp_seconds{carrier=\"acme\",target=\"a\"} 1700000000.5"));
  EXPECT_TRUE(has_line(t,
                       "sip_target_info{carrier=\"acme\",server=\"Kamailio\",target=\"a\","
                       "transport=\"udp\",uri=\"sip:192.0.2.1:5060\"} 1"));
  EXPECT_EQ(t.find("server=\"\",target=\"a\""), std::string::npos) << "old info series removed";
  EXPECT_TRUE(has_line(t, "sip_exporter_probes_in_flight 0"));
}

TEST(Metrics, FailuresCodesAndTransitions) {
  TwoTargets fixture;
  Metrics& m = fixture.m;
  TargetState s;
  m.probe_finished(1, answered(200, milliseconds(1), ""), s.record(true, 1, 1), s, 1);
  m.probe_finished(1, answered(503, milliseconds(2), ""), s.record(false, 1, 1), s, 2);
  ProbeResult timeout;
  timeout.reason = FailureReason::timeout;
  m.probe_finished(1, timeout, s.record(false, 1, 1), s, 3);
  const std::string t = m.serialize();
  EXPECT_TRUE(has_line(t, "sip_target_up{target=\"b\"} 0"));
  EXPECT_TRUE(has_line(t, "sip_probes_total{result=\"failure\",target=\"b\"} 2"));
  EXPECT_TRUE(has_line(t, "sip_probe_responses_total{code=\"503\",target=\"b\"} 1"));
  EXPECT_TRUE(has_line(t, "sip_probe_failures_total{reason=\"timeout\",target=\"b\"} 1"));
  EXPECT_TRUE(has_line(t, "sip_probe_failures_total{reason=\"refused\",target=\"b\"} 0"));
  EXPECT_TRUE(has_line(t, "sip_target_last_status_code{target=\"b\"} 0"));
  EXPECT_TRUE(has_line(t, "sip_target_last_rtt_seconds{target=\"b\"} 0.002"));
  EXPECT_TRUE(has_line(t, "sip_target_consecutive_failures{target=\"b\"} 2"));
  EXPECT_TRUE(has_line(t, "sip_target_state_changes_total{target=\"b\"} 1"));
  EXPECT_TRUE(has_line(t, "sip_target_last_change_timestamp_seconds{target=\"b\"} 2"));
  EXPECT_TRUE(has_line(t, "sip_probe_rtt_seconds_count{target=\"b\"} 2"));
}

// The failure-reason samples of a body, in order.
std::string failure_lines(const std::string& text) {
  std::string out;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = text.find('\n', at);
    const std::string_view line(text.data() + at, end - at);
    if (line.starts_with("sip_probe_failures_total{")) {
      out.append(line);
      out += '\n';
    }
    at = end + 1;
  }
  return out;
}

// zero_series = false: no failure-reason series until a reason's first count, then exactly
// that one; everything else as with the default.
TEST(Metrics, ZeroSeriesFalseShowsFailureReasonsOnFirstUse) {
  const Config config = two_targets_config("[exporter]\nzero_series = false\n");
  ASSERT_FALSE(config.exporter.zero_series);
  Metrics m(config);
  m.add_target(0, config.targets[0]);
  m.add_target(1, config.targets[1]);
  TargetState s;
  m.probe_finished(1, answered(200, milliseconds(1), ""), s.record(true, 1, 1), s, 1);
  std::string t = m.serialize();
  EXPECT_EQ(failure_lines(t), "");
  EXPECT_EQ(t.find("# TYPE sip_probe_failures_total"), std::string::npos) << "no series, no header";
  EXPECT_TRUE(has_line(t, "sip_probes_total{result=\"failure\",target=\"b\"} 0"));
  ProbeResult timeout;
  timeout.reason = FailureReason::timeout;
  m.probe_finished(1, timeout, s.record(false, 1, 1), s, 2);
  t = m.serialize();
  EXPECT_EQ(failure_lines(t), "sip_probe_failures_total{reason=\"timeout\",target=\"b\"} 1\n");
  EXPECT_TRUE(has_line(t, "# TYPE sip_probe_failures_total counter"));
  EXPECT_TRUE(has_line(t, "sip_probe_responses_total{code=\"200\",target=\"b\"} 1"));
  EXPECT_TRUE(has_line(t, "sip_probes_total{result=\"failure\",target=\"b\"} 1"));

  // Back to the default (a reload): every reason again, the count kept.
  m.set_zero_series(true);
  TwoTargets defaults;
  defaults.m.probe_finished(1, timeout, s.record(false, 1, 1), s, 2);
  const std::string all = m.serialize();
  EXPECT_TRUE(has_line(all, "sip_probe_failures_total{reason=\"timeout\",target=\"b\"} 1"));
  EXPECT_EQ(failure_lines(all), failure_lines(defaults.m.serialize()));
}

TEST(Metrics, DroppedTrafficCounters) {
  TwoTargets fixture;
  Metrics& m = fixture.m;
  m.unmatched_response();
  m.unmatched_response();
  m.invalid_message("bad_via");
  m.invalid_message("bad_via");
  m.invalid_message("too_large");
  const std::string t = m.serialize();
  EXPECT_TRUE(has_line(t, "sip_exporter_unmatched_responses_total 2"));
  EXPECT_TRUE(has_line(t, "sip_exporter_invalid_messages_total{reason=\"bad_via\"} 2"));
  EXPECT_TRUE(has_line(t, "sip_exporter_invalid_messages_total{reason=\"too_large\"} 1"));
}

TEST(Metrics, RemovedTargetLosesEverySeries) {
  TwoTargets fixture;
  Metrics& m = fixture.m;
  TargetState s;
  m.probe_started();
  m.probe_finished(1, answered(503, milliseconds(2), "x"), s.record(false, 1, 1), s, 2);
  m.probe_started();
  m.remove_target(1, true);
  const std::string t = m.serialize();
  EXPECT_EQ(t.find("target=\"b\""), std::string::npos) << t;
  EXPECT_NE(t.find("target=\"a\""), std::string::npos);
  EXPECT_TRUE(has_line(t, "sip_exporter_probes_in_flight 0"));
}

TEST(Metrics, ReloadOutcome) {
  TwoTargets fixture;
  Metrics& m = fixture.m;
  m.config_reloaded(true, 100);
  m.config_reloaded(false, 200);
  const std::string t = m.serialize();
  EXPECT_TRUE(has_line(t, "sip_exporter_config_last_reload_successful 0"));
  EXPECT_TRUE(has_line(t, "sip_exporter_config_last_reload_success_timestamp_seconds 100"));
}

TEST(Metrics, RttHistogramIsCumulative) {
  TwoTargets fixture;
  Metrics& m = fixture.m;
  TargetState s;
  for (int ms : {1, 20, 20, 4000}) {
    m.probe_finished(1, answered(200, milliseconds(ms), ""), s.record(true, 1, 1), s, 1);
  }
  const std::string t = m.serialize();
  EXPECT_TRUE(has_line(t, "sip_probe_rtt_seconds_count{target=\"b\"} 4"));
  EXPECT_TRUE(has_line(t, "sip_probe_rtt_seconds_sum{target=\"b\"} 4.041"));
  EXPECT_TRUE(has_line(t, "sip_probe_rtt_seconds_bucket{target=\"b\",le=\"0.005\"} 1"));
  EXPECT_TRUE(has_line(t, "sip_probe_rtt_seconds_bucket{target=\"b\",le=\"0.025\"} 3"));
  EXPECT_TRUE(has_line(t, "sip_probe_rtt_seconds_bucket{target=\"b\",le=\"+Inf\"} 4"));
  EXPECT_TRUE(has_line(t, "sip_probe_responses_total{code=\"200\",target=\"b\"} 4"));
  // One HELP and TYPE per family, however many targets.
  EXPECT_EQ(t.find("# TYPE sip_probe_rtt_seconds histogram"),
            t.rfind("# TYPE sip_probe_rtt_seconds histogram"));
}

TEST(Metrics, AddressTlsAndKeepaliveSeries) {
  TwoTargets fixture;
  Metrics& m = fixture.m;
  m.add_address(0, 7, tls_address());
  std::string t = m.serialize();
  const std::string labels = "address=\"192.0.2.1:5061\",carrier=\"acme\",target=\"a\"";
  EXPECT_TRUE(has_line(t, "sip_address_up{" + labels + ",transport=\"tls\"} 0")) << t;
  EXPECT_EQ(t.find("sip_address_last_rtt_seconds{"), std::string::npos) << "no answer yet";
  EXPECT_EQ(t.find("sip_tls_info"), std::string::npos) << "no handshake yet";
  EXPECT_EQ(t.find("sip_keepalives_total"), std::string::npos) << "no keepalive yet";

  TargetState s;
  s.record(true, 1, 1);
  m.address_finished(7, answered(200, milliseconds(5), ""), s);
  TlsPeerInfo info = tls13();
  m.tls_peer(7, info);
  m.keepalive_finished(7, true);
  m.keepalive_finished(7, false);
  m.keepalive_finished(7, true);
  t = m.serialize();
  EXPECT_TRUE(has_line(t, "sip_address_up{" + labels + ",transport=\"tls\"} 1"));
  EXPECT_TRUE(has_line(t, "sip_address_last_rtt_seconds{" + labels + ",transport=\"tls\"} 0.005"));
  EXPECT_TRUE(has_line(t, "sip_tls_cert_expiry_timestamp_seconds{" + labels + "} 1800000000"));
  EXPECT_TRUE(has_line(t,
                       "sip_tls_info{address=\"192.0.2.1:5061\",carrier=\"acme\",cipher=\"TLS_"
                       "AES_256_GCM_SHA384\",target=\"a\",version=\"TLSv1.3\"} 1"));
  const std::string keepalive =
      "sip_keepalives_total{address=\"192.0.2.1:5061\",carrier=\"acme\",result=";
  EXPECT_TRUE(has_line(t, keepalive + "\"success\",target=\"a\"} 2"));
  EXPECT_TRUE(has_line(t, keepalive + "\"failure\",target=\"a\"} 1"));

  info.version = "TLSv1.2";
  m.tls_peer(7, info);
  t = m.serialize();
  EXPECT_EQ(t.find("TLSv1.3"), std::string::npos) << "the old handshake's series is gone";
  EXPECT_NE(t.find("version=\"TLSv1.2\""), std::string::npos);

  m.remove_address(7);
  t = m.serialize();
  EXPECT_EQ(t.find("sip_address_up"), std::string::npos) << t;
  EXPECT_EQ(t.find("sip_tls_info"), std::string::npos);
}

TEST(Metrics, LabelValuesAreEscapedAndSorted) {
  Config config = escaped_target_config();
  Metrics m(config);
  m.add_target(0, config.targets[0]);
  const std::string t = m.serialize();
  EXPECT_TRUE(has_line(t,
                       "sip_probes_total{app=\"x\",result=\"success\",target=\"q\\\"uote\",zone="
                       "\"back\\\\slash\"} 0"))
      << t;
}

TEST(Metrics, ServerLabelIsBoundedAndPrintable) {
  EXPECT_EQ(Metrics::sanitize_label_value("  Kamailio\t(5.6)\r\n x  "), "Kamailio (5.6) x");
  EXPECT_EQ(Metrics::sanitize_label_value(std::string("a\0b\x7f\xff", 5)), "a?b??");
  EXPECT_EQ(Metrics::sanitize_label_value(std::string(1000, 'x')).size(), 128u);
}

// The server label follows the answers, whether a header is clean, dirty, repeated or back.
TEST(Metrics, ServerLabelFollowsEachAnswersHeader) {
  TwoTargets fixture;
  Metrics& m = fixture.m;
  const auto server_of_b = [&](std::string_view header) {
    TargetState s;
    m.probe_finished(1, answered(200, milliseconds(5), header), s.record(true, 1, 1), s, 1);
    const std::string t = m.serialize();
    const auto at = t.find("sip_target_info{server=\"");
    return at == std::string::npos ? std::string("?")
                                   : t.substr(at + 24, t.find('"', at + 24) - at - 24);
  };
  EXPECT_EQ(server_of_b("Kamailio"), "Kamailio");
  EXPECT_EQ(server_of_b("Kamailio"), "Kamailio");
  EXPECT_EQ(server_of_b("  Asterisk\t 20 "), "Asterisk 20");
  EXPECT_EQ(server_of_b("  Asterisk\t 20 "), "Asterisk 20");
  EXPECT_EQ(server_of_b("Asterisk 20"), "Asterisk 20");
  EXPECT_EQ(server_of_b("Kamailio"), "Kamailio");
  EXPECT_EQ(server_of_b(""), "");
}

// The per-probe shortcut: a value is "clean" exactly when sanitising leaves it as it is.
TEST(Metrics, CleanLabelValuesAreThoseSanitisingLeavesAlone) {
  const std::string alphabet("ab ~\t\r\n\x7f\x01\xc3", 10);
  std::mt19937 rng(11);
  for (int i = 0; i < 20000; ++i) {
    std::string v(rng() % 12, 'a');
    for (char& c : v) c = alphabet[rng() % alphabet.size()];
    EXPECT_EQ(Metrics::is_clean_label_value(v), Metrics::sanitize_label_value(v) == v)
        << testing::PrintToString(v);
  }
  EXPECT_TRUE(Metrics::is_clean_label_value("Kamailio (5.6.4 (x86_64/linux))"));
  EXPECT_TRUE(Metrics::is_clean_label_value(std::string(128, 'x')));
  EXPECT_FALSE(Metrics::is_clean_label_value(std::string(129, 'x')));
}

}  // namespace
}  // namespace stx
