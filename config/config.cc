// TOML -> validated Config.
//
// Nothing is guessed: every key is checked for type and range, unknown keys are
// errors, and the first problem throws a ConfigError with a one-line
// "FILE:LINE:COL: [table]: key: message" pointing at the offending node.
//
// This file reads the top level, [exporter], [defaults] and [[target]] tables. Which key may
// go where, and how each value is parsed, is the key table's (config_keys.h); [defaults],
// [[target]] and [module.<name>] share its parsers (apply_setting). The URI of a /probe
// request goes through the same checks as a target's `uri` (parse_target_uri).
#include "config/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "config/config_keys.h"
#include "config/diagnostics.h"
#include "config/duration.h"
#include "config/exporter_settings.h"
#include "config/modules.h"
#include "config/setting_checks.h"
#include "config/settings.h"
#include "config/shared_settings.h"
#include "config/toml_values.h"
#include "config/transport_settings.h"
#include "sip/message_text.h"
#include "version.h"

namespace stx {
namespace {

using namespace config_impl;  // NOLINT(google-build-using-namespace): this file is its user

constexpr std::string_view kTopLevelKeys[] = {"exporter", "defaults", "target", "module"};

class Parser {
 public:
  explicit Parser(std::string_view source_name) : src_(source_name) {}

  Config run(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, src_.name());
    } catch (const toml::parse_error& e) {
      throw ConfigError(src_.location(e.source()) + ": " + one_line(e.description()));
    }

    for (const auto& [key, node] : in_document_order(root)) {
      if (!is_one_of(key->str(), kTopLevelKeys)) {
        src_.fail(key->source(), "",
                  unknown_key_message("unknown top-level key", key->str(), kTopLevelKeys));
      }
    }

    config_.exporter.rtt_buckets = default_rtt_buckets();
    if (const toml::node* exporter = root.get("exporter")) parse_exporter(*exporter);
    if (const toml::node* defaults = root.get("defaults")) parse_defaults(*defaults);
    if (const toml::node* targets = root.get("target")) parse_targets(*targets);
    config_.modules = parse_modules(src_, root.get("module"), defaults_);
    config_.warnings = src_.take_warnings();

    // An empty or truncated file (a config-management run caught half-way) must not silently
    // stop all monitoring, at start or on reload.
    if (config_.targets.empty() && !config_.exporter.allow_no_targets) {
      throw ConfigError(src_.name() +
                        ": no [[target]] tables, so nothing would be probed; if that is meant "
                        "(an exporter for /probe only), set allow_no_targets = true in "
                        "[exporter]");
    }
    return std::move(config_);
  }

 private:
  // --- [exporter] ---------------------------------------------------------

  void parse_exporter(const toml::node& node) {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      src_.fail(node.source(), "", "exporter: expected a table ([exporter]), got " + type_of(node));
    }
    const std::string context = "[exporter]";
    // Every name first: a misspelt key is the likelier cause of a wrong-looking value.
    const auto entries = in_document_order(*table);
    for (const auto& [key, value] : entries) known_key(src_, *key, kInExporter, context);
    for (const auto& [key, value] : entries) {
      const ConfigKey& config_key = *find_config_key(key->str());
      config_key.parse_exporter(src_, *value, context + ": " + std::string(config_key.name),
                                config_.exporter);
    }
    check_dns_ttls(src_, *table, context, config_.exporter.dns);
  }

  // --- [defaults] ---------------------------------------------------------

  void parse_defaults(const toml::node& node) {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      src_.fail(node.source(), "", "defaults: expected a table ([defaults]), got " + type_of(node));
    }
    const std::string context = "[defaults]";
    for (const auto& [key, value] : in_document_order(*table)) {
      apply_setting(src_, known_key(src_, *key, kInDefaults, context), *value, context, defaults_);
    }
    check_one_password_source(src_, *table, context);
    check_settings(src_, defaults_, defaults_, context, node, nullptr, nullptr);
    if (defaults_.interval_node != nullptr && defaults_.interval < kWarnInterval) {
      warn_short_interval(src_, *defaults_.interval_node, context, "interval", defaults_.interval);
    }
    warn_short_down_interval(*table, context, defaults_);
    warn_insecure(src_, defaults_, context);
  }

  // --- [[target]] ---------------------------------------------------------

  void parse_targets(const toml::node& node) {
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      src_.fail(node.source(), "",
                "target: expected an array of tables ([[target]]), got " + type_of(node));
    }
    // Once: growing by doubling would move every loaded target several times over.
    config_.targets.reserve(array->size());
    std::size_t number = 0;
    for (const toml::node& element : *array) {
      ++number;
      parse_target(element, number);
    }
  }

  void parse_target(const toml::node& node, std::size_t number) {
    std::string context = "[[target]] #" + std::to_string(number);
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      src_.fail(node.source(), context, "expected a table, got " + type_of(node));
    }

    TargetConfig target;

    // The name comes first so that every later message can mention it.
    const toml::node* name_node = table->get("name");
    if (name_node != nullptr) {
      target.name = parse_name(*name_node, context);
      auto used = names_.find(target.name);
      if (used != names_.end()) {
        src_.fail(name_node->source(), context,
                  "name " + quote_utf8(target.name) + " is already used by [[target]] #" +
                      std::to_string(used->second.first) + " (line " +
                      std::to_string(used->second.second) + ")");
      }
      names_.emplace(target.name, std::make_pair(number, name_node->source().begin.line));
      context += " " + quote_utf8(target.name);
    }

    Settings s = defaults_;
    SipUri parsed_uri;
    const toml::node* uri_node = nullptr;
    const toml::node* interval_node = nullptr;
    const toml::node* timeout_node = nullptr;
    for (const auto& [key, value] : in_document_order(*table)) {
      const ConfigKey& config_key = known_key(src_, *key, kInTarget, context);
      const std::string_view k = config_key.name;
      if (k == "name") continue;
      if (k == "uri") {
        uri_node = value;
        parsed_uri = parse_uri(*value, context, target);
        continue;
      }
      if (k == "interval") interval_node = value;
      if (k == "timeout") timeout_node = value;
      apply_setting(src_, config_key, *value, context, s);
    }
    if (name_node == nullptr) src_.fail(node.source(), context, "missing required key \"name\"");
    if (uri_node == nullptr) src_.fail(node.source(), context, "missing required key \"uri\"");

    if (s.timeout >= s.interval) {
      // Point at what the user wrote: the target's own keys first, then [defaults].
      const toml::node* where = timeout_node != nullptr     ? timeout_node
                                : interval_node != nullptr  ? interval_node
                                : s.timeout_node != nullptr ? s.timeout_node
                                                            : s.interval_node;
      src_.fail(where != nullptr ? where->source() : node.source(), context,
                "timeout (" + format_duration(s.timeout) + ") must be shorter than interval (" +
                    format_duration(s.interval) + ")");
    }
    check_one_password_source(src_, *table, context);
    const std::optional<Transport> transport =
        check_settings(src_, defaults_, s, context, node, &parsed_uri, uri_node);
    if (interval_node != nullptr && s.interval < kWarnInterval) {
      warn_short_interval(src_, *interval_node, context, "interval", s.interval);
    }
    warn_short_down_interval(*table, context, s);
    warn_insecure(src_, s, context);

    TargetConfig resolved = s.resolved();
    resolved.name = std::move(target.name);
    resolved.uri = std::move(target.uri);
    resolved.shared.edit().transport = transport;
    interned_.intern(resolved.shared);
    config_.targets.push_back(std::move(resolved));
  }

  // Only where the table sets it: a [defaults] value warns once, not once per target.
  void warn_short_down_interval(const toml::table& table, const std::string& context,
                                const Settings& s) {
    const toml::node* node = table.get("down_interval");
    if (node != nullptr && s.down_interval && *s.down_interval < kWarnInterval) {
      warn_short_interval(src_, *node, context, "down_interval", *s.down_interval);
    }
  }

  std::string parse_name(const toml::node& node, const std::string& context) {
    const std::string key_context = context + ": name";
    const std::string& name = expect_nonempty_string(src_, node, key_context, kMaxNameLength);
    check_no_control_characters(src_, node, key_context, name);
    return name;
  }

  // Sets target.uri; returns it parsed, for the checks that depend on it.
  SipUri parse_uri(const toml::node& node, const std::string& context, TargetConfig& target) {
    const auto* str = node.as_string();
    if (str == nullptr) {
      src_.fail(node.source(), context + ": uri",
                "expected a SIP URI string like \"sip:203.0.113.7:5060\", got " + type_of(node));
    }
    const std::string& text = str->get();
    if (std::string error = uri_length_error(text); !error.empty()) {
      src_.fail(node.source(), context + ": uri", error);
    }
    std::string error;
    std::optional<SipUri> uri = parse_target_uri(text, &error);
    if (!uri) src_.fail(node.source(), context + ": uri " + quote_utf8(text), error);
    target.uri = text;
    return std::move(*uri);
  }

  ConfigSource src_;
  Config config_;
  Settings defaults_;
  SettingsInterner interned_;  // one copy of each distinct SharedSettings
  std::map<std::string, std::pair<std::size_t, std::uint32_t>> names_;  // -> (#, line)
};

}  // namespace

std::string_view to_string(Transport t) {
  switch (t) {
    case Transport::udp:
      return "udp";
    case Transport::tcp:
      return "tcp";
    case Transport::tls:
      return "tls";
    case Transport::ws:
      return "ws";
    case Transport::wss:
      return "wss";
  }
  return "udp";
}

bool HealthyCodes::contains(int code) const {
  if (code >= 100 && code <= 699 && classes[code / 100]) return true;
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

SipUri TargetConfig::parsed_uri() const {
  std::string error;
  return parse_sip_uri(uri, &error).value_or(SipUri{});
}

std::vector<double> default_rtt_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string default_user_agent() { return std::string("sip_trunk_exporter/") + kVersion; }

Config parse_config(std::string_view toml_text, std::string_view source_name) {
  return Parser(source_name).run(toml_text);
}

Config load_config_file(const std::string& path) {
  auto cannot_read = [&path](int err) {
    return ConfigError(path + ": cannot read: " + std::generic_category().message(err));
  };
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw cannot_read(errno);
  std::string text;
  char buffer[65536];
  while (true) {
    std::size_t n = std::fread(buffer, 1, sizeof buffer, file);
    text.append(buffer, n);
    if (n < sizeof buffer) break;
  }
  int err = std::ferror(file) ? (errno != 0 ? errno : EIO) : 0;
  std::fclose(file);
  if (err != 0) throw cannot_read(err);
  return parse_config(text, path);
}

}  // namespace stx
