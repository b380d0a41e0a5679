#pragma once
// Command-line flags, in the Prometheus exporters' --group.name=value style.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/sharding.h"
#include "exporter/shard_flags.h"

namespace stx {

inline constexpr std::uint16_t kDefaultPort = 15060;

struct Flags {
  std::string config_file = "sip_trunk_exporter.toml";
  std::vector<std::string> listen_addresses = {":15060"};  // the flag may be repeated
  std::string web_config_file;              // --web.config.file; empty: plain HTTP, no auth
  std::string telemetry_path = "/metrics";  // under the route prefix
  std::string external_url;                 // as users reach us, e.g. through a proxy
  // Every route is served under it: "/" or "/x" with no trailing slash. parse_flags sets it
  // to the external URL's path when the flag is not given, as Prometheus does.
  std::string route_prefix;
  // Set by parse_flags: the external URL's path, or the route prefix without one; same form.
  std::string external_path = "/";
  std::string log_level = "info";
  std::string log_format = "logfmt";
  Shard shard;  // --shard.count, --shard.index, --shard.replicas
  bool config_check = false;
  bool version = false;
  bool help = false;
};

// Parses argv (without argv[0]). Returns an error message, or empty on success.
// `hostname` is asked only for --shard.index=hostname.
std::string parse_flags(const std::vector<std::string_view>& args, Flags& out,
                        const HostnameSource& hostname = machine_hostname);

std::string usage();

struct ListenAddress {
  std::string host;  // empty: every address
  std::uint16_t port = 0;
};

// The path of an absolute http(s) URL, as a route prefix: "/" or "/x" with no trailing slash.
std::optional<std::string> external_url_path(std::string_view url, std::string* error);

// "HOST:PORT", "[v6]:PORT" or ":PORT".
std::optional<ListenAddress> parse_listen_address(std::string_view s, std::string* error);

}  // namespace stx
