#include "config/modules.h"

#include <algorithm>

#include "config/config_keys.h"
#include "config/duration.h"
#include "config/setting_checks.h"
#include "config/transport_settings.h"
#include "sip/message_text.h"

namespace stx {
namespace config_impl {
namespace {

constexpr const char* kDefaultModule = "default";

// 1-64 characters of [A-Za-z0-9_-]: safe in a query string, a log line and a label value.
bool is_valid_module_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxModuleNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// "default" is [defaults] itself, with a timeout that fits a /probe request.
ModuleConfig default_module(ConfigSource& src, const Settings& defaults) {
  ModuleConfig module{kDefaultModule, defaults.resolved(), {}};  // never trusts a host
  module.settings.labels.clear();
  // One probe keeps no connection alive.
  module.settings.shared.edit().keepalive_interval = Millis::zero();
  if (module.settings.shared->timeout > kMaxModuleTimeout) {
    // Not an error: the timeout is fine for [[target]] tables, which may not use /probe.
    src.warn(defaults.timeout_node->source(), "[defaults]: timeout",
             format_duration(module.settings.shared->timeout) + " is longer than the " +
                 format_duration(kMaxModuleTimeout) +
                 " allowed for /probe modules; /probe requests with module \"default\" use " +
                 format_duration(kMaxModuleTimeout));
    module.settings.shared.edit().timeout = kMaxModuleTimeout;
  }
  return module;
}

ModuleConfig parse_module(ConfigSource& src, const toml::key& key, const toml::node& node,
                          const Settings& defaults) {
  const std::string name(key.str());
  if (name == kDefaultModule) {
    src.fail(key.source(), "[module.default]",
             "the name \"default\" is reserved: the default module is [defaults] itself (set its "
             "keys there)");
  }
  if (!is_valid_module_name(name)) {
    src.fail(key.source(), "",
             "module: name " + quote_utf8(name) + " is not a valid module name (want 1-" +
                 std::to_string(kMaxModuleNameLength) + " characters of A-Z a-z 0-9 _ -)");
  }
  const std::string context = "[module." + name + "]";
  const toml::table* table = node.as_table();
  if (table == nullptr) src.fail(node.source(), context, "expected a table, got " + type_of(node));

  Settings s = defaults;
  s.keepalive_interval = Millis::zero();  // one probe keeps no connection alive
  s.nodes.erase("keepalive_interval");
  const toml::node* timeout_node = nullptr;
  for (const auto& [k, value] : in_document_order(*table)) {
    const std::string_view key_name = k->str();
    const ConfigKey* config_key = find_config_key(key_name);
    if (config_key != nullptr && !config_key->not_for_modules.empty()) {
      src.fail(k->source(), context + ": " + std::string(key_name),
               "not used by /probe modules (" + std::string(config_key->not_for_modules) + ")");
    }
    if (key_name == "timeout") timeout_node = value;
    apply_setting(src, known_key(src, *k, kInModule, context), *value, context, s);
  }
  if (timeout_node != nullptr) {
    check_at_most(src, *timeout_node, context + ": timeout", s.timeout, kMaxModuleTimeout);
  } else if (s.timeout > kMaxModuleTimeout) {
    src.fail(s.timeout_node->source(), context + ": timeout",
             format_duration(s.timeout) + " from [defaults] is longer than the " +
                 format_duration(kMaxModuleTimeout) +
                 " allowed for /probe modules; set timeout in " + context);
  }

  check_one_password_source(src, *table, context);
  check_settings(src, defaults, s, context, node, nullptr, nullptr);
  warn_insecure(src, s, context);

  ModuleConfig module{name, s.resolved(), s.auth_trusted_hosts};
  module.settings.labels.clear();
  if (module.settings.shared->auth && module.auth_trusted_hosts.empty()) {
    src.warn(node.source(), context,
             "credentials without auth_trusted_hosts: /probe requests with this module never "
             "answer a challenge");
  }
  return module;
}

}  // namespace

std::vector<ModuleConfig> parse_modules(ConfigSource& src, const toml::node* node,
                                        const Settings& defaults) {
  std::vector<ModuleConfig> modules;
  modules.push_back(default_module(src, defaults));
  if (node != nullptr) {
    const toml::table* table = node->as_table();
    if (table == nullptr) {
      src.fail(node->source(), "",
               "module: expected a table of modules ([module.<name>]), got " + type_of(*node));
    }
    for (const auto& [key, value] : in_document_order(*table)) {
      modules.push_back(parse_module(src, *key, *value, defaults));
    }
  }
  std::sort(modules.begin(), modules.end(),
            [](const ModuleConfig& a, const ModuleConfig& b) { return a.name < b.name; });
  return modules;
}

}  // namespace config_impl

using config_impl::effective_transport;
using config_impl::is_secure;
using config_impl::parse_target_uri;
using config_impl::quoted;
using config_impl::source_family_conflict;
using config_impl::transport_conflict;
using config_impl::uri_length_error;

const ModuleConfig* find_module(const Config& config, std::string_view name) {
  auto it = std::lower_bound(
      config.modules.begin(), config.modules.end(), name,
      [](const ModuleConfig& module, std::string_view n) { return module.name < n; });
  if (it == config.modules.end() || it->name != name) return nullptr;
  return &*it;
}

TargetConfig target_for_probe(const ModuleConfig& module, std::string_view uri) {
  if (uri.empty()) {
    throw ConfigError("target: must not be empty (want a SIP URI like \"sip:203.0.113.7:5060\")");
  }
  if (std::string error = uri_length_error(uri); !error.empty()) {
    throw ConfigError("target: " + error);
  }
  std::string error;
  std::optional<SipUri> parsed = parse_target_uri(uri, &error);
  if (!parsed) throw ConfigError("target " + quote_utf8(uri) + ": " + error);
  auto reject = [&](const std::string& reason) {
    return ConfigError("target " + quote_utf8(uri) + ": " + reason);
  };
  const std::string of_module = " (module " + quote_utf8(module.name) + ")";
  TargetConfig target = module.settings;
  if (target.shared->transport) {
    if (std::string conflict = transport_conflict(*parsed, *target.shared->transport);
        !conflict.empty()) {
      throw reject("transport " + conflict + of_module);
    }
  }
  target.shared.edit().transport = effective_transport(*parsed, target.shared->transport);
  if (target.shared->transport && !is_secure(*target.shared->transport) &&
      target.shared->tls != TlsSettings{}) {
    throw reject("the transport is " + quoted(*target.shared->transport) +
                 ", but TLS settings need transport \"tls\" or \"wss\"" + of_module);
  }
  if (std::string conflict = source_family_conflict(target.shared->source_address, *parsed);
      !conflict.empty()) {
    throw reject("source_address " + conflict + of_module);
  }
  // Credentials answer only the hosts the module trusts: else any caller could name a host
  // of theirs and collect a digest response to attack offline.
  if (target.shared->auth && !host_matches(module.auth_trusted_hosts, *parsed)) {
    target.shared.edit().auth.reset();
  }
  target.name = std::string(uri);
  target.uri = std::string(uri);
  return target;
}

}  // namespace stx
