#pragma once
// Parsers of the per-target keys about timing, healthy answers and the OPTIONS request's
// fields and credentials. Each throws ConfigError naming the key and what is wrong.
#include <toml++/toml.h>

#include <string>
#include <string_view>

#include "config/config.h"
#include "config/toml_values.h"

namespace stx::config_impl {

Millis parse_interval(const ConfigSource& src, const toml::node& node,
                      const std::string& key_context);
Millis parse_timeout(const ConfigSource& src, const toml::node& node,
                     const std::string& key_context);
// A duration ("2s") or a whole percentage of the interval ("10%", at most 100%).
IntervalJitter parse_interval_jitter(const ConfigSource& src, const toml::node& node,
                                     const std::string& key_context);
// healthy_codes and degraded_codes; only the latter may be empty (no degraded state).
HealthyCodes parse_healthy_codes(const ConfigSource& src, const toml::node& node,
                                 const std::string& key_context, bool may_be_empty = false);
std::string parse_user_agent(const ConfigSource& src, const toml::node& node,
                             const std::string& key_context);
// A sip:/sips: URI for a header (from, to, contact); `example` shows one in the type error.
std::string parse_uri_value(const ConfigSource& src, const toml::node& node,
                            const std::string& key_context, std::string_view example);
// `method`: "options" or "register" ("invite" is refused as not available yet).
ProbeMethod parse_method(const ConfigSource& src, const toml::node& node,
                         const std::string& key_context);
// `invite_cancel_after`: a duration from 0 (CANCEL at once) to kMaxInviteCancelAfter.
Millis parse_invite_cancel_after(const ConfigSource& src, const toml::node& node,
                                 const std::string& key_context);
// `min_contacts`: an integer from 1 to kMaxMinContacts.
int parse_min_contacts(const ConfigSource& src, const toml::node& node,
                       const std::string& key_context);
std::string parse_ruri_user(const ConfigSource& src, const toml::node& node,
                            const std::string& key_context);
std::string parse_auth_user(const ConfigSource& src, const toml::node& node,
                            const std::string& key_context);
std::string parse_password(const ConfigSource& src, const toml::node& node,
                           const std::string& key_context);
// Returns the variable's name and stores its value in `password`.
std::string parse_password_env(const ConfigSource& src, const toml::node& node,
                               const std::string& key_context, std::string& password);

}  // namespace stx::config_impl
