#pragma once
// Command-line flags, in the Prometheus exporters' --group.name=value style.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stx {

inline constexpr std::uint16_t kDefaultPort = 15060;

struct Flags {
  std::string config_file = "sip_trunk_exporter.toml";
  std::vector<std::string> listen_addresses = {":15060"};  // the flag may be repeated
  std::string web_config_file;  // --web.config.file; empty: plain HTTP, no auth
  std::string log_level = "info";
  std::string log_format = "logfmt";
  bool config_check = false;
  bool version = false;
  bool help = false;
};

// Parses argv (without argv[0]). Returns an error message, or empty on success.
std::string parse_flags(const std::vector<std::string_view>& args, Flags& out);

std::string usage();

struct ListenAddress {
  std::string host;  // empty: every address
  std::uint16_t port = 0;
};

// "HOST:PORT", "[v6]:PORT" or ":PORT".
std::optional<ListenAddress> parse_listen_address(std::string_view s, std::string* error);

}  // namespace stx
