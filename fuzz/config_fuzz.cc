// parse_config on arbitrary bytes as TOML. Bad input must end in a ConfigError with one
// "fuzz.toml[:line:col]: ..." line; any other exception or a crash is a finding. A config
// that loads must hold what README "Configuration" promises, and /probe must be able to
// derive targets from its modules.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <set>
#include <string>
#include <string_view>

#include "config/config.h"
#include "fuzz/fuzz_check.h"

namespace {

using std::chrono::milliseconds;
using stx::Config;
using stx::ConfigError;
using stx::TargetConfig;

constexpr std::string_view kSource = "fuzz.toml";

bool one_line(std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; }

void check_error(const ConfigError& e) {
  const std::string_view message = e.what();
  FUZZ_CHECK(one_line(message));
  FUZZ_CHECK(message.substr(0, kSource.size()) == kSource);
}

template <typename Pairs>
bool sorted_unique_names(const Pairs& pairs) {
  for (std::size_t i = 1; i < pairs.size(); ++i) {
    if (!(pairs[i - 1].first < pairs[i].first)) return false;
  }
  return true;
}

void check_target(const TargetConfig& t) {
  FUZZ_CHECK(t.shared->interval >= milliseconds(1000));
  FUZZ_CHECK(t.shared->timeout < t.shared->interval);
  FUZZ_CHECK(t.shared->failures_before_down >= 1 && t.shared->failures_before_down <= 100);
  FUZZ_CHECK(t.shared->successes_before_up >= 1 && t.shared->successes_before_up <= 100);
  FUZZ_CHECK(t.shared->headers.size() <= 16);
  FUZZ_CHECK(sorted_unique_names(t.labels));
  FUZZ_CHECK(t.shared->keepalive_interval == milliseconds(0) ||
             (t.shared->keepalive_interval >= milliseconds(5000) &&
              t.shared->keepalive_interval <= milliseconds(3'600'000)));
  FUZZ_CHECK(t.shared->tls.cert_file.empty() == t.shared->tls.key_file.empty());
}

void check_config(const Config& config) {
  const auto& buckets = config.exporter.rtt_buckets;
  FUZZ_CHECK(!buckets.empty());
  FUZZ_CHECK(std::adjacent_find(buckets.begin(), buckets.end(),
                                [](double a, double b) { return !(a < b); }) == buckets.end());
  for (const std::string& w : config.warnings) FUZZ_CHECK(one_line(w));

  std::set<std::string> names;
  for (const TargetConfig& t : config.targets) {
    check_target(t);
    FUZZ_CHECK(names.insert(t.name).second);
  }

  FUZZ_CHECK(stx::find_module(config, "default") != nullptr);
  for (std::size_t i = 0; i < config.modules.size(); ++i) {
    const stx::ModuleConfig& m = config.modules[i];
    if (i > 0) FUZZ_CHECK(config.modules[i - 1].name < m.name);
    FUZZ_CHECK(stx::find_module(config, m.name) == &m);
    FUZZ_CHECK(m.settings.labels.empty());
    // /probe with each module and a few of the config's own target URIs.
    for (std::size_t k = 0; k < config.targets.size() && k < 4; ++k) {
      try {
        const TargetConfig t = stx::target_for_probe(m, config.targets[k].uri);
        FUZZ_CHECK(t.uri == config.targets[k].uri);
      } catch (const ConfigError& e) {
        FUZZ_CHECK(one_line(e.what()));
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    check_config(stx::parse_config(text, kSource));
  } catch (const ConfigError& e) {
    check_error(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parse_config threw something other than ConfigError: %s\n", e.what());
    std::abort();
  }
  return 0;
}
