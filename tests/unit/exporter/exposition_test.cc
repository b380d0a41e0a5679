#include "exporter/exposition.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <limits>
#include <sstream>

namespace stx {
namespace {

std::string reference(const prometheus::Registry& r) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, r.Collect());
  return out.str();
}

std::string ours(const prometheus::Registry& r) {
  std::string out;
  write_exposition(r.Collect(), out);
  return out;
}

// Byte for byte what prometheus-cpp writes, for every kind of family and awkward values:
// scrapers, the promtool checks and users' recording rules all saw that text before.
TEST(ExpositionTest, MatchesPrometheusCppTextSerializer) {
  prometheus::Registry r;
  auto& c = prometheus::BuildCounter().Name("a_total").Help("counts").Register(r);
  c.Add({{"target", "quote\"back\\slash\nnewline"}, {"b", "x"}}).Increment(3);
  c.Add({}).Increment(12345678901.0);
  auto& g = prometheus::BuildGauge().Name("g").Help("gauges").Register(r);
  const double values[] = {0.0,
                           -0.0,
                           1.0,
                           -2.5,
                           8.9207e-05,
                           0.1 + 0.2,
                           1795254564.997944,
                           1e300,
                           5e-324,
                           std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity()};
  int i = 0;
  for (double v : values) g.Add({{"i", std::to_string(i++)}}).Set(v);
  auto& h = prometheus::BuildHistogram().Name("h_seconds").Help("h").Register(r);
  auto& hist = h.Add({{"target", "t"}},
                     prometheus::Histogram::BucketBoundaries{0.00005, 0.001, 0.0025, 1, 10});
  for (double v : {0.00001, 0.002, 0.5, 20.0}) hist.Observe(v);
  auto& s = prometheus::BuildSummary().Name("s").Help("s").Register(r);
  s.Add({}, prometheus::Summary::Quantiles{{0.5, 0.05}, {0.99, 0.001}}).Observe(4);
  prometheus::BuildGauge().Name("empty").Help("no series").Register(r);

  EXPECT_EQ(ours(r), reference(r));
}

// The text format escapes backslash and newline in HELP (a raw newline would end the line);
// prometheus-cpp does not, so this is the one place the output differs from it.
TEST(ExpositionTest, HelpEscapesBackslashAndNewlineOnly) {
  prometheus::Registry r;
  prometheus::BuildGauge().Name("g").Help("a \\ b\nc \"d\"").Register(r).Add({}).Set(1);
  EXPECT_EQ(ours(r), "# HELP g a \\\\ b\\nc \"d\"\n# TYPE g gauge\ng 1\n");
}

TEST(ExpositionTest, AppendsToWhatIsThere) {
  prometheus::Registry r;
  prometheus::BuildGauge().Name("g").Help("h").Register(r).Add({}).Set(1);
  std::string out = "# prefix\n";
  write_exposition(r.Collect(), out);
  EXPECT_EQ(out, "# prefix\n# HELP g h\n# TYPE g gauge\ng 1\n");
}

TEST(ExpositionTest, LabelsGoInKeyOrder) {
  std::string labels = with_label("", "target", "a\"b");
  labels = with_label(labels, "carrier", "c,d");
  labels = with_label(labels, "zone", "e=f");
  EXPECT_EQ(labels, R"(carrier="c,d",target="a\"b",zone="e=f")");
  std::string out;
  put_series(out, "m", labels, "result", "ok");
  EXPECT_EQ(out, R"(m{carrier="c,d",result="ok",target="a\"b",zone="e=f"} )");
  out.clear();
  put_series(out, "m", labels, "a", "1");
  EXPECT_EQ(out, R"(m{a="1",carrier="c,d",target="a\"b",zone="e=f"} )");
  out.clear();
  put_series(out, "m", labels, "le", "0.5", true);
  EXPECT_EQ(out, R"(m{carrier="c,d",target="a\"b",zone="e=f",le="0.5"} )");
  out.clear();
  put_series(out, "m", "");
  EXPECT_EQ(out, "m ");
}

TEST(ExpositionTest, PrecomputedInsertionPointGivesTheSameLine) {
  // Values with a quote and an escaped quote, so the scan must skip over both.
  std::string labels = with_label("", "target", "x\"y");
  labels = with_label(labels, "carrier", "c=\"d");
  labels = with_label(labels, "zone", "z");
  EXPECT_EQ(label_insertion_point(labels, "a"), 0u);
  EXPECT_EQ(label_insertion_point(labels, "zzz"), labels.size());
  for (const char* key : {"a", "code", "reason", "result", "zzz"}) {
    std::string expected;
    put_series(expected, "m", labels, key, "404");
    std::string out;
    put_series_at(out, "m", labels, label_insertion_point(labels, key), key, "404");
    EXPECT_EQ(out, expected) << key;
  }
  std::string expected;
  put_series(expected, "m_bucket", labels, "le", "+Inf", true);
  std::string out;
  put_series_at(out, "m_bucket", labels, labels.size(), "le", "+Inf");
  EXPECT_EQ(out, expected);
  EXPECT_EQ(out, R"(m_bucket{carrier="c=\"d",target="x\"y",zone="z",le="+Inf"} )");
}

}  // namespace
}  // namespace stx
