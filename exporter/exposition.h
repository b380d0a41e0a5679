#pragma once
// The Prometheus text exposition format (0.0.4) of collected metric families, written into
// one string with std::to_chars. prometheus-cpp's TextSerializer formats through iostreams
// and snprintf, which was 78% of a scrape's instructions at a few thousand targets.
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace stx {

// Appends `families` to `out` exactly as prometheus::TextSerializer writes them (values as
// "%.16g", NaN as "Nan", infinities as "+Inf"/"-Inf"), except that HELP text is escaped as
// the format requires.
void write_exposition(const std::vector<prometheus::MetricFamily>& families, std::string& out);

}  // namespace stx
