#pragma once
// Checks across the keys of one table (with what it inherits from [defaults]): transport
// against the URI and TLS keys, certificate with key, user with password, source address
// family; and the warnings a valid but risky setting earns.
#include <toml++/toml.h>

#include <optional>
#include <string>

#include "config/config.h"
#include "config/settings.h"
#include "config/toml_values.h"
#include "sip/sip_uri.h"

namespace stx::config_impl {

// auth_password and auth_password_env are one setting: a table may set only one of them.
void check_one_password_source(const ConfigSource& src, const toml::table& table,
                               const std::string& context);

// Checks what one table's settings `s` mean together, and returns the effective transport.
// `defaults` tells inherited keys apart (messages blame what the table itself set first).
// `uri` and `uri_node` are a target's; null for [defaults] and modules.
std::optional<Transport> check_settings(const ConfigSource& src, const Settings& defaults,
                                        const Settings& s, const std::string& context,
                                        const toml::node& table, const SipUri* uri,
                                        const toml::node* uri_node);

void warn_insecure(ConfigSource& src, const Settings& s, const std::string& context);
void warn_short_interval(ConfigSource& src, const toml::node& node, const std::string& context,
                         std::string_view key, Millis interval);

}  // namespace stx::config_impl
