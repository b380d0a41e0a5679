#include "exporter/flags.h"

#include <charconv>

namespace stx {
namespace {

struct FlagSpec {
  std::string_view name;
  bool takes_value;
};

constexpr FlagSpec kFlags[] = {
    {"config.file", true}, {"web.listen-address", true}, {"log.level", true},
    {"log.format", true},  {"config.check", false},      {"version", false},
    {"help", false},       {"web.config.file", true},
};

}  // namespace

std::string usage() {
  return "usage: sip_trunk_exporter [flags]\n"
         "\n"
         "Probes SIP trunks and gateways with OPTIONS and serves Prometheus metrics.\n"
         "\n"
         "Flags:\n"
         "  --config.file=PATH           TOML configuration file (default "
         "\"sip_trunk_exporter.toml\")\n"
         "  --web.listen-address=ADDR    address to serve HTTP on, HOST:PORT, [IPv6]:PORT or\n"
         "                               :PORT; repeat the flag to listen on several\n"
         "                               (default \":15060\")\n"
         "  --web.config.file=PATH       TLS and basic auth, in the exporter-toolkit web\n"
         "                               configuration YAML (default: none, plain HTTP)\n"
         "  --log.level=LEVEL            debug, info, warn or error (default \"info\")\n"
         "  --log.format=FORMAT          logfmt or json (default \"logfmt\")\n"
         "  --config.check               validate the configuration and exit 0 (valid) or 1\n"
         "  --version                    print version and git revision, then exit\n"
         "  --help                       print this help, then exit\n";
}

std::string parse_flags(const std::vector<std::string_view>& args, Flags& out) {
  bool listen_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a.substr(0, 2) != "--") {
      return "unexpected argument \"" + std::string(a) + "\" (flags start with --)";
    }
    a.remove_prefix(2);
    const auto eq = a.find('=');
    const std::string_view name = a.substr(0, eq);
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos) value = a.substr(eq + 1);
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& f : kFlags) {
      if (f.name == name) spec = &f;
    }
    if (spec == nullptr) return "unknown flag --" + std::string(name);
    if (spec->takes_value && !value) {
      if (i + 1 >= args.size()) return "flag --" + std::string(name) + " needs a value";
      value = args[++i];
    }
    if (!spec->takes_value) {
      if (value && *value != "true" && *value != "false") {
        return "flag --" + std::string(name) + " takes no value other than true or false";
      }
      const bool on = !value || *value == "true";
      if (name == "config.check") out.config_check = on;
      if (name == "version") out.version = on;
      if (name == "help") out.help = on;
      continue;
    }
    if (name == "config.file") out.config_file = std::string(*value);
    if (name == "web.config.file") out.web_config_file = std::string(*value);
    if (name == "web.listen-address") {
      if (!listen_given) out.listen_addresses.clear();
      listen_given = true;
      out.listen_addresses.emplace_back(*value);
    }
    if (name == "log.format") {
      if (*value != "logfmt" && *value != "json") {
        return "flag --log.format: \"" + std::string(*value) + "\" is not one of logfmt, json";
      }
      out.log_format = std::string(*value);
    }
    if (name == "log.level") {
      if (*value != "debug" && *value != "info" && *value != "warn" && *value != "error") {
        return "flag --log.level: \"" + std::string(*value) +
               "\" is not one of debug, info, warn, error";
      }
      out.log_level = std::string(*value);
    }
  }
  std::string error;
  for (const std::string& a : out.listen_addresses) {
    if (!parse_listen_address(a, &error)) return "flag --web.listen-address: " + error;
  }
  return {};
}

std::optional<ListenAddress> parse_listen_address(std::string_view s, std::string* error) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos) {
    *error = "\"" + std::string(s) + "\" has no port (want HOST:PORT or :PORT)";
    return std::nullopt;
  }
  ListenAddress out;
  std::string_view host = s.substr(0, colon);
  const std::string_view port = s.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    *error = "\"" + std::string(s) + "\": write IPv6 addresses in brackets, e.g. [::1]:15060";
    return std::nullopt;
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    *error = "\"" + std::string(s) + "\": port \"" + std::string(port) + "\" is not 0-65535";
    return std::nullopt;
  }
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

}  // namespace stx
