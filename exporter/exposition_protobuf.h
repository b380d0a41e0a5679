#pragma once
// The protobuf exposition: a stream of varint-length-delimited io.prometheus.client.MetricFamily
// messages (metrics.proto of client_model, generated at build time), which Prometheus asks for
// when its native histograms are on. It is the only format that carries a native histogram.
//
// A scrape streams it as it streams the text: a family's series are read a block at a time,
// and each block becomes one MetricFamily message of its own (name, help, type and that
// block's metrics). Prometheus reads every message on its own, so a family may come in
// several; the body is never built whole.
#include <prometheus/metric_family.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/metric_families.h"
#include "exporter/native_histogram.h"

namespace io::prometheus::client {
class MetricFamily;
}

namespace stx {

inline constexpr std::string_view kProtobufExpositionType =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

// Content negotiation for /metrics: true when an Accept header value takes the delimited
// MetricFamily protobuf (q > 0) at least as gladly as anything else it names. Prometheus
// with native histograms sends it first at q=1; an absent header, or one naming text/plain
// or */* alone, gets the text.
bool accepts_protobuf(std::string_view accept);

// Appends prometheus-cpp's families, one delimited message each.
void write_protobuf(const std::vector<prometheus::MetricFamily>& families, std::string& out);

// Parses a rendered label set (`k1="v1",k2="v2"`, values escaped as the text format does)
// into pairs, appending to `out`.
void parse_labels(std::string_view labels, std::vector<prometheus::ClientMetric::Label>& out);

// Writes one family of the table as protobuf, a message per flush(); the counterpart of
// FamilyWriter, taking whole samples where that one writes lines.
class ProtoFamilyWriter {
 public:
  ProtoFamilyWriter(std::string& out, FamilyId id);
  ProtoFamilyWriter(const ProtoFamilyWriter&) = delete;
  ProtoFamilyWriter& operator=(const ProtoFamilyWriter&) = delete;
  ~ProtoFamilyWriter();

  std::string_view name() const { return f_.name; }
  // A counter or gauge sample (the family's type), with label key="value" added when `key`
  // is not empty.
  void sample(std::string_view labels, double v, std::string_view key = {},
              std::string_view value = {});
  void sample_at(std::string_view labels, std::size_t /*at*/, std::string_view key,
                 std::string_view value, double v) {
    sample(labels, v, key, value);
  }
  // A histogram: `counts` holds each classic bucket's own count, +Inf last, for the upper
  // bounds `bounds`; `native`, when not null, adds the native buckets (read under the lock
  // its writer takes to grow them, as every series is read).
  void histogram(std::string_view labels, std::span<const double> bounds,
                 std::span<const std::uint64_t> counts, double sum, const NativeHistogram* native);
  // Appends the samples since the last flush as one delimited MetricFamily message.
  void flush();

 private:
  void add_labels(std::string_view labels, std::string_view key, std::string_view value);

  std::string& out_;
  const FamilySpec& f_;
  std::unique_ptr<io::prometheus::client::MetricFamily> mf_;
  std::vector<prometheus::ClientMetric::Label> parsed_;  // of parsed_of_
  std::string parsed_of_;
};

}  // namespace stx
