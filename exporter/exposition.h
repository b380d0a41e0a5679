#pragma once
// The Prometheus text exposition format (0.0.4), written into one string with std::to_chars:
// prometheus-cpp's collected families, or the table's families (FamilyWriter) series by
// series. prometheus-cpp's TextSerializer formats through iostreams and snprintf, which was
// 78% of a scrape's instructions at a few thousand targets.
#include <prometheus/metric_family.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/metric_families.h"

namespace stx {

// A response body handed out a piece at a time, so that neither the whole text nor a
// whole compressed copy of it is ever held: the exposition as a scrape writes it, or its
// gzip stream.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // The next piece, valid until the next call; empty once everything has been returned.
  virtual std::string_view next() = 0;
};

// A body that is one string already, returned as one piece.
class StringSource final : public BodySource {
 public:
  explicit StringSource(std::string text) : text_(std::move(text)) {}
  std::string_view next() override {
    if (done_) return {};
    done_ = true;
    return text_;
  }

 private:
  std::string text_;
  bool done_ = false;
};

// Every piece of `source`, concatenated.
std::string read_all(BodySource& source);

// Appends `families` to `out` exactly as prometheus::TextSerializer writes them (values as
// "%.16g", NaN as "Nan", infinities as "+Inf"/"-Inf"), except that HELP text is escaped as
// the format requires.
void write_exposition(const std::vector<prometheus::MetricFamily>& families, std::string& out);

// The same format, written piece by piece for series kept outside prometheus-cpp. A label
// set is held rendered: `k1="v1",k2="v2"`, values escaped, keys in ascending order (the
// order prometheus-cpp writes them in).
void put_double(std::string& out, double v);
void put_uint(std::string& out, std::uint64_t v);
// `# HELP` and `# TYPE` lines; `type` is "counter", "gauge" or "histogram".
void put_header(std::string& out, std::string_view name, std::string_view help,
                std::string_view type);
// `name{labels} ` with key="value" (value escaped here) added at its place in key order, or
// after every other label when `last` (as prometheus-cpp places a histogram's "le").
void put_series(std::string& out, std::string_view name, std::string_view labels,
                std::string_view key = {}, std::string_view value = {}, bool last = false);
// Where a label `key` goes in rendered `labels`: the offset of the first label whose key sorts
// after it, or labels.size(). A series writer computes it once per label set, not per line.
std::size_t label_insertion_point(std::string_view labels, std::string_view key);
// put_series with key="value" at offset `at` of `labels` (from label_insertion_point, or
// labels.size() for last), and `plain_value` written as is: numbers and our own constants only.
void put_series_at(std::string& out, std::string_view name, std::string_view labels, std::size_t at,
                   std::string_view key, std::string_view plain_value);
// `labels` with key="value" added at its place in key order.
std::string with_label(std::string_view labels, std::string_view key, std::string_view value);
// The same, appended to `out` (a buffer reused across series).
void append_with_label(std::string& out, std::string_view labels, std::string_view key,
                       std::string_view value);

// Writes one family of the table: its HELP and TYPE before its first series, and nothing
// for a family without series. Each call starts a line for the caller to end with end_line.
class FamilyWriter {
 public:
  FamilyWriter(std::string& out, FamilyId id) : out_(out), f_(family(id)) {}
  std::string_view name() const { return f_.name; }
  // `name{labels[,key="value"]} `.
  std::string& series(std::string_view labels, std::string_view key = {},
                      std::string_view value = {}) {
    return series_named(f_.name, labels, key, value);
  }
  // The same under another sample name (a histogram's _count, _sum, _bucket).
  std::string& series_named(std::string_view name, std::string_view labels,
                            std::string_view key = {}, std::string_view value = {}) {
    start();
    put_series(out_, name, labels, key, value);
    return out_;
  }
  // A line whose extra label is a number or one of our constants, at offset `at` of `labels`
  // (label_insertion_point, computed once per label set).
  std::string& series_at(std::string_view name, std::string_view labels, std::size_t at,
                         std::string_view key, std::string_view value) {
    start();
    put_series_at(out_, name, labels, at, key, value);
    return out_;
  }
  // Whole lines, `name{labels[,key="value"]} v`: the calls a scrape shares with the
  // protobuf writer (ProtoFamilyWriter).
  template <class V>
  void sample(std::string_view labels, V v, std::string_view key = {}, std::string_view value = {});
  // With key="value" at offset `at` of `labels` (label_insertion_point).
  template <class V>
  void sample_at(std::string_view labels, std::size_t at, std::string_view key,
                 std::string_view value, V v);
  void flush() {}  // each line is written whole

 private:
  // Inline, as every series line calls it: a scrape writes hundreds of thousands.
  void start() {
    if (!started_) put_header(out_, f_.name, f_.help, type_name(f_.type));
    started_ = true;
  }

  std::string& out_;
  const FamilySpec& f_;
  bool started_ = false;
};

// Ends a series line with its value.
inline void end_line(std::string& out, double v) {
  put_double(out, v);
  out += '\n';
}
inline void end_line(std::string& out, std::uint64_t v) {
  put_uint(out, v);
  out += '\n';
}

template <class V>
void FamilyWriter::sample(std::string_view labels, V v, std::string_view key,
                          std::string_view value) {
  end_line(series(labels, key, value), v);
}

template <class V>
void FamilyWriter::sample_at(std::string_view labels, std::size_t at, std::string_view key,
                             std::string_view value, V v) {
  end_line(series_at(f_.name, labels, at, key, value), v);
}

}  // namespace stx
