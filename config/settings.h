#pragma once
// The per-target settings as [defaults], a [[target]] or a [module.<name>] builds them up,
// with the TOML nodes they came from (for messages that point at what the user wrote).
#include <toml++/toml.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/limits.h"

namespace stx::config_impl {

inline constexpr const char* kDefaultFrom = "sip:sip_trunk_exporter@localhost";

// Settings shared by [defaults], [[target]] and [module.<name>], with the nodes they came from.
struct Settings {
  Millis interval{30'000};
  Millis timeout{5'000};
  std::optional<Millis> fast_interval;  // unset: the interval
  std::optional<Millis> down_interval;  // unset: the interval
  IntervalJitter interval_jitter;
  const toml::node* interval_node = nullptr;
  const toml::node* timeout_node = nullptr;
  int failures_before_down = 3;
  int successes_before_up = 1;
  HealthyCodes healthy_codes;
  HealthyCodes degraded_codes;
  std::string from = kDefaultFrom;
  std::string user_agent = default_user_agent();
  std::map<std::string, std::string> labels;
  std::optional<Transport> transport;  // the key only; a target's URI may add one
  ProbeAddresses probe = ProbeAddresses::all;
  UpWhen up_when = UpWhen::any;
  ProbeMethod method = ProbeMethod::options;
  std::string aor;
  int min_contacts = 0;
  Millis invite_cancel_after{0};
  std::string to;
  std::string ruri_user;
  std::string contact;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string source_address;
  std::uint16_t source_port = 0;
  TlsSettings tls;
  std::string ws_path = "/";
  Millis keepalive_interval{0};
  std::string auth_user;
  std::string auth_password;  // resolved, from auth_password or auth_password_env
  std::string auth_password_env;
  HostPatterns auth_trusted_hosts;  // modules only
  // Where each key was last set (a target's copy starts with the [defaults] nodes).
  std::map<std::string, const toml::node*, std::less<>> nodes;

  Settings() {
    healthy_codes.classes[2] = true;
    degraded_codes.codes.push_back(503);
  }

  const toml::node* node(std::string_view key) const {
    auto it = nodes.find(key);
    return it == nodes.end() ? nullptr : it->second;
  }

  // A TargetConfig with these settings; name and uri are left empty.
  TargetConfig resolved() const;
};

}  // namespace stx::config_impl
