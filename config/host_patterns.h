#pragma once
// Lists of hosts in the config (auth_trusted_hosts, probe_allowed_targets): host names,
// "*.<domain>" patterns, IP literals and CIDRs.
#include <toml++/toml.h>

#include <string>
#include <string_view>

#include "config/config.h"
#include "config/toml_values.h"

namespace stx::config_impl {

// An array of strings, each a host name, "*.<domain>", an IP literal or a CIDR; `example`
// shows one in the type error.
HostPatterns parse_host_patterns(const ConfigSource& src, const toml::node& node,
                                 const std::string& key_context, std::string_view example);

}  // namespace stx::config_impl
