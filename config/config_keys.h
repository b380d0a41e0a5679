#pragma once
// The one table of configuration keys: where each may be set, how its value is parsed and
// checked, and what it means. Parsing, the module rules and the README test all read it.
#include <toml++/toml.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/settings.h"
#include "config/toml_values.h"

namespace stx::config_impl {

// Where a key may be set: a bit set of tables.
enum KeyPlace : std::uint8_t {
  kInExporter = 1,  // [exporter]
  kInDefaults = 2,  // [defaults]
  kInTarget = 4,    // [[target]]
  kInModule = 8,    // [module.<name>]
};

// Parses `node` (the key's value) into the settings of one table; throws ConfigError.
using SettingParser = void (*)(const ConfigSource& src, const toml::node& node,
                               const std::string& key_context, Settings& settings);
using ExporterParser = void (*)(const ConfigSource& src, const toml::node& node,
                                const std::string& key_context, ExporterConfig& exporter);

struct ConfigKey {
  std::string_view name;
  std::uint8_t places = 0;                  // KeyPlace bits
  SettingParser parse_setting = nullptr;    // per-target keys except name and uri
  ExporterParser parse_exporter = nullptr;  // [exporter] keys
  // For a per-target key a module refuses: why it has no place in a /probe request.
  std::string_view not_for_modules;
  std::string_view doc;  // one line
};

// Every key, in the order that breaks did-you-mean ties.
std::span<const ConfigKey> config_keys();

// The key called `name`, or nullptr.
const ConfigKey* find_config_key(std::string_view name);

// The names of the keys allowed in `place` (a KeyPlace), in table order.
std::vector<std::string_view> key_names(KeyPlace place);

// The key `key` of a table of `place`; else throws ConfigError "unknown key" with a suggestion.
const ConfigKey& known_key(const ConfigSource& src, const toml::key& key, KeyPlace place,
                           const std::string& context);

// Records where `key` was set in `settings` and parses its value into them.
void apply_setting(const ConfigSource& src, const ConfigKey& key, const toml::node& node,
                   const std::string& context, Settings& settings);

}  // namespace stx::config_impl
