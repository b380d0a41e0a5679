#include "exporter/exposition.h"

#include <charconv>
#include <cmath>
#include <string_view>

namespace stx {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

}  // namespace

void put_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "Nan";
  } else if (std::isinf(v)) {
    out += v < 0 ? "-Inf" : "+Inf";
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 16);
    out.append(buf, r.ptr);
  }
}

void put_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

namespace {

// Label values escape backslash, double quote and newline; HELP text only backslash and
// newline (the text format's rules; prometheus-cpp writes HELP raw).
void put_escaped(std::string& out, std::string_view s, bool quote = true) {
  std::size_t from = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c != '\\' && c != '\n' && (c != '"' || !quote)) continue;
    out.append(s.substr(from, i - from));
    out += '\\';
    out += c == '\n' ? 'n' : c;
    from = i + 1;
  }
  out.append(s.substr(from));
}

// name{labels[,extra_name="extra_value"]} value
void put_sample(std::string& out, std::string_view name, std::string_view suffix,
                const ClientMetric& m, std::string_view extra_name, double extra_value,
                bool has_extra) {
  out.append(name);
  out.append(suffix);
  if (!m.label.empty() || has_extra) {
    out += '{';
    bool first = true;
    for (const auto& l : m.label) {
      if (!first) out += ',';
      first = false;
      out.append(l.name);
      out += "=\"";
      put_escaped(out, l.value);
      out += '"';
    }
    if (has_extra) {
      if (!first) out += ',';
      out.append(extra_name);
      out += "=\"";
      put_double(out, extra_value);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

void put_timestamp(std::string& out, const ClientMetric& m) {
  if (m.timestamp_ms != 0) {
    out += ' ';
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, m.timestamp_ms);
    out.append(buf, r.ptr);
  }
  out += '\n';
}

std::string_view type_name(MetricType t) {
  switch (t) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Summary:
      return "summary";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Untyped:
      break;
  }
  return "untyped";
}

void put_metric(std::string& out, const MetricFamily& f, const ClientMetric& m) {
  switch (f.type) {
    case MetricType::Counter:
      put_sample(out, f.name, "", m, {}, 0, false);
      put_double(out, m.counter.value);
      put_timestamp(out, m);
      return;
    case MetricType::Gauge:
      put_sample(out, f.name, "", m, {}, 0, false);
      put_double(out, m.gauge.value);
      put_timestamp(out, m);
      return;
    case MetricType::Untyped:
      put_sample(out, f.name, "", m, {}, 0, false);
      put_double(out, m.untyped.value);
      put_timestamp(out, m);
      return;
    case MetricType::Summary:
      put_sample(out, f.name, "_count", m, {}, 0, false);
      put_uint(out, m.summary.sample_count);
      put_timestamp(out, m);
      put_sample(out, f.name, "_sum", m, {}, 0, false);
      put_double(out, m.summary.sample_sum);
      put_timestamp(out, m);
      for (const auto& q : m.summary.quantile) {
        put_sample(out, f.name, "", m, "quantile", q.quantile, true);
        put_double(out, q.value);
        put_timestamp(out, m);
      }
      return;
    case MetricType::Histogram:
      put_sample(out, f.name, "_count", m, {}, 0, false);
      put_uint(out, m.histogram.sample_count);
      put_timestamp(out, m);
      put_sample(out, f.name, "_sum", m, {}, 0, false);
      put_double(out, m.histogram.sample_sum);
      put_timestamp(out, m);
      for (const auto& b : m.histogram.bucket) {
        put_sample(out, f.name, "_bucket", m, "le", b.upper_bound, true);
        put_uint(out, b.cumulative_count);
        put_timestamp(out, m);
      }
      return;
  }
}

}  // namespace

void put_header(std::string& out, std::string_view name, std::string_view help,
                std::string_view type) {
  out += "# HELP ";
  out.append(name);
  out += ' ';
  put_escaped(out, help, false);
  out += "\n# TYPE ";
  out.append(name);
  out += ' ';
  out.append(type);
  out += '\n';
}

std::size_t label_insertion_point(std::string_view labels, std::string_view key) {
  std::size_t pos = 0;
  while (pos < labels.size()) {
    const std::size_t eq = labels.find('=', pos);
    if (eq == std::string_view::npos || labels.substr(pos, eq - pos) > key) return pos;
    std::size_t i = eq + 2;  // past `="`
    while (i < labels.size() && labels[i] != '"') i += labels[i] == '\\' ? 2 : 1;
    pos = i + 2;  // past `",`
  }
  return labels.size();
}

namespace {

void put_labels_at(std::string& out, std::string_view labels, std::size_t at, std::string_view key,
                   std::string_view value, bool escape) {
  const std::string_view before = labels.substr(0, at);
  const std::string_view after = labels.substr(at);
  out.append(before);
  if (!before.empty() && before.back() != ',') out += ',';
  out.append(key);
  out += "=\"";
  if (escape) {
    put_escaped(out, value);
  } else {
    out.append(value);
  }
  out += '"';
  if (!after.empty()) {
    out += ',';
    out.append(after);
  }
}

void put_labels(std::string& out, std::string_view labels, std::string_view key,
                std::string_view value, bool last) {
  if (key.empty()) {
    out.append(labels);
    return;
  }
  const std::size_t at = last ? labels.size() : label_insertion_point(labels, key);
  put_labels_at(out, labels, at, key, value, true);
}

}  // namespace

void put_series(std::string& out, std::string_view name, std::string_view labels,
                std::string_view key, std::string_view value, bool last) {
  out.append(name);
  if (!labels.empty() || !key.empty()) {
    out += '{';
    put_labels(out, labels, key, value, last);
    out += '}';
  }
  out += ' ';
}

void put_series_at(std::string& out, std::string_view name, std::string_view labels, std::size_t at,
                   std::string_view key, std::string_view plain_value) {
  out.append(name);
  out += '{';
  put_labels_at(out, labels, at, key, plain_value, false);
  out += "} ";
}

std::string with_label(std::string_view labels, std::string_view key, std::string_view value) {
  std::string out;
  out.reserve(labels.size() + key.size() + value.size() + 4);
  put_labels(out, labels, key, value, false);
  return out;
}

void append_with_label(std::string& out, std::string_view labels, std::string_view key,
                       std::string_view value) {
  put_labels(out, labels, key, value, false);
}

std::string read_all(BodySource& source) {
  std::string out;
  for (std::string_view piece = source.next(); !piece.empty(); piece = source.next()) {
    out.append(piece);
  }
  return out;
}

void write_exposition(const std::vector<MetricFamily>& families, std::string& out) {
  for (const MetricFamily& f : families) {
    if (f.metric.empty()) continue;
    put_header(out, f.name, f.help, type_name(f.type));
    for (const ClientMetric& m : f.metric) put_metric(out, f, m);
  }
}

}  // namespace stx
