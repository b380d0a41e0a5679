#pragma once
// Parsers of the [exporter] keys: histogram buckets and the DNS resolver's servers and TTLs.
#include <toml++/toml.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/toml_values.h"

namespace stx::config_impl {

// Positive, finite and strictly increasing upper bounds in seconds.
std::vector<double> parse_rtt_buckets(const ConfigSource& src, const toml::node& node,
                                      const std::string& key_context);
// "ip", "ip:port" or "[v6]:port" (also "[v6]") with IP literals only.
std::vector<std::string> parse_dns_servers(const ConfigSource& src, const toml::node& node,
                                           const std::string& key_context);
// A duration of whole seconds from `min` to 24h (dns_min_ttl, dns_max_ttl, dns_grace).
std::chrono::seconds parse_dns_seconds(const ConfigSource& src, const toml::node& node,
                                       const std::string& key_context, Millis min);
// dns_min_ttl must not exceed dns_max_ttl; blames dns_max_ttl when [exporter] sets it.
void check_dns_ttls(const ConfigSource& src, const toml::table& table, const std::string& context,
                    const DnsSettings& dns);

}  // namespace stx::config_impl
