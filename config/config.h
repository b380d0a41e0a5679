#pragma once
// The validated, immutable configuration. Knows no sockets and no metrics.
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "probes/sip_uri.h"

namespace stx {

// Which final status codes count as a healthy answer: "2xx"-style classes or exact codes.
struct HealthyCodes {
  bool classes[7] = {};        // classes[2] true means 2xx
  std::vector<int> codes;      // exact codes
  bool contains(int code) const;
  bool operator==(const HealthyCodes&) const = default;
};

struct TargetConfig {
  std::string name;            // unique; the `target` label
  std::string uri;             // as written, used as Request-URI and To
  SipUri parsed_uri;
  std::chrono::milliseconds interval{30000};
  std::chrono::milliseconds timeout{5000};
  int failures_before_down = 3;
  int successes_before_up = 1;
  HealthyCodes healthy_codes;  // default 2xx
  std::string from;
  std::string user_agent;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name
  bool operator==(const TargetConfig&) const = default;
};

// A `[module.<name>]` table: probe settings for /probe?module=<name>. `settings` holds every
// per-target key resolved against [defaults]; its name, uri and labels are empty.
struct ModuleConfig {
  std::string name;
  TargetConfig settings;
};

struct ExporterConfig {
  std::vector<double> rtt_buckets;  // upper bounds in seconds, strictly increasing
};

struct Config {
  ExporterConfig exporter;
  std::vector<TargetConfig> targets;
  std::vector<ModuleConfig> modules;  // sorted by name; always holds "default" ([defaults])
  std::vector<std::string> warnings;  // "file:line:col: ..." lines worth logging
};

// Thrown with "file:line:col: message" (line/col omitted when unknown).
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<double> default_rtt_buckets();
std::string default_user_agent();

Config parse_config(std::string_view toml_text, std::string_view source_name);

// The module called `name`, or nullptr.
const ModuleConfig* find_module(const Config& config, std::string_view name);

// A target for one /probe request: `module`'s settings with `uri` (from the query string).
// Throws ConfigError with a one-line reason fit for an HTTP 400 body
// (e.g. `target "sip:x:99999": port "99999" out of range 1-65535`).
TargetConfig target_for_probe(const ModuleConfig& module, std::string_view uri);
Config load_config_file(const std::string& path);

}  // namespace stx
