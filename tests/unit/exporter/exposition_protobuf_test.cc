// The protobuf exposition, read back with libprotobuf: every family of the text, labels and
// values, classic and native buckets of sip_probe_rtt_seconds, streaming, and the content
// negotiation that picks it.
#include "exporter/exposition_protobuf.h"

#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "exporter/metrics.h"
#include "exporter/native_histogram.h"
#include "exporter/web.h"
#include "metrics.pb.h"
#include "tests/unit/exporter/probe_results.h"
#include "tests/unit/exporter/two_targets.h"

namespace stx {
namespace {

namespace pb = io::prometheus::client;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using test::answered;

// Every message of a delimited stream.
std::vector<pb::MetricFamily> parse_stream(const std::string& body) {
  google::protobuf::io::ArrayInputStream in(body.data(), static_cast<int>(body.size()));
  std::vector<pb::MetricFamily> out;
  for (;;) {
    pb::MetricFamily mf;
    bool clean_eof = false;
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&mf, &in, &clean_eof)) {
      EXPECT_TRUE(clean_eof) << "a message is cut short or malformed";
      return out;
    }
    out.push_back(std::move(mf));
  }
}

// The stream's metrics by family name (a family may come in several messages, each with the
// same name, help and type).
struct Families {
  explicit Families(const std::string& body) {
    for (auto& mf : parse_stream(body)) {
      auto [it, fresh] = by_name.try_emplace(mf.name(), mf);
      if (fresh) continue;
      EXPECT_EQ(it->second.help(), mf.help());
      EXPECT_EQ(it->second.type(), mf.type());
      for (auto& m : *mf.mutable_metric()) *it->second.add_metric() = std::move(m);
    }
  }
  // The metric of `family` whose labels are exactly `labels` (in order), or null.
  const pb::Metric* find(const std::string& family,
                         const std::vector<std::pair<std::string, std::string>>& labels) const {
    const auto it = by_name.find(family);
    if (it == by_name.end()) return nullptr;
    for (const auto& m : it->second.metric()) {
      if (static_cast<std::size_t>(m.label_size()) != labels.size()) continue;
      bool same = true;
      for (std::size_t i = 0; i < labels.size(); ++i) {
        const auto& l = m.label(static_cast<int>(i));
        same = same && l.name() == labels[i].first && l.value() == labels[i].second;
      }
      if (same) return &m;
    }
    return nullptr;
  }
  std::map<std::string, pb::MetricFamily> by_name;
};

using test::escaped_target_config;
using test::TwoTargets;

// Family names in the text's TYPE lines.
std::set<std::string> text_families(const std::string& text) {
  std::set<std::string> names;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("# TYPE ")) continue;
    names.insert(line.substr(7, line.find(' ', 7) - 7));
  }
  return names;
}

TEST(NativeHistogram, BucketIndexFollowsThePrometheusFormula) {
  // Schema 3: bucket i is (2^((i-1)/8), 2^(i/8)], upper bound inclusive.
  EXPECT_EQ(native_bucket_index(1.0), 0);
  EXPECT_EQ(native_bucket_index(2.0), 8);
  EXPECT_EQ(native_bucket_index(0.5), -8);
  EXPECT_EQ(native_bucket_index(1.05), 1);  // (1, 1.0905]
  // 0.001 s: log2 = -9.966, * 8 = -79.73, so bucket -79: (2^-10, 2^-9.875] = (0.000977, 0.001065].
  EXPECT_EQ(native_bucket_index(0.001), -79);
  EXPECT_EQ(native_bucket_index(0.0011), -78);  // log2 * 8 = -78.63
  for (const double v : {0.00005, 0.001, 0.0011, 0.02, 0.5, 3.7, 30.0}) {
    const std::int32_t i = native_bucket_index(v);
    const double base = std::exp2(1.0 / 8);
    EXPECT_LT(std::pow(base, i - 1), v) << v;
    EXPECT_LE(v, std::pow(base, i) * (1 + 1e-12)) << v;
  }
  // Coarser schemas nest: bucket j at schema s - 1 is buckets 2j - 1 and 2j at schema s.
  EXPECT_EQ(native_bucket_index(2.0, 0), 1);
  EXPECT_EQ(native_bucket_index(3.0, 0), 2);
  EXPECT_EQ(native_bucket_index(0.001, 2), -39);
  EXPECT_EQ(native_bucket_index(0.001, -4), 0);  // (2^-16, 1]
}

// Memory per target: the histogram itself is a pointer, the range and the zero bucket.
static_assert(sizeof(NativeHistogram) <= 24);

TEST(NativeHistogram, CountsStayInAFewBucketsAndMergeBeyondTheCap) {
  std::mutex mu;
  NativeHistogram h;
  EXPECT_EQ(h.size(), 0u);
  for (int i = 0; i < 100; ++i) h.observe(0.020 + 0.0002 * i, mu);  // 20 to 40 ms
  EXPECT_EQ(h.schema(), 3);
  EXPECT_LE(h.size(), 9u + 4u) << "one octave, 8 or 9 buckets, and a little room";
  std::uint64_t n = 0;
  for (std::size_t j = 0; j < h.size(); ++j) n += h.count(j);
  EXPECT_EQ(n, 100u);

  h.observe(0, mu);
  EXPECT_EQ(h.zero_count(), 1u);

  // 1 ns to 1000 s is 40 octaves: 320 buckets at schema 3, 160 at schema 2.
  h.observe(1e-9, mu);
  h.observe(1000, mu);
  EXPECT_LE(h.size(), kNativeMaxBuckets);
  EXPECT_LT(h.schema(), 3);
  EXPECT_GE(h.schema(), 1);
  n = 0;
  for (std::size_t j = 0; j < h.size(); ++j) n += h.count(j);
  EXPECT_EQ(n, 102u) << "merging keeps every observation";
  EXPECT_EQ(
      h.count(static_cast<std::size_t>(native_bucket_index(1000, h.schema()) - h.first_index())),
      1u);
}

TEST(ExpositionProtobuf, EveryFamilyOfTheTextIsThere) {
  TwoTargets f;
  f.answer(1, microseconds(20000));
  Destination d;
  d.address = boost::asio::ip::make_address("192.0.2.1");
  d.port = 5060;
  f.m.add_address(0, 3, d);
  f.m.config_reloaded(true, 100);
  f.m.invalid_message("bad");
  const Families proto(read_all(*f.m.scrape_protobuf()));
  std::set<std::string> names;
  for (const auto& [name, mf] : proto.by_name) names.insert(name);
  EXPECT_EQ(names, text_families(f.m.serialize()));
  EXPECT_TRUE(names.contains("process_cpu_seconds_total"));
  EXPECT_TRUE(names.contains("sip_exporter_build_info"));
  EXPECT_EQ(proto.by_name.at("sip_probes_total").type(), pb::COUNTER);
  EXPECT_EQ(proto.by_name.at("sip_target_up").type(), pb::GAUGE);
  EXPECT_EQ(proto.by_name.at("sip_probe_rtt_seconds").type(), pb::HISTOGRAM);
  EXPECT_EQ(proto.by_name.at("sip_exporter_schedule_lateness_seconds").type(), pb::HISTOGRAM);
  EXPECT_EQ(proto.by_name.at("sip_target_up").help(), family(FamilyId::target_up).help);
}

TEST(ExpositionProtobuf, LabelsAndValues) {
  TwoTargets f;
  f.answer(1, microseconds(20000));
  const Families p(read_all(*f.m.scrape_protobuf()));
  const pb::Metric* up = p.find("sip_target_up", {{"target", "b"}});
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->gauge().value(), 1);
  const pb::Metric* success =
      p.find("sip_probes_total", {{"carrier", "acme"}, {"result", "success"}, {"target", "a"}});
  ASSERT_NE(success, nullptr);
  EXPECT_EQ(success->counter().value(), 0);
  const pb::Metric* b_success =
      p.find("sip_probes_total", {{"result", "success"}, {"target", "b"}});
  ASSERT_NE(b_success, nullptr);
  EXPECT_EQ(b_success->counter().value(), 1);
  const pb::Metric* state = p.find("sip_target_state", {{"state", "up"}, {"target", "b"}});
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->gauge().value(), 1);
  EXPECT_NE(p.find("sip_probe_responses_total", {{"code", "200"}, {"target", "b"}}), nullptr);
  const pb::Metric* info =
      p.find("sip_target_info",
             {{"server", ""}, {"target", "b"}, {"transport", "udp"}, {"uri", "sip:192.0.2.2"}});
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->gauge().value(), 1);
}

TEST(ExpositionProtobuf, FamilyWriterPlacesTheExtraLabelInKeyOrder) {
  std::string out;
  ProtoFamilyWriter w(out, FamilyId::target_state);
  w.sample(R"(carrier="acme",target="a")", 1, kStateLabel, "up");
  w.sample(R"(carrier="acme",target="a")", 0, "zone", "z");
  w.sample("", 2);
  w.sample(R"(carrier="b\"q")", 3, "a", "first");
  w.flush();
  w.flush();  // nothing new: no message
  const auto families = parse_stream(out);
  ASSERT_EQ(families.size(), 1u);
  const pb::MetricFamily& mf = families[0];
  EXPECT_EQ(mf.name(), "sip_target_state");
  EXPECT_EQ(mf.type(), pb::GAUGE);
  ASSERT_EQ(mf.metric_size(), 4);
  auto labels = [&](int i) {
    std::string text;
    for (const auto& l : mf.metric(i).label()) text += l.name() + "=" + l.value() + ";";
    return text;
  };
  EXPECT_EQ(labels(0), "carrier=acme;state=up;target=a;");
  EXPECT_EQ(labels(1), "carrier=acme;target=a;zone=z;");
  EXPECT_EQ(labels(2), "");
  EXPECT_EQ(labels(3), "a=first;carrier=b\"q;");
  EXPECT_EQ(mf.metric(2).gauge().value(), 2);
}

TEST(ExpositionProtobuf, EscapedLabelValuesComeBackRaw) {
  Config config = escaped_target_config();
  Metrics m(config);
  m.add_target(0, config.targets[0]);
  const Families p(read_all(*m.scrape_protobuf()));
  EXPECT_NE(p.find("sip_target_up", {{"app", "x"}, {"target", "q\"uote"}, {"zone", "back\\slash"}}),
            nullptr);
}

TEST(ExpositionProtobuf, RttHasClassicAndNativeBuckets) {
  TwoTargets f;
  for (const int us : {1000, 1100, 500000}) f.answer(1, microseconds(us));
  f.answer(0, microseconds(0));
  const Families p(read_all(*f.m.scrape_protobuf()));

  const pb::Metric* b = p.find("sip_probe_rtt_seconds", {{"target", "b"}});
  ASSERT_NE(b, nullptr);
  const pb::Histogram& h = b->histogram();
  EXPECT_EQ(h.sample_count(), 3u);
  EXPECT_NEAR(h.sample_sum(), 0.5021, 1e-12);
  // Classic buckets: the configured bounds, cumulative, +Inf left to sample_count.
  const auto& bounds = f.config.exporter.rtt_buckets;
  ASSERT_EQ(static_cast<std::size_t>(h.bucket_size()), bounds.size());
  for (int i = 0; i < h.bucket_size(); ++i) {
    const double le = bounds[static_cast<std::size_t>(i)];
    EXPECT_EQ(h.bucket(i).upper_bound(), le);
    const std::uint64_t want = (le >= 0.001 ? 1 : 0) + (le >= 0.0011 ? 1 : 0) + (le >= 0.5 ? 1 : 0);
    EXPECT_EQ(h.bucket(i).cumulative_count(), want) << "le=" << le;
  }
  // Native: schema 3, 0.001 in bucket -79, 0.0011 in -78, 0.5 in -8 (2^-1 exactly, an upper
  // bound). Two spans: [-79, -78] and, 69 buckets later, [-8].
  EXPECT_EQ(h.schema(), 3);
  EXPECT_EQ(h.zero_threshold(), kNativeZeroThreshold);
  EXPECT_EQ(h.zero_count(), 0u);
  ASSERT_EQ(h.positive_span_size(), 2);
  EXPECT_EQ(h.positive_span(0).offset(), -79);
  EXPECT_EQ(h.positive_span(0).length(), 2u);
  EXPECT_EQ(h.positive_span(1).offset(), -8 - (-77));
  EXPECT_EQ(h.positive_span(1).length(), 1u);
  ASSERT_EQ(h.positive_delta_size(), 3);
  EXPECT_EQ(h.positive_delta(0), 1);  // the first is an absolute count
  EXPECT_EQ(h.positive_delta(1), 0);
  EXPECT_EQ(h.positive_delta(2), 0);
  EXPECT_EQ(h.negative_span_size(), 0);

  // An RTT of 0 is the zero bucket's.
  const pb::Metric* a = p.find("sip_probe_rtt_seconds", {{"carrier", "acme"}, {"target", "a"}});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->histogram().sample_count(), 1u);
  EXPECT_EQ(a->histogram().zero_count(), 1u);
  EXPECT_EQ(a->histogram().positive_span_size(), 0);
  EXPECT_EQ(a->histogram().bucket(0).cumulative_count(), 1u);
}

TEST(ExpositionProtobuf, DeltasOfUnevenCounts) {
  TwoTargets f;
  for (const int us : {20000, 20000, 20000, 21000, 25000}) f.answer(1, microseconds(us));
  const Families p(read_all(*f.m.scrape_protobuf()));
  const pb::Histogram& h = p.find("sip_probe_rtt_seconds", {{"target", "b"}})->histogram();
  // 0.020 -> bucket -45, 0.021 -> -44, 0.025 -> -42: counts 3, 1, (gap), 1.
  EXPECT_EQ(native_bucket_index(0.020), -45);
  EXPECT_EQ(native_bucket_index(0.021), -44);
  EXPECT_EQ(native_bucket_index(0.025), -42);
  ASSERT_EQ(h.positive_span_size(), 2);
  EXPECT_EQ(h.positive_span(0).offset(), -45);
  EXPECT_EQ(h.positive_span(0).length(), 2u);
  EXPECT_EQ(h.positive_span(1).offset(), 1);
  EXPECT_EQ(h.positive_span(1).length(), 1u);
  ASSERT_EQ(h.positive_delta_size(), 3);
  EXPECT_EQ(h.positive_delta(0), 3);
  EXPECT_EQ(h.positive_delta(1), -2);
  EXPECT_EQ(h.positive_delta(2), 0);
}

TEST(ExpositionProtobuf, StreamsABlockOfSeriesPerMessage) {
  constexpr std::size_t kTargets = 150;
  std::string toml;
  for (std::size_t i = 0; i < kTargets; ++i) {
    toml += "[[target]]\nname = \"t" + std::to_string(i) + "\"\nuri = \"sip:192.0.2.1\"\n";
  }
  const Config config = parse_config(toml, "test.toml");
  Metrics m(config);
  for (std::size_t i = 0; i < kTargets; ++i) m.add_target(i, config.targets[i]);
  auto source = m.scrape_protobuf(1);  // a piece per block
  std::string body;
  std::size_t pieces = 0;
  for (std::string_view piece = source->next(); !piece.empty(); piece = source->next()) {
    body += piece;
    ++pieces;
  }
  EXPECT_GT(pieces, 10u);
  std::size_t up_messages = 0, up_series = 0;
  for (const auto& mf : parse_stream(body)) {
    if (mf.name() != "sip_target_up") continue;
    ++up_messages;
    up_series += static_cast<std::size_t>(mf.metric_size());
  }
  EXPECT_EQ(up_series, kTargets);
  EXPECT_EQ(up_messages, 3u) << "blocks of 64 series";
  EXPECT_EQ(Families(body).by_name.size(), Families(read_all(*m.scrape_protobuf())).by_name.size());
}

// The probing thread grows and merges native buckets while scrapes read them (under the
// sanitizers this is the race check): every scrape parses, and no histogram counts fewer
// observations than its buckets hold.
TEST(ExpositionProtobuf, ScrapesWhileTheBucketsGrowAndMerge) {
  TwoTargets f;
  constexpr int kProbes = 200000;
  std::thread prober([&] {
    TargetState s;
    for (int i = 0; i < kProbes; ++i) {
      // From 1 µs up to about 30 s and back: the range grows on both sides and passes the cap.
      const auto us = static_cast<std::int64_t>(std::exp2((i * 37 % 250) / 10.0));
      ProbeResult r = answered(200, milliseconds(0), "");
      r.rtt = microseconds(us);
      f.m.probe_finished(1, r, s.record(true, 1, 1), s, 1);
    }
  });
  std::uint64_t last = 0;
  for (int scrapes = 0; last < kProbes; ++scrapes) {
    ASSERT_LT(scrapes, 1000000) << "the prober never finished";
    const Families p(read_all(*f.m.scrape_protobuf()));
    const pb::Histogram& h = p.find("sip_probe_rtt_seconds", {{"target", "b"}})->histogram();
    std::int64_t count = 0, in_buckets = static_cast<std::int64_t>(h.zero_count());
    for (const std::int64_t d : h.positive_delta()) {
      count += d;
      ASSERT_GE(count, 1) << "a bucket written is never empty";
      in_buckets += count;
    }
    ASSERT_GE(static_cast<std::int64_t>(h.sample_count()), in_buckets);
    ASSERT_GE(h.sample_count(), last) << "counts only grow";
    last = h.sample_count();
  }
  prober.join();
  EXPECT_EQ(last, static_cast<std::uint64_t>(kProbes));
  const Families p(read_all(*f.m.scrape_protobuf()));
  EXPECT_EQ(p.find("sip_probe_rtt_seconds", {{"target", "b"}})->histogram().schema(), 2)
      << "1 µs to 30 s is 200 buckets at schema 3, over the cap";
}

TEST(ContentNegotiation, PrometheusWithNativeHistogramsGetsProtobuf) {
  // Prometheus 2.42 (scrape/scrape.go, scrapeAcceptHeaderWithProtobuf).
  EXPECT_TRUE(accepts_protobuf(
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,"
      "application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0."
      "1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
  EXPECT_TRUE(accepts_protobuf(
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;"
      "q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1"));
  EXPECT_TRUE(
      accepts_protobuf("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
                       "encoding=delimited"));
}

TEST(ContentNegotiation, EverythingElseGetsText) {
  EXPECT_FALSE(accepts_protobuf(""));
  EXPECT_FALSE(accepts_protobuf("*/*"));
  EXPECT_FALSE(accepts_protobuf("text/plain;version=0.0.4"));
  // Prometheus without native histograms.
  EXPECT_FALSE(accepts_protobuf(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0."
      "75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
  EXPECT_FALSE(accepts_protobuf(
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;"
      "q=0,text/plain"));
  EXPECT_FALSE(accepts_protobuf(
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;"
      "q=0.2,text/plain;q=0.5"));
  // Not the delimited MetricFamily stream.
  EXPECT_FALSE(accepts_protobuf(
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text"));
  EXPECT_FALSE(accepts_protobuf("application/vnd.google.protobuf"));
}

WebResponse get_metrics(std::string_view accept, std::string_view accept_encoding = "") {
  WebRoutes routes;
  routes.metrics = [] { return std::make_unique<StringSource>("text\n"); };
  routes.metrics_protobuf = [] { return std::make_unique<StringSource>("protobuf"); };
  WebRequest req;
  req.method = "GET";
  req.target = "/metrics";
  req.accept = accept;
  req.accept_encoding = accept_encoding;
  WebResponse out;
  handle_web_request(req, routes, [&](WebResponse r) { out = std::move(r); });
  return out;
}

TEST(ContentNegotiation, MetricsEndpointServesWhatWasAskedFor) {
  const std::string prometheus =
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;"
      "q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.1";
  WebResponse r = get_metrics(prometheus);
  EXPECT_EQ(r.content_type,
            "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
            "encoding=delimited");
  EXPECT_EQ(read_all(*r.stream), "protobuf");

  r = get_metrics("");
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(read_all(*r.stream), "text\n");
  r = get_metrics("text/plain");
  EXPECT_EQ(read_all(*r.stream), "text\n");

  r = get_metrics(prometheus, "gzip");
  EXPECT_EQ(r.content_encoding, "gzip");
  EXPECT_EQ(r.content_type.substr(0, 31), "application/vnd.google.protobuf");
}

}  // namespace
}  // namespace stx
