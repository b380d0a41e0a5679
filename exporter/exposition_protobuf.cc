#include "exporter/exposition_protobuf.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

#include "metrics.pb.h"

namespace stx {
namespace {

namespace pb = io::prometheus::client;

pb::MetricType proto_type(FamilyType t) {
  switch (t) {
    case FamilyType::counter:
      return pb::COUNTER;
    case FamilyType::gauge:
      return pb::GAUGE;
    case FamilyType::histogram:
      return pb::HISTOGRAM;
  }
  return pb::UNTYPED;
}

pb::MetricType proto_type(prometheus::MetricType t) {
  switch (t) {
    case prometheus::MetricType::Counter:
      return pb::COUNTER;
    case prometheus::MetricType::Gauge:
      return pb::GAUGE;
    case prometheus::MetricType::Summary:
      return pb::SUMMARY;
    case prometheus::MetricType::Histogram:
      return pb::HISTOGRAM;
    case prometheus::MetricType::Untyped:
      break;
  }
  return pb::UNTYPED;
}

// `mf` as a varint length and the message.
void append_delimited(const pb::MetricFamily& mf, std::string& out) {
  const std::size_t n = mf.ByteSizeLong();
  std::array<std::uint8_t, 10> len{};
  const std::uint8_t* end = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
      static_cast<std::uint32_t>(n), len.data());
  out.append(reinterpret_cast<const char*>(len.data()), static_cast<std::size_t>(end - len.data()));
  const std::size_t at = out.size();
  out.resize(at + n);
  mf.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(out.data() + at));
}

// q of one Accept entry's parameters (1 when absent); `params` starts after the media type.
double quality(std::string_view params) {
  while (!params.empty()) {
    const auto semi = params.find(';');
    std::string_view p = params.substr(0, semi);
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    while (!p.empty() && (p.front() == ' ' || p.front() == '\t')) p.remove_prefix(1);
    if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
      const std::string v(p.substr(2));
      char* end = nullptr;
      const double q = std::strtod(v.c_str(), &end);
      return end == v.c_str() ? 0 : q;
    }
  }
  return 1;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The entry names the delimited MetricFamily encoding: its proto and encoding parameters.
bool is_protobuf_entry(std::string_view type, std::string_view params) {
  if (!iequals(type, "application/vnd.google.protobuf")) return false;
  bool proto = false, delimited = false;
  while (!params.empty()) {
    const auto semi = params.find(';');
    const std::string_view p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    proto = proto || p == "proto=io.prometheus.client.MetricFamily";
    delimited = delimited || p == "encoding=delimited";
  }
  return proto && delimited;
}

}  // namespace

bool accepts_protobuf(std::string_view accept) {
  double protobuf = 0, other = 0;
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    const std::string_view entry = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    const auto semi = entry.find(';');
    const std::string_view type = trim(entry.substr(0, semi));
    const std::string_view params =
        semi == std::string_view::npos ? std::string_view{} : entry.substr(semi + 1);
    if (type.empty()) continue;
    const double q = quality(params);
    if (is_protobuf_entry(type, params)) {
      protobuf = std::max(protobuf, q);
    } else {
      other = std::max(other, q);
    }
  }
  return protobuf > 0 && protobuf >= other;
}

void parse_labels(std::string_view labels, std::vector<prometheus::ClientMetric::Label>& out) {
  std::size_t pos = 0;
  while (pos < labels.size()) {
    const std::size_t eq = labels.find('=', pos);
    if (eq == std::string_view::npos) return;
    auto& l = out.emplace_back();
    l.name.assign(labels.substr(pos, eq - pos));
    std::size_t i = eq + 2;  // past `="`
    while (i < labels.size() && labels[i] != '"') {
      if (labels[i] == '\\' && i + 1 < labels.size()) {
        ++i;
        l.value += labels[i] == 'n' ? '\n' : labels[i];
      } else {
        l.value += labels[i];
      }
      ++i;
    }
    pos = i + 2;  // past `",`
  }
}

void write_protobuf(const std::vector<prometheus::MetricFamily>& families, std::string& out) {
  pb::MetricFamily mf;
  for (const auto& f : families) {
    if (f.metric.empty()) continue;  // as the text writer: no series, no family
    mf.Clear();
    mf.set_name(f.name);
    mf.set_help(f.help);
    mf.set_type(proto_type(f.type));
    for (const auto& m : f.metric) {
      pb::Metric& pm = *mf.add_metric();
      for (const auto& l : m.label) {
        pb::LabelPair& lp = *pm.add_label();
        lp.set_name(l.name);
        lp.set_value(l.value);
      }
      if (m.timestamp_ms != 0) pm.set_timestamp_ms(m.timestamp_ms);
      switch (f.type) {
        case prometheus::MetricType::Counter:
          pm.mutable_counter()->set_value(m.counter.value);
          break;
        case prometheus::MetricType::Gauge:
          pm.mutable_gauge()->set_value(m.gauge.value);
          break;
        case prometheus::MetricType::Summary: {
          pb::Summary& s = *pm.mutable_summary();
          s.set_sample_count(m.summary.sample_count);
          s.set_sample_sum(m.summary.sample_sum);
          for (const auto& q : m.summary.quantile) {
            pb::Quantile& pq = *s.add_quantile();
            pq.set_quantile(q.quantile);
            pq.set_value(q.value);
          }
          break;
        }
        case prometheus::MetricType::Histogram: {
          pb::Histogram& h = *pm.mutable_histogram();
          h.set_sample_count(m.histogram.sample_count);
          h.set_sample_sum(m.histogram.sample_sum);
          for (const auto& b : m.histogram.bucket) {
            pb::Bucket& pbk = *h.add_bucket();
            pbk.set_cumulative_count(b.cumulative_count);
            pbk.set_upper_bound(b.upper_bound);
          }
          break;
        }
        case prometheus::MetricType::Untyped:
          pm.mutable_untyped()->set_value(m.untyped.value);
          break;
      }
    }
    append_delimited(mf, out);
  }
}

ProtoFamilyWriter::ProtoFamilyWriter(std::string& out, FamilyId id)
    : out_(out), f_(family(id)), mf_(std::make_unique<pb::MetricFamily>()) {}

ProtoFamilyWriter::~ProtoFamilyWriter() = default;

void ProtoFamilyWriter::add_labels(std::string_view labels, std::string_view key,
                                   std::string_view value) {
  // A series writes several samples of one label set in a row (states, reasons, results):
  // it is parsed once. Compared by content, as a writer may reuse one buffer for others.
  if (labels != parsed_of_) {
    parsed_.clear();
    parse_labels(labels, parsed_);
    parsed_of_.assign(labels);
  }
  pb::Metric& m = *mf_->add_metric();
  auto put = [&m](std::string_view name, std::string_view v) {
    pb::LabelPair& lp = *m.add_label();
    lp.set_name(name.data(), name.size());
    lp.set_value(v.data(), v.size());
  };
  bool placed = key.empty();
  for (const auto& l : parsed_) {
    // In key order, as the rendered set is and as the text writer places it.
    if (!placed && l.name > key) {
      put(key, value);
      placed = true;
    }
    put(l.name, l.value);
  }
  if (!placed) put(key, value);
}

void ProtoFamilyWriter::sample(std::string_view labels, double v, std::string_view key,
                               std::string_view value) {
  add_labels(labels, key, value);
  pb::Metric& m = *mf_->mutable_metric()->rbegin();
  if (f_.type == FamilyType::counter) {
    m.mutable_counter()->set_value(v);
  } else {
    m.mutable_gauge()->set_value(v);
  }
}

void ProtoFamilyWriter::histogram(std::string_view labels, std::span<const double> bounds,
                                  std::span<const std::uint64_t> counts, double sum,
                                  const NativeHistogram* native) {
  add_labels(labels, {}, {});
  pb::Histogram& h = *mf_->mutable_metric()->rbegin()->mutable_histogram();
  std::uint64_t total = 0;
  for (const std::uint64_t c : counts) total += c;
  // The native counts, each read once: the probing thread may add to them meanwhile.
  std::array<std::uint64_t, kNativeMaxBuckets> native_counts{};
  std::uint64_t zero_count = 0;
  const std::size_t native_size = native == nullptr ? 0 : native->size();
  if (native != nullptr) {
    zero_count = native->zero_count();
    std::uint64_t native_total = zero_count;
    for (std::size_t j = 0; j < native_size; ++j) {
      native_counts[j] = native->count(j);
      native_total += native_counts[j];
    }
    // The count is never below what either set of buckets holds (Prometheus checks that
    // of the native one), though an observation may land between their reads.
    total = std::max(total, native_total);
  }
  h.set_sample_count(total);
  h.set_sample_sum(sum);
  // Classic buckets, cumulative; +Inf is sample_count, left out as client_golang does.
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size() && i < counts.size(); ++i) {
    cumulative = std::min(total, cumulative + counts[i]);
    pb::Bucket& b = *h.add_bucket();
    b.set_cumulative_count(cumulative);
    b.set_upper_bound(bounds[i]);
  }
  if (native == nullptr) return;
  h.set_schema(native->schema());
  h.set_zero_threshold(kNativeZeroThreshold);
  h.set_zero_count(zero_count);
  // Spans of consecutive non-empty buckets; each delta is a bucket's count less the previous
  // one's.
  pb::BucketSpan* span = nullptr;
  std::int64_t previous = 0;
  std::int32_t next = 0;  // the index after the last bucket written
  for (std::size_t j = 0; j < native_size; ++j) {
    const auto c = static_cast<std::int64_t>(native_counts[j]);
    if (c == 0) continue;
    const std::int32_t index = native->first_index() + static_cast<std::int32_t>(j);
    if (span == nullptr || index != next) {
      const std::int32_t offset = span == nullptr ? index : index - next;
      span = h.add_positive_span();
      span->set_offset(offset);
    }
    span->set_length(span->length() + 1);
    h.add_positive_delta(c - previous);
    previous = c;
    next = index + 1;
  }
}

void ProtoFamilyWriter::flush() {
  if (mf_->metric_size() == 0) return;
  mf_->set_name(std::string(f_.name));
  mf_->set_help(std::string(f_.help));
  mf_->set_type(proto_type(f_.type));
  append_delimited(*mf_, out_);
  mf_->Clear();
}

}  // namespace stx
