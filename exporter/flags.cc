#include "exporter/flags.h"

#include <charconv>

#include "exporter/web.h"

namespace stx {
namespace {

struct FlagSpec {
  std::string_view name;
  bool takes_value;
};

constexpr FlagSpec kFlags[] = {
    {"config.file", true},
    {"web.listen-address", true},
    {"log.level", true},
    {"log.format", true},
    {"config.check", false},
    {"version", false},
    {"help", false},
    {"web.config.file", true},
    {"web.telemetry-path", true},
    {"web.external-url", true},
    {"web.route-prefix", true},
    {"shard.count", true},
    {"shard.index", true},
    {"shard.replicas", true},
};

// "/" followed by `p` without leading and trailing slashes, as Prometheus normalizes it.
std::string trimmed_prefix(std::string_view p) {
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  return "/" + std::string(p);
}

// An error for a path flag that does not start with "/" or holds a query or fragment.
std::string bad_path(std::string_view flag, std::string_view value) {
  if (value.empty() || value.front() != '/') {
    return "flag --" + std::string(flag) + ": \"" + std::string(value) + "\" must start with /";
  }
  if (value.find_first_of("?# ") != std::string_view::npos) {
    return "flag --" + std::string(flag) + ": \"" + std::string(value) +
           "\" must be a plain path, without query, fragment or spaces";
  }
  return {};
}

// Checks the web path flags and derives the route prefix and the external path.
std::string settle_web_paths(Flags& out) {
  if (!out.external_url.empty()) {
    std::string error;
    const auto path = external_url_path(out.external_url, &error);
    if (!path) return "flag --web.external-url: " + error;
    out.external_path = *path;
  }
  if (out.route_prefix.empty()) out.route_prefix = out.external_path;
  if (std::string e = bad_path("web.route-prefix", out.route_prefix); !e.empty()) return e;
  out.route_prefix = trimmed_prefix(out.route_prefix);
  // Without an external URL, users reach the routes where they are served.
  if (out.external_url.empty()) out.external_path = out.route_prefix;
  if (std::string e = bad_path("web.telemetry-path", out.telemetry_path); !e.empty()) return e;
  for (const std::string_view route : kFixedRoutes) {
    if (out.telemetry_path == route) {
      return "flag --web.telemetry-path: \"" + out.telemetry_path + "\" is taken by another route";
    }
  }
  return {};
}

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
         "  --web.telemetry-path=PATH    path to serve metrics on, under the route prefix\n"
         "                               (default \"/metrics\")\n"
         "  --web.external-url=URL       URL users reach the exporter at, e.g. through a\n"
         "                               reverse proxy; pages link to its path (default:\n"
         "                               none, links relative to the page)\n"
         "  --web.route-prefix=PATH      prefix of every HTTP route (default: the path of\n"
         "                               --web.external-url, else /)\n"
         "  --shard.count=N              replicas that share one configuration's targets\n"
         "                               (default 1)\n"
         "  --shard.index=I              this replica's place, 0 to N-1, or \"hostname\": the\n"
         "                               number after the hostname's last - (default 0)\n"
         "  --shard.replicas=R           replicas that probe each target, 1 to N (default 1)\n"
         "  --log.level=LEVEL            debug, info, warn or error (default \"info\")\n"
         "  --log.format=FORMAT          logfmt or json (default \"logfmt\")\n"
         "  --config.check               validate the configuration and exit 0 (valid) or 1\n"
         "  --version                    print version and git revision, then exit\n"
         "  -h, --help                   print this help, then exit\n";
}

std::string parse_flags(const std::vector<std::string_view>& args, Flags& out,
                        const HostnameSource& hostname) {
  bool listen_given = false;
  ShardFlags shard;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "-h") {
      out.help = true;
      continue;
    }
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
    if (name == "web.telemetry-path") out.telemetry_path = std::string(*value);
    if (name == "web.external-url") out.external_url = std::string(*value);
    if (name == "web.route-prefix") out.route_prefix = std::string(*value);
    if (name == "shard.count") shard.count = std::string(*value);
    if (name == "shard.index") shard.index = std::string(*value);
    if (name == "shard.replicas") shard.replicas = std::string(*value);
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
  if (std::string e = settle_shard(shard, hostname, out.shard); !e.empty()) return e;
  return settle_web_paths(out);
}

std::optional<std::string> external_url_path(std::string_view url, std::string* error) {
  std::string_view rest = url;
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (rest.starts_with(scheme)) rest.remove_prefix(scheme.size());
  }
  const auto host_end = rest.find_first_of("/?#");
  if (rest.size() == url.size() || host_end == 0 || rest.empty()) {
    *error = "\"" + std::string(url) +
             "\" is not an absolute URL (want http://HOST[:PORT][/PATH] or https://...)";
    return std::nullopt;
  }
  const std::string_view path = host_end == std::string_view::npos ? "" : rest.substr(host_end);
  if (path.find_first_of("?# ") != std::string_view::npos) {
    *error = "\"" + std::string(url) + "\" must not have a query, fragment or spaces";
    return std::nullopt;
  }
  return trimmed_prefix(path);
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
