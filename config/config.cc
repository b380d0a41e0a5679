// TOML -> validated Config.
//
// Nothing is guessed: every key is checked for type and range, unknown keys are
// errors, and the first problem throws a ConfigError with a one-line
// "FILE:LINE:COL: [table]: key: message" pointing at the offending node.
//
// [defaults] and [[target]] tables share one set of validators (apply_setting), and so do
// [module.<name>] tables; the URI of a /probe request goes through the same checks as a
// target's `uri` (parse_target_uri).
#include "config/config.h"

#include <toml++/toml.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "config/diagnostics.h"
#include "config/duration.h"
#include "sip/message_text.h"
#include "sip/sip_grammar.h"
#include "version.h"

namespace stx {
namespace {

using Millis = std::chrono::milliseconds;

constexpr std::size_t kMaxNameLength = 128;
constexpr std::size_t kMaxUriLength = 1024;
constexpr std::size_t kMaxHeaderValueLength = 256;  // from, to, contact, user_agent, headers
constexpr std::size_t kMaxLabelValueLength = 1024;
constexpr std::size_t kMaxModuleNameLength = 64;
constexpr std::size_t kMaxRuriUserLength = 64;
constexpr std::size_t kMaxHeaderNameLength = 64;
constexpr std::size_t kMaxExtraHeaders = 16;
constexpr std::size_t kMaxPasswordLength = 1024;
constexpr std::size_t kMaxPathLength = 4096;
constexpr std::int64_t kMinCount = 1;
constexpr std::int64_t kMaxCount = 100;
constexpr Millis kMinInterval{1'000};
constexpr Millis kWarnInterval{10'000};
constexpr Millis kMaxInterval{24 * 3'600'000};
constexpr Millis kMaxModuleTimeout{60'000};  // a /probe request must not hang
constexpr Millis kMinKeepalive{5'000};
constexpr Millis kMaxKeepalive{3'600'000};
constexpr Millis kMinDnsTtl{1'000};
constexpr Millis kMaxDnsDuration{24 * 3'600'000};
constexpr const char* kDefaultModule = "default";
constexpr const char* kDefaultFrom = "sip:sip_trunk_exporter@localhost";

// Label names the exporter sets itself (or Prometheus attaches on scrape). A static label of
// one of these names would duplicate a label and make Prometheus reject the scrape; the
// exporter's metrics tests check every label its output writes against is_reserved_label().
constexpr std::string_view kReservedLabels[] = {
    "target",  "code", "result",  "reason",   "uri",    "transport", "server",
    "address", "le",   "version", "revision", "cipher", "instance",  "job"};

constexpr std::string_view kTopLevelKeys[] = {"exporter", "defaults", "target", "module"};
constexpr std::string_view kExporterKeys[] = {"rtt_buckets", "dns_servers", "dns_min_ttl",
                                              "dns_max_ttl", "dns_grace",   "allow_no_targets"};
// clang-format off
constexpr std::string_view kDefaultsKeys[] = {
    "interval", "timeout", "failures_before_down", "successes_before_up", "healthy_codes",
    "from", "user_agent", "labels", "transport", "probe", "up_when", "to", "contact",
    "ruri_user", "headers", "source_address", "source_port", "tls_ca_file", "tls_cert_file",
    "tls_key_file", "tls_server_name", "tls_insecure_skip_verify", "keepalive_interval",
    "auth_user", "auth_password", "auth_password_env"};
// clang-format on

// A target takes every [defaults] key plus its own name and uri.
constexpr std::array<std::string_view, std::size(kDefaultsKeys) + 2> target_keys() {
  std::array<std::string_view, std::size(kDefaultsKeys) + 2> keys{"name", "uri"};
  for (std::size_t i = 0; i < std::size(kDefaultsKeys); ++i) keys[i + 2] = kDefaultsKeys[i];
  return keys;
}
constexpr auto kTargetKeys = target_keys();
// clang-format off
// The per-target keys minus those not_for_modules() explains.
constexpr std::string_view kModuleKeys[] = {
    "timeout", "healthy_codes",
    "from", "user_agent", "transport", "probe", "up_when", "to", "contact",
    "ruri_user", "headers", "source_address", "source_port", "tls_ca_file", "tls_cert_file",
    "tls_key_file", "tls_server_name", "tls_insecure_skip_verify",
    "auth_user", "auth_password", "auth_password_env"};
// clang-format on

constexpr std::string_view kTlsKeys[] = {"tls_ca_file", "tls_cert_file", "tls_key_file",
                                         "tls_server_name", "tls_insecure_skip_verify"};

// Headers the exporter writes itself, and the key that sets each one where there is one.
struct OwnHeader {
  std::string_view name;
  std::string_view compact;  // RFC 3261 7.3.3; empty when none
  std::string_view key;      // config key that sets it; empty when none
};
constexpr OwnHeader kOwnHeaders[] = {
    {"Via", "v", ""},
    {"From", "f", "from"},
    {"To", "t", "to"},
    {"Call-ID", "i", ""},
    {"CSeq", "", ""},
    {"Contact", "m", "contact"},
    {"Max-Forwards", "", ""},
    {"Content-Length", "l", ""},
    {"Content-Type", "c", ""},
    {"User-Agent", "", "user_agent"},
    {"Authorization", "", "auth_user"},
    {"Proxy-Authorization", "", "auth_user"},
    {"Accept", "", ""},
};

// Replaces control characters so that a foreign message stays on one line.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

std::string type_name(const toml::node& node) { return stx::type_name(node.type()); }

std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc()) return std::to_string(v);
  return std::string(buf.data(), end);
}

// Entries of a table in document order (toml::table iterates by key).
std::vector<std::pair<const toml::key*, const toml::node*>> in_document_order(
    const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [key, node] : table) entries.emplace_back(&key, &node);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return entries;
}

// "longer than 1024 bytes (1026)" for a target URI that is too long, else empty.
std::string uri_length_error(std::string_view text) {
  if (text.size() <= kMaxUriLength) return "";
  return "longer than " + std::to_string(kMaxUriLength) + " bytes (" + std::to_string(text.size()) +
         ")";
}

std::optional<Transport> transport_from_name(std::string_view name) {
  if (name == "udp") return Transport::udp;
  if (name == "tcp") return Transport::tcp;
  if (name == "tls") return Transport::tls;
  return std::nullopt;
}

std::string quoted(Transport t) { return "\"" + std::string(to_string(t)) + "\""; }

// A target URI (a [[target]]'s `uri` or a /probe request's `target`): a SIP URI the prober can
// use. Returns nullopt with a one-line reason in *error.
std::optional<SipUri> parse_target_uri(std::string_view text, std::string* error) {
  std::optional<SipUri> uri = parse_sip_uri(text, error);
  if (!uri) return std::nullopt;
  if (uri->transport.empty()) return uri;
  const std::optional<Transport> t = transport_from_name(uri->transport);
  if (!t) {
    *error = "transport " + quote_utf8(uri->transport) + " is not supported (want udp, tcp or tls)";
    return std::nullopt;
  }
  if (uri->secure && *t != Transport::tls) {
    *error = "sips: needs transport tls, not ;transport=" + uri->transport;
    return std::nullopt;
  }
  return uri;
}

// Why the `transport` key `key` cannot go with `uri`, or empty.
std::string transport_conflict(const SipUri& uri, Transport key) {
  if (!uri.transport.empty() && uri.transport != to_string(key)) {
    return quoted(key) + " conflicts with the URI's ;transport=" + uri.transport;
  }
  if (uri.secure && key != Transport::tls) {
    return quoted(key) + " conflicts with the sips: URI, which needs tls";
  }
  return "";
}

// The `transport` key, else the URI's ;transport=, else tls for sips:, else none (RFC 3263).
std::optional<Transport> effective_transport(const SipUri& uri, std::optional<Transport> key) {
  if (key) return key;
  if (!uri.transport.empty()) return transport_from_name(uri.transport);
  if (uri.secure) return Transport::tls;
  return std::nullopt;
}

std::optional<HostKind> ip_literal_kind(const std::string& text) {
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return HostKind::ipv4;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return HostKind::ipv6;
  return std::nullopt;
}

// Why `source_address` cannot reach the URI's host, or empty.
std::string source_family_conflict(const std::string& source, const SipUri& uri) {
  if (source.empty() || uri.host_kind == HostKind::name) return "";
  const HostKind kind = ip_literal_kind(source).value_or(uri.host_kind);
  if (kind == uri.host_kind) return "";
  auto family = [](HostKind k) { return k == HostKind::ipv4 ? "IPv4" : "IPv6"; };
  return quote_utf8(source) + " is " + family(kind) + " but the URI host " + quote_utf8(uri.host) +
         " is " + family(uri.host_kind);
}

// "ip", "ip:port" or "[v6]:port" (also "[v6]") with IP literals only; empty when valid.
std::string dns_server_error(std::string_view text) {
  const std::string want = " (want \"ip\", \"ip:port\" or \"[v6]:port\" with an IP address)";
  auto valid_port = [](std::string_view p) {
    if (p.empty() || p.size() > 5) return false;
    int v = 0;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    return v >= 1 && v <= 65535;
  };
  std::string host;
  std::string_view port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return quote_utf8(text) + ": missing ']'" + want;
    host.assign(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return quote_utf8(text) + ": unexpected text after ']'" + want;
      port = rest.substr(1);
      has_port = true;
    }
    if (ip_literal_kind(host) != HostKind::ipv6) {
      return quote_utf8(text) + ": " + quote_utf8(host) + " is not an IPv6 address" + want;
    }
  } else {
    host.assign(text);
    const std::size_t colon = text.find(':');
    // One colon: IPv4 with a port; more: a bare IPv6 address.
    if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
      host.assign(text.substr(0, colon));
      port = text.substr(colon + 1);
      has_port = true;
      if (ip_literal_kind(host) != HostKind::ipv4) {
        return quote_utf8(text) + ": " + quote_utf8(host) + " is not an IPv4 address" + want;
      }
    } else if (!ip_literal_kind(host)) {
      return quote_utf8(text) + " is not an IP address" + want;
    }
  }
  if (has_port && !valid_port(port)) {
    return quote_utf8(text) + ": port " + quote_utf8(port) + " out of range 1-65535";
  }
  return "";
}

// Empty if `path` names a readable file, else the reason ("No such file or directory").
std::string unreadable_reason(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return std::generic_category().message(errno);
  struct stat st {};
  std::string reason;
  if (::fstat(fd, &st) != 0) {
    reason = std::generic_category().message(errno);
  } else if (S_ISDIR(st.st_mode)) {
    reason = std::generic_category().message(EISDIR);
  }
  ::close(fd);
  return reason;
}

// 1-64 characters of [A-Za-z0-9_-]: safe in a query string, a log line and a label value.
bool is_valid_module_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxModuleNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// Settings shared by [defaults], [[target]] and [module.<name>], with the nodes they came from.
struct Settings {
  Millis interval{30'000};
  Millis timeout{5'000};
  const toml::node* interval_node = nullptr;
  const toml::node* timeout_node = nullptr;
  int failures_before_down = 3;
  int successes_before_up = 1;
  HealthyCodes healthy_codes;
  std::string from = kDefaultFrom;
  std::string user_agent = default_user_agent();
  std::map<std::string, std::string> labels;
  std::optional<Transport> transport;  // the key only; a target's URI may add one
  ProbeAddresses probe = ProbeAddresses::all;
  UpWhen up_when = UpWhen::any;
  std::string to;
  std::string ruri_user;
  std::string contact;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string source_address;
  std::uint16_t source_port = 0;
  TlsSettings tls;
  Millis keepalive_interval{0};
  std::string auth_user;
  std::string auth_password;  // resolved, from auth_password or auth_password_env
  std::string auth_password_env;
  // Where each key was last set (a target's copy starts with the [defaults] nodes).
  std::map<std::string, const toml::node*, std::less<>> nodes;

  Settings() { healthy_codes.classes[2] = true; }

  const toml::node* node(std::string_view key) const {
    auto it = nodes.find(key);
    return it == nodes.end() ? nullptr : it->second;
  }

  // A TargetConfig with these settings; name, uri and parsed_uri are left empty.
  TargetConfig resolved() const {
    TargetConfig t;
    t.interval = interval;
    t.timeout = timeout;
    t.failures_before_down = failures_before_down;
    t.successes_before_up = successes_before_up;
    t.healthy_codes = healthy_codes;
    t.from = from;
    t.user_agent = user_agent;
    t.labels.assign(labels.begin(), labels.end());  // std::map: sorted by name
    t.transport = transport;
    t.probe = probe;
    t.up_when = up_when;
    t.to = to;
    t.ruri_user = ruri_user;
    t.contact = contact;
    t.headers = headers;
    t.source_address = source_address;
    t.source_port = source_port;
    t.tls = tls;
    t.keepalive_interval = keepalive_interval;
    if (!auth_user.empty()) t.auth = DigestCredentials{auth_user, auth_password, auth_password_env};
    return t;
  }
};

class Parser {
 public:
  explicit Parser(std::string_view source_name) : source_name_(source_name) {
    // Relative file names in the config are relative to the config file's directory.
    const std::size_t slash = source_name_.rfind('/');
    if (slash != std::string::npos) base_dir_ = source_name_.substr(0, slash + 1);
  }

  Config run(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, source_name_);
    } catch (const toml::parse_error& e) {
      throw ConfigError(location(e.source()) + ": " + one_line(e.description()));
    }

    for (const auto& [key, node] : in_document_order(root)) {
      if (!is_one_of(key->str(), kTopLevelKeys)) {
        fail(key->source(), "",
             unknown_key_message("unknown top-level key", key->str(), kTopLevelKeys));
      }
    }

    config_.exporter.rtt_buckets = default_rtt_buckets();
    if (const toml::node* exporter = root.get("exporter")) parse_exporter(*exporter);
    if (const toml::node* defaults = root.get("defaults")) parse_defaults(*defaults);
    if (const toml::node* targets = root.get("target")) parse_targets(*targets);
    parse_modules(root.get("module"));

    // An empty or truncated file (a config-management run caught half-way) must not silently
    // stop all monitoring, at start or on reload.
    if (config_.targets.empty() && !config_.exporter.allow_no_targets) {
      throw ConfigError(source_name_ +
                        ": no [[target]] tables, so nothing would be probed; if that is meant "
                        "(an exporter for /probe only), set allow_no_targets = true in "
                        "[exporter]");
    }
    return std::move(config_);
  }

 private:
  std::string location(const toml::source_region& where) const {
    if (where.begin.line == 0) return source_name_;
    return source_name_ + ":" + std::to_string(where.begin.line) + ":" +
           std::to_string(where.begin.column);
  }

  std::string format(const toml::source_region& where, std::string_view context,
                     std::string_view message) const {
    std::string out = location(where) + ": ";
    if (!context.empty()) out += std::string(context) + ": ";
    out += message;
    return out;
  }

  [[noreturn]] void fail(const toml::source_region& where, std::string_view context,
                         std::string_view message) const {
    throw ConfigError(format(where, context, message));
  }

  void warn(const toml::source_region& where, std::string_view context, std::string_view message) {
    config_.warnings.push_back(format(where, context, message));
  }

  // --- [exporter] ---------------------------------------------------------

  void parse_exporter(const toml::node& node) {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      fail(node.source(), "", "exporter: expected a table ([exporter]), got " + type_name(node));
    }
    const std::string context = "[exporter]";
    for (const auto& [key, value] : in_document_order(*table)) {
      if (!is_one_of(key->str(), kExporterKeys)) {
        fail(key->source(), context, unknown_key_message("unknown key", key->str(), kExporterKeys));
      }
    }
    if (const toml::node* buckets = table->get("rtt_buckets")) {
      config_.exporter.rtt_buckets = parse_rtt_buckets(*buckets, context);
    }
    if (const toml::node* allow = table->get("allow_no_targets")) {
      const auto* b = allow->as_boolean();
      if (b == nullptr) {
        fail(allow->source(), context + ": allow_no_targets",
             "expected true or false, got " + type_name(*allow));
      }
      config_.exporter.allow_no_targets = b->get();
    }
    parse_dns(*table, context);
  }

  void parse_dns(const toml::table& table, const std::string& context) {
    DnsSettings& dns = config_.exporter.dns;
    if (const toml::node* servers = table.get("dns_servers")) {
      dns.servers = parse_dns_servers(*servers, context + ": dns_servers");
    }
    auto seconds = [&](const char* key, Millis min, std::chrono::seconds& out) {
      const toml::node* node = table.get(key);
      if (node == nullptr) return node;
      const std::string key_context = context + ": " + key;
      const Millis d = parse_duration_value(*node, key_context, "30s");
      if (d.count() % 1000 != 0) {
        fail(node->source(), key_context,
             "must be whole seconds, got " + quote_utf8(*node->value<std::string_view>()));
      }
      if (d < min) {
        fail(node->source(), key_context,
             "must be at least " + format_duration(min) + ", got " +
                 quote_utf8(*node->value<std::string_view>()));
      }
      check_at_most(*node, key_context, d, kMaxDnsDuration);
      out = std::chrono::duration_cast<std::chrono::seconds>(d);
      return node;
    };
    const toml::node* min_node = seconds("dns_min_ttl", kMinDnsTtl, dns.min_ttl);
    const toml::node* max_node = seconds("dns_max_ttl", kMinDnsTtl, dns.max_ttl);
    seconds("dns_grace", Millis::zero(), dns.grace);
    if (dns.min_ttl > dns.max_ttl) {
      const toml::node* where = max_node != nullptr ? max_node : min_node;
      fail(where->source(), context + (max_node != nullptr ? ": dns_max_ttl" : ": dns_min_ttl"),
           "dns_min_ttl (" + format_duration(dns.min_ttl) +
               ") must not be greater than dns_max_ttl (" + format_duration(dns.max_ttl) + ")");
    }
  }

  std::vector<std::string> parse_dns_servers(const toml::node& node,
                                             const std::string& key_context) {
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      fail(node.source(), key_context,
           "expected an array like [\"127.0.0.1:5353\"], got " + type_name(node));
    }
    if (array->empty()) {
      fail(node.source(), key_context, "must not be empty (leave it out to use /etc/resolv.conf)");
    }
    std::vector<std::string> servers;
    for (const toml::node& element : *array) {
      const auto* str = element.as_string();
      if (str == nullptr) {
        fail(element.source(), key_context, "expected a string, got " + type_name(element));
      }
      if (std::string error = dns_server_error(str->get()); !error.empty()) {
        fail(element.source(), key_context, error);
      }
      servers.push_back(str->get());
    }
    return servers;
  }

  std::vector<double> parse_rtt_buckets(const toml::node& node, const std::string& context) {
    const std::string key_context = context + ": rtt_buckets";
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      fail(node.source(), key_context,
           "expected an array of numbers like [0.01, 0.1, 1], got " + type_name(node));
    }
    if (array->empty()) fail(node.source(), key_context, "must not be empty");
    std::vector<double> buckets;
    for (const toml::node& element : *array) {
      double value;
      if (const auto* i = element.as_integer()) {
        value = static_cast<double>(i->get());
      } else if (const auto* f = element.as_floating_point()) {
        value = f->get();
      } else {
        fail(element.source(), key_context, "expected a number, got " + type_name(element));
      }
      if (!std::isfinite(value)) {
        fail(element.source(), key_context, format_number(value) + " is not a finite number");
      }
      if (value <= 0) {
        fail(element.source(), key_context, "bucket " + format_number(value) + " must be positive");
      }
      if (!buckets.empty() && value <= buckets.back()) {
        fail(element.source(), key_context,
             "bucket " + format_number(value) + " is not greater than the previous bucket " +
                 format_number(buckets.back()) + " (buckets must be strictly increasing)");
      }
      buckets.push_back(value);
    }
    return buckets;
  }

  // --- [defaults] ---------------------------------------------------------

  void parse_defaults(const toml::node& node) {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      fail(node.source(), "", "defaults: expected a table ([defaults]), got " + type_name(node));
    }
    const std::string context = "[defaults]";
    for (const auto& [key, value] : in_document_order(*table)) {
      if (key->str() == "name" || key->str() == "uri") {
        fail(key->source(), context,
             "unknown key " + quote_utf8(key->str()) + " (" + std::string(key->str()) +
                 " can only be set in a [[target]] table)");
      }
      if (!is_one_of(key->str(), kDefaultsKeys)) {
        fail(key->source(), context, unknown_key_message("unknown key", key->str(), kDefaultsKeys));
      }
      apply_setting(key->str(), *value, context, defaults_);
    }
    check_one_password_source(*table, context);
    check_settings(defaults_, context, node, nullptr, nullptr);
    if (defaults_.interval_node != nullptr && defaults_.interval < kWarnInterval) {
      warn_short_interval(*defaults_.interval_node, context, defaults_.interval);
    }
    warn_insecure(defaults_, context);
  }

  // --- settings shared by [defaults] and [[target]] ------------------------

  void apply_setting(std::string_view key, const toml::node& node, const std::string& context,
                     Settings& s) {
    const std::string key_context = context + ": " + std::string(key);
    s.nodes.insert_or_assign(std::string(key), &node);
    if (key == "interval") {
      s.interval = parse_duration_value(node, key_context, "30s");
      if (s.interval < kMinInterval) {
        fail(node.source(), key_context,
             "must be at least " + format_duration(kMinInterval) + ", got " +
                 quote_utf8(*node.value<std::string_view>()));
      }
      check_at_most(node, key_context, s.interval, kMaxInterval);
      s.interval_node = &node;
    } else if (key == "timeout") {
      s.timeout = parse_duration_value(node, key_context, "5s");
      if (s.timeout <= Millis::zero()) {
        fail(node.source(), key_context,
             "must be greater than 0, got " + quote_utf8(*node.value<std::string_view>()));
      }
      s.timeout_node = &node;
    } else if (key == "failures_before_down") {
      s.failures_before_down = parse_count(node, key_context);
    } else if (key == "successes_before_up") {
      s.successes_before_up = parse_count(node, key_context);
    } else if (key == "healthy_codes") {
      s.healthy_codes = parse_healthy_codes(node, key_context);
    } else if (key == "from") {
      s.from = parse_from(node, key_context);
    } else if (key == "user_agent") {
      s.user_agent = parse_user_agent(node, key_context);
    } else if (key == "labels") {
      parse_labels(node, key_context, s.labels);
    } else if (key == "transport") {
      s.transport = parse_choice<Transport>(
          node, key_context,
          {{"udp", Transport::udp}, {"tcp", Transport::tcp}, {"tls", Transport::tls}});
    } else if (key == "probe") {
      s.probe = parse_choice<ProbeAddresses>(
          node, key_context, {{"all", ProbeAddresses::all}, {"first", ProbeAddresses::first}});
    } else if (key == "up_when") {
      s.up_when =
          parse_choice<UpWhen>(node, key_context, {{"any", UpWhen::any}, {"all", UpWhen::all}});
    } else if (key == "to") {
      s.to = parse_uri_value(node, key_context, "sip:+15551234567@carrier.example");
    } else if (key == "contact") {
      s.contact = parse_uri_value(node, key_context, "sip:probe@198.51.100.7:5060");
    } else if (key == "ruri_user") {
      s.ruri_user = parse_ruri_user(node, key_context);
    } else if (key == "headers") {
      parse_headers(node, key_context, s.headers);
    } else if (key == "source_address") {
      s.source_address = parse_source_address(node, key_context);
    } else if (key == "source_port") {
      s.source_port = parse_port(node, key_context);
    } else if (key == "tls_ca_file") {
      s.tls.ca_file = parse_file(node, key_context);
    } else if (key == "tls_cert_file") {
      s.tls.cert_file = parse_file(node, key_context);
    } else if (key == "tls_key_file") {
      s.tls.key_file = parse_file(node, key_context);
    } else if (key == "tls_server_name") {
      s.tls.server_name = parse_server_name(node, key_context);
    } else if (key == "tls_insecure_skip_verify") {
      const auto* b = node.as_boolean();
      if (b == nullptr)
        fail(node.source(), key_context, "expected true or false, got " + type_name(node));
      s.tls.insecure_skip_verify = b->get();
    } else if (key == "keepalive_interval") {
      s.keepalive_interval = parse_keepalive(node, key_context);
    } else if (key == "auth_user") {
      s.auth_user = parse_auth_user(node, key_context);
    } else if (key == "auth_password") {
      // One password source: a more specific table's replaces an inherited one.
      s.auth_password = parse_password(node, key_context);
      s.auth_password_env.clear();
      s.nodes.erase("auth_password_env");
    } else if (key == "auth_password_env") {
      s.auth_password_env = parse_password_env(node, key_context, s.auth_password);
      s.nodes.erase("auth_password");
    }
  }

  // One of a few fixed strings: `"sctp" is not one of "udp", "tcp", "tls"`.
  template <typename E>
  E parse_choice(const toml::node& node, const std::string& key_context,
                 std::initializer_list<std::pair<std::string_view, E>> choices) {
    std::string names;
    for (const auto& [name, value] : choices) {
      names += (names.empty() ? "\"" : ", \"") + std::string(name) + "\"";
    }
    const auto* str = node.as_string();
    if (str == nullptr) {
      fail(node.source(), key_context, "expected one of " + names + ", got " + type_name(node));
    }
    for (const auto& [name, value] : choices) {
      if (str->get() == name) return value;
    }
    fail(node.source(), key_context, quote_utf8(str->get()) + " is not one of " + names);
  }

  const std::string& expect_string(const toml::node& node, const std::string& key_context) {
    const auto* str = node.as_string();
    if (str == nullptr)
      fail(node.source(), key_context, "expected a string, got " + type_name(node));
    return str->get();
  }

  void check_length(const toml::node& node, const std::string& key_context, std::string_view text,
                    std::size_t max) {
    if (text.size() > max) {
      fail(node.source(), key_context,
           "longer than " + std::to_string(max) + " bytes (" + std::to_string(text.size()) + ")");
    }
  }

  // A sip:/sips: URI for a header (to, contact); `from` has its own message.
  std::string parse_uri_value(const toml::node& node, const std::string& key_context,
                              std::string_view example) {
    if (node.as_string() == nullptr) {
      fail(node.source(), key_context,
           "expected a SIP URI string like \"" + std::string(example) + "\", got " +
               type_name(node));
    }
    const std::string& text = node.as_string()->get();
    check_length(node, key_context, text, kMaxHeaderValueLength);
    std::string error;
    if (!parse_sip_uri(text, &error))
      fail(node.source(), key_context, quote_utf8(text) + ": " + error);
    return text;
  }

  std::string parse_ruri_user(const toml::node& node, const std::string& key_context) {
    const std::string& text = expect_string(node, key_context);
    if (text.empty()) fail(node.source(), key_context, "must not be empty");
    check_length(node, key_context, text, kMaxRuriUserLength);
    std::string error;
    if (!is_valid_sip_user(text, &error)) {
      fail(node.source(), key_context,
           error +
               "; want RFC 3261 user characters: letters, digits, -_.!~*'() &=+$,;?/ and "
               "%HH escapes");
    }
    return text;
  }

  // Why `name` cannot be an extra header, or empty.
  static std::string own_header_reason(std::string_view name) {
    for (const OwnHeader& h : kOwnHeaders) {
      const bool compact = !h.compact.empty() && iequals(name, h.compact);
      if (!compact && !iequals(name, h.name)) continue;
      std::string reason = quote_utf8(name);
      if (compact) reason += " (compact form of " + std::string(h.name) + ")";
      reason += " is written by the exporter";
      if (!h.key.empty()) reason += "; set it with the \"" + std::string(h.key) + "\" key";
      return reason;
    }
    return "";
  }

  // Merged into `headers` in document order: a name already there (any case) from [defaults]
  // gets the new value in place; a name twice in one table is an error.
  void parse_headers(const toml::node& node, const std::string& key_context,
                     std::vector<std::pair<std::string, std::string>>& headers) {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      fail(node.source(), key_context,
           "expected a table like { \"X-Account\" = \"1234\" }, got " + type_name(node));
    }
    std::vector<std::string> seen;
    for (const auto& [key, value] : in_document_order(*table)) {
      const std::string name(key->str());
      if (!is_token(name)) {
        fail(
            key->source(), key_context,
            "name " + quote_utf8(name) + " is not a valid header name (RFC 3261 token characters)");
      }
      if (name.size() > kMaxHeaderNameLength) {
        fail(key->source(), key_context,
             "name longer than " + std::to_string(kMaxHeaderNameLength) + " bytes (" +
                 std::to_string(name.size()) + ")");
      }
      if (std::string reason = own_header_reason(name); !reason.empty()) {
        fail(key->source(), key_context, reason);
      }
      for (const std::string& other : seen) {
        if (iequals(other, name)) {
          fail(key->source(), key_context,
               "header " + quote_utf8(name) + " is given twice (as " + quote_utf8(other) + ")");
        }
      }
      seen.push_back(name);
      const std::string value_context = key_context + "." + name;
      const std::string& text = expect_string(*value, value_context);
      check_length(*value, value_context, text, kMaxHeaderValueLength);
      for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\t') || c > 0x7e) {
          fail(value->source(), value_context,
               quote_utf8(text) + " contains a byte that is not printable ASCII at offset " +
                   std::to_string(i));
        }
      }
      auto same = std::find_if(headers.begin(), headers.end(),
                               [&](const auto& h) { return iequals(h.first, name); });
      if (same != headers.end()) {
        *same = {name, text};
      } else {
        headers.emplace_back(name, text);
      }
    }
    if (headers.size() > kMaxExtraHeaders) {
      fail(node.source(), key_context,
           "more than " + std::to_string(kMaxExtraHeaders) + " headers (" +
               std::to_string(headers.size()) + ")");
    }
  }

  std::string parse_source_address(const toml::node& node, const std::string& key_context) {
    const std::string& text = expect_string(node, key_context);
    if (!text.empty() && text.front() == '[') {
      fail(node.source(), key_context,
           quote_utf8(text) + " is not an IP address (write IPv6 addresses without brackets)");
    }
    if (!ip_literal_kind(text)) {
      fail(node.source(), key_context,
           quote_utf8(text) + " is not an IPv4 or IPv6 address (host names are not allowed)");
    }
    return text;
  }

  std::uint16_t parse_port(const toml::node& node, const std::string& key_context) {
    const auto* i = node.as_integer();
    if (i == nullptr)
      fail(node.source(), key_context, "expected an integer, got " + type_name(node));
    if (i->get() < 1 || i->get() > 65535) {
      fail(node.source(), key_context, "must be from 1 to 65535, got " + std::to_string(i->get()));
    }
    return static_cast<std::uint16_t>(i->get());
  }

  // A file that must be readable now, so that a reload with a bad path is rejected.
  std::string parse_file(const toml::node& node, const std::string& key_context) {
    const std::string& text = expect_string(node, key_context);
    if (text.empty()) fail(node.source(), key_context, "must not be empty");
    check_length(node, key_context, text, kMaxPathLength);
    std::string path = text.front() == '/' ? text : base_dir_ + text;
    if (std::string reason = unreadable_reason(path); !reason.empty()) {
      fail(node.source(), key_context, "cannot read " + quote_utf8(path) + ": " + reason);
    }
    return path;
  }

  std::string parse_server_name(const toml::node& node, const std::string& key_context) {
    const std::string& text = expect_string(node, key_context);
    const bool name_chars = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
      return is_alnum(c) || c == '-' || c == '.';
    });
    std::string error;
    std::optional<SipUri> uri;
    if (name_chars) uri = parse_sip_uri("sip:" + text, &error);
    if (!uri || uri->host_kind != HostKind::name) {
      fail(node.source(), key_context,
           quote_utf8(text) + " is not a host name" + (error.empty() ? "" : " (" + error + ")"));
    }
    return text;
  }

  Millis parse_keepalive(const toml::node& node, const std::string& key_context) {
    const Millis d = parse_duration_value(node, key_context, "30s");
    if (d == Millis::zero()) return d;
    if (d < kMinKeepalive || d > kMaxKeepalive) {
      fail(node.source(), key_context,
           "must be 0 (off) or from " + format_duration(kMinKeepalive) + " to " +
               format_duration(kMaxKeepalive) + ", got " +
               quote_utf8(*node.value<std::string_view>()));
    }
    return d;
  }

  std::string parse_auth_user(const toml::node& node, const std::string& key_context) {
    const std::string& text = expect_string(node, key_context);
    if (text.empty()) fail(node.source(), key_context, "must not be empty");
    check_length(node, key_context, text, kMaxHeaderValueLength);
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      // C1 controls (UTF-8 C2 80..C2 9F) too: the value goes into a header.
      const bool c1 = c == 0xc2 && i + 1 < text.size() &&
                      static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                      static_cast<unsigned char>(text[i + 1]) <= 0x9f;
      if (c < 0x20 || c == 0x7f || c1) {
        fail(node.source(), key_context,
             quote_utf8(text) + " contains a control character at offset " + std::to_string(i));
      }
    }
    return text;
  }

  // Messages here never quote the value: it is a secret.
  std::string parse_password(const toml::node& node, const std::string& key_context) {
    const std::string& text = expect_string(node, key_context);
    if (text.empty()) fail(node.source(), key_context, "must not be empty");
    if (text.size() > kMaxPasswordLength) {
      fail(node.source(), key_context,
           "longer than " + std::to_string(kMaxPasswordLength) + " bytes");
    }
    return text;
  }

  // Returns the variable's name and stores its value in `password`.
  std::string parse_password_env(const toml::node& node, const std::string& key_context,
                                 std::string& password) {
    const std::string& name = expect_string(node, key_context);
    const bool valid =
        !name.empty() && name.size() <= kMaxNameLength && !is_digit(name[0]) &&
        std::all_of(name.begin(), name.end(), [](char c) { return is_alnum(c) || c == '_'; });
    if (!valid) {
      fail(node.source(), key_context,
           quote_utf8(name) + " is not an environment variable name (want [A-Za-z_][A-Za-z0-9_]*)");
    }
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
      fail(node.source(), key_context, "environment variable " + quote_utf8(name) + " is not set");
    }
    if (*value == '\0') {
      fail(node.source(), key_context, "environment variable " + quote_utf8(name) + " is empty");
    }
    password = value;
    if (password.size() > kMaxPasswordLength) {
      fail(node.source(), key_context,
           "environment variable " + quote_utf8(name) + " is longer than " +
               std::to_string(kMaxPasswordLength) + " bytes");
    }
    return name;
  }

  // `must be at most 24h, got "25h"` for a duration `node` whose parsed value is `value`.
  void check_at_most(const toml::node& node, const std::string& key_context, Millis value,
                     Millis max) const {
    if (value > max) {
      fail(node.source(), key_context,
           "must be at most " + format_duration(max) + ", got " +
               quote_utf8(*node.value<std::string_view>()));
    }
  }

  Millis parse_duration_value(const toml::node& node, const std::string& key_context,
                              std::string_view example) {
    const auto* str = node.as_string();
    if (str == nullptr) {
      fail(node.source(), key_context,
           "expected a duration string like \"" + std::string(example) + "\", got " +
               type_name(node));
    }
    std::string error;
    std::optional<Millis> d = parse_duration(str->get(), &error);
    if (!d) fail(node.source(), key_context, error);
    return *d;
  }

  int parse_count(const toml::node& node, const std::string& key_context) {
    const auto* i = node.as_integer();
    if (i == nullptr)
      fail(node.source(), key_context, "expected an integer, got " + type_name(node));
    std::int64_t v = i->get();
    if (v < kMinCount || v > kMaxCount) {
      fail(node.source(), key_context,
           "must be from " + std::to_string(kMinCount) + " to " + std::to_string(kMaxCount) +
               ", got " + std::to_string(v));
    }
    return static_cast<int>(v);
  }

  HealthyCodes parse_healthy_codes(const toml::node& node, const std::string& key_context) {
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      fail(node.source(), key_context,
           "expected an array like [\"2xx\", \"404\"], got " + type_name(node));
    }
    if (array->empty()) fail(node.source(), key_context, "must not be empty");
    HealthyCodes codes;
    for (const toml::node& element : *array) {
      const std::string provisional =
          " is not allowed: provisional (1xx) responses are never final";
      if (const auto* i = element.as_integer()) {
        std::int64_t code = i->get();
        std::string shown = std::to_string(code);
        if (code >= 100 && code <= 199) fail(element.source(), key_context, shown + provisional);
        if (code < 200 || code > 699) {
          fail(element.source(), key_context,
               shown + " is not a final status code (want 200 to 699, or a class like \"2xx\")");
        }
        add_code(codes, static_cast<int>(code));
        continue;
      }
      const auto* str = element.as_string();
      if (str == nullptr) {
        fail(element.source(), key_context,
             "expected a string like \"2xx\" or an integer code, got " + type_name(element));
      }
      std::string_view text = str->get();
      bool digit0 = text.size() == 3 && text[0] >= '0' && text[0] <= '9';
      bool is_class = digit0 && (text[1] == 'x' || text[1] == 'X') && text[1] == text[2];
      bool is_code = digit0 && text[1] >= '0' && text[1] <= '9' && text[2] >= '0' && text[2] <= '9';
      if (!is_class && !is_code) {
        fail(element.source(), key_context,
             quote_utf8(text) + " is not a status class like \"2xx\" or a code like \"404\"");
      }
      if (text[0] == '1') fail(element.source(), key_context, quote_utf8(text) + provisional);
      if (text[0] < '2' || text[0] > '6') {
        fail(element.source(), key_context,
             quote_utf8(text) + (is_class ? " is not a status class from 2xx to 6xx"
                                          : " is not a final status code (want 200 to 699)"));
      }
      if (is_class) {
        codes.classes[text[0] - '0'] = true;
      } else {
        add_code(codes, (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0'));
      }
    }
    return codes;
  }

  static void add_code(HealthyCodes& codes, int code) {
    if (std::find(codes.codes.begin(), codes.codes.end(), code) == codes.codes.end()) {
      codes.codes.push_back(code);
    }
  }

  std::string parse_from(const toml::node& node, const std::string& key_context) {
    const auto* str = node.as_string();
    if (str == nullptr) {
      fail(node.source(), key_context,
           std::string("expected a SIP URI string like \"") + kDefaultFrom + "\", got " +
               type_name(node));
    }
    const std::string& text = str->get();
    if (text.size() > kMaxHeaderValueLength) {
      fail(node.source(), key_context,
           "longer than " + std::to_string(kMaxHeaderValueLength) + " bytes (" +
               std::to_string(text.size()) + ")");
    }
    std::string error;
    if (!parse_sip_uri(text, &error))
      fail(node.source(), key_context, quote_utf8(text) + ": " + error);
    return text;
  }

  std::string parse_user_agent(const toml::node& node, const std::string& key_context) {
    const auto* str = node.as_string();
    if (str == nullptr)
      fail(node.source(), key_context, "expected a string, got " + type_name(node));
    const std::string& text = str->get();
    if (text.empty()) fail(node.source(), key_context, "must not be empty");
    if (text.size() > kMaxHeaderValueLength) {
      fail(node.source(), key_context,
           "longer than " + std::to_string(kMaxHeaderValueLength) + " bytes (" +
               std::to_string(text.size()) + ")");
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c < 0x20 || c > 0x7e) {
        fail(node.source(), key_context,
             quote_utf8(text) + " contains a byte that is not printable ASCII at offset " +
                 std::to_string(i));
      }
    }
    return text;
  }

  void parse_labels(const toml::node& node, const std::string& key_context,
                    std::map<std::string, std::string>& labels) {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      fail(node.source(), key_context,
           "expected a table like { site = \"nyc\" }, got " + type_name(node));
    }
    for (const auto& [key, value] : in_document_order(*table)) {
      const std::string name(key->str());
      bool valid = !name.empty();
      for (std::size_t i = 0; i < name.size() && valid; ++i) {
        char c = name[i];
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool digit = c >= '0' && c <= '9';
        valid = letter || (digit && i > 0);
      }
      if (!valid) {
        fail(key->source(), key_context,
             "name " + quote_utf8(name) +
                 " is not a valid label name (want [a-zA-Z_][a-zA-Z0-9_]*)");
      }
      if (name.starts_with("__")) {
        fail(key->source(), key_context,
             "name " + quote_utf8(name) + " is reserved (names starting with \"__\" are internal)");
      }
      if (is_one_of(name, kReservedLabels)) {
        fail(key->source(), key_context,
             "name " + quote_utf8(name) + " is reserved for the exporter's own labels");
      }
      const auto* str = value->as_string();
      if (str == nullptr) {
        fail(value->source(), key_context + "." + name,
             "expected a string, got " + type_name(*value));
      }
      if (str->get().size() > kMaxLabelValueLength) {
        fail(value->source(), key_context + "." + name,
             "value is longer than " + std::to_string(kMaxLabelValueLength) + " bytes (" +
                 std::to_string(str->get().size()) + ")");
      }
      labels.insert_or_assign(name, str->get());
    }
  }

  void warn_short_interval(const toml::node& node, const std::string& context, Millis interval) {
    warn(node.source(), context + ": interval",
         format_duration(interval) + " is shorter than " + format_duration(kWarnInterval) +
             "; some providers such as Twilio ban OPTIONS pingers faster than one per 10-15 s");
  }

  // --- checks across keys --------------------------------------------------

  bool from_defaults(const Settings& s, std::string_view key) const {
    return &s != &defaults_ && s.node(key) != nullptr && s.node(key) == defaults_.node(key);
  }

  // The node to point at: the first candidate the table itself set, else the first inherited.
  const toml::node& blame(const Settings& s, std::initializer_list<std::string_view> keys,
                          const toml::node* uri_node, const toml::node& table) const {
    for (std::string_view key : keys) {
      if (s.node(key) != nullptr && !from_defaults(s, key)) return *s.node(key);
    }
    if (uri_node != nullptr) return *uri_node;
    for (std::string_view key : keys) {
      if (s.node(key) != nullptr) return *s.node(key);
    }
    return table;
  }

  // auth_password and auth_password_env are one setting: a table may set only one of them.
  void check_one_password_source(const toml::table& table, const std::string& context) {
    const toml::node* inline_node = table.get("auth_password");
    const toml::node* env_node = table.get("auth_password_env");
    if (inline_node == nullptr || env_node == nullptr) return;
    const bool env_later = env_node->source().begin.line > inline_node->source().begin.line ||
                           (env_node->source().begin.line == inline_node->source().begin.line &&
                            env_node->source().begin.column > inline_node->source().begin.column);
    const toml::node* later = env_later ? env_node : inline_node;
    fail(later->source(), context + (env_later ? ": auth_password_env" : ": auth_password"),
         "set either auth_password or auth_password_env, not both");
  }

  // Checks what one table's settings (with what it inherits) mean together, and returns the
  // effective transport. `uri` and `uri_node` are a target's; null for [defaults] and modules.
  std::optional<Transport> check_settings(const Settings& s, const std::string& context,
                                          const toml::node& table, const SipUri* uri,
                                          const toml::node* uri_node) {
    std::optional<Transport> transport = s.transport;
    if (uri != nullptr) {
      if (transport) {
        if (std::string conflict = transport_conflict(*uri, *transport); !conflict.empty()) {
          const bool inherited = from_defaults(s, "transport");
          fail(inherited ? uri_node->source() : s.node("transport")->source(),
               context + ": transport",
               conflict + (inherited ? " (transport is set in [defaults])" : ""));
        }
      }
      transport = effective_transport(*uri, transport);
    }

    if (transport && *transport != Transport::tls) {
      for (std::string_view key : kTlsKeys) {
        if (s.node(key) == nullptr) continue;
        fail(blame(s, {key, "transport"}, uri_node, table).source(),
             context + ": " + std::string(key),
             "TLS settings need transport \"tls\" (or none), but the transport is " +
                 quoted(*transport));
      }
    }
    if (s.tls.cert_file.empty() != s.tls.key_file.empty()) {
      const bool cert = !s.tls.cert_file.empty();
      fail(s.node(cert ? "tls_cert_file" : "tls_key_file")->source(),
           context + (cert ? ": tls_cert_file" : ": tls_key_file"),
           cert ? "needs tls_key_file too (the client certificate's private key)"
                : "needs tls_cert_file too (the client certificate)");
    }
    if (transport == Transport::udp && s.keepalive_interval > Millis::zero()) {
      fail(blame(s, {"keepalive_interval", "transport"}, uri_node, table).source(),
           context + ": keepalive_interval",
           "keepalives need transport \"tcp\" or \"tls\", but the transport is \"udp\"");
    }

    const toml::node* password_node =
        s.node("auth_password") != nullptr ? s.node("auth_password") : s.node("auth_password_env");
    if (!s.auth_user.empty() && password_node == nullptr) {
      fail(s.node("auth_user")->source(), context + ": auth_user",
           "needs auth_password or auth_password_env");
    }
    if (s.auth_user.empty() && password_node != nullptr) {
      fail(password_node->source(),
           context +
               (s.node("auth_password") != nullptr ? ": auth_password" : ": auth_password_env"),
           "needs auth_user");
    }

    if (uri != nullptr) {
      if (std::string conflict = source_family_conflict(s.source_address, *uri);
          !conflict.empty()) {
        fail(blame(s, {"source_address"}, uri_node, table).source(), context + ": source_address",
             conflict);
      }
    }
    return transport;
  }

  void warn_insecure(const Settings& s, const std::string& context) {
    if (!s.tls.insecure_skip_verify) return;
    warn(s.node("tls_insecure_skip_verify")->source(), context + ": tls_insecure_skip_verify",
         "TLS certificate verification is off: anyone on the path can impersonate the peer");
  }

  // --- [[target]] ---------------------------------------------------------

  void parse_targets(const toml::node& node) {
    const toml::array* array = node.as_array();
    if (array == nullptr) {
      fail(node.source(), "",
           "target: expected an array of tables ([[target]]), got " + type_name(node));
    }
    // Once: growing by doubling would move every loaded target several times over.
    config_.targets.reserve(array->size());
    std::size_t number = 0;
    for (const toml::node& element : *array) {
      ++number;
      parse_target(element, number);
    }
  }

  void parse_target(const toml::node& node, std::size_t number) {
    std::string context = "[[target]] #" + std::to_string(number);
    const toml::table* table = node.as_table();
    if (table == nullptr) fail(node.source(), context, "expected a table, got " + type_name(node));

    TargetConfig target;

    // The name comes first so that every later message can mention it.
    const toml::node* name_node = table->get("name");
    if (name_node != nullptr) {
      target.name = parse_name(*name_node, context);
      auto used = names_.find(target.name);
      if (used != names_.end()) {
        fail(name_node->source(), context,
             "name " + quote_utf8(target.name) + " is already used by [[target]] #" +
                 std::to_string(used->second.first) + " (line " +
                 std::to_string(used->second.second) + ")");
      }
      names_.emplace(target.name, std::make_pair(number, name_node->source().begin.line));
      context += " " + quote_utf8(target.name);
    }

    Settings s = defaults_;
    const toml::node* uri_node = nullptr;
    const toml::node* interval_node = nullptr;
    const toml::node* timeout_node = nullptr;
    for (const auto& [key, value] : in_document_order(*table)) {
      const std::string_view k = key->str();
      if (!is_one_of(k, kTargetKeys)) {
        fail(key->source(), context, unknown_key_message("unknown key", k, kTargetKeys));
      }
      if (k == "name") continue;
      if (k == "uri") {
        uri_node = value;
        parse_uri(*value, context, target);
        continue;
      }
      if (k == "interval") interval_node = value;
      if (k == "timeout") timeout_node = value;
      apply_setting(k, *value, context, s);
    }
    if (name_node == nullptr) fail(node.source(), context, "missing required key \"name\"");
    if (uri_node == nullptr) fail(node.source(), context, "missing required key \"uri\"");

    if (s.timeout >= s.interval) {
      // Point at what the user wrote: the target's own keys first, then [defaults].
      const toml::node* where = timeout_node != nullptr     ? timeout_node
                                : interval_node != nullptr  ? interval_node
                                : s.timeout_node != nullptr ? s.timeout_node
                                                            : s.interval_node;
      fail(where != nullptr ? where->source() : node.source(), context,
           "timeout (" + format_duration(s.timeout) + ") must be shorter than interval (" +
               format_duration(s.interval) + ")");
    }
    check_one_password_source(*table, context);
    const std::optional<Transport> transport =
        check_settings(s, context, node, &target.parsed_uri, uri_node);
    if (interval_node != nullptr && s.interval < kWarnInterval) {
      warn_short_interval(*interval_node, context, s.interval);
    }
    warn_insecure(s, context);

    TargetConfig resolved = s.resolved();
    resolved.name = std::move(target.name);
    resolved.uri = std::move(target.uri);
    resolved.parsed_uri = std::move(target.parsed_uri);
    resolved.transport = transport;
    config_.targets.push_back(std::move(resolved));
  }

  std::string parse_name(const toml::node& node, const std::string& context) {
    const std::string key_context = context + ": name";
    const auto* str = node.as_string();
    if (str == nullptr)
      fail(node.source(), key_context, "expected a string, got " + type_name(node));
    const std::string& name = str->get();
    if (name.empty()) fail(node.source(), key_context, "must not be empty");
    if (name.size() > kMaxNameLength) {
      fail(node.source(), key_context,
           "longer than " + std::to_string(kMaxNameLength) + " bytes (" +
               std::to_string(name.size()) + ")");
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
      const auto c = static_cast<unsigned char>(name[i]);
      // C0 controls, DEL, and C1 controls (U+0080..U+009F, UTF-8 C2 80..C2 9F).
      bool c1 = c == 0xc2 && i + 1 < name.size() &&
                static_cast<unsigned char>(name[i + 1]) >= 0x80 &&
                static_cast<unsigned char>(name[i + 1]) <= 0x9f;
      if (c < 0x20 || c == 0x7f || c1) {
        fail(node.source(), key_context,
             quote_utf8(name) + " contains a control character at offset " + std::to_string(i));
      }
    }
    return name;
  }

  void parse_uri(const toml::node& node, const std::string& context, TargetConfig& target) {
    const auto* str = node.as_string();
    if (str == nullptr) {
      fail(node.source(), context + ": uri",
           "expected a SIP URI string like \"sip:203.0.113.7:5060\", got " + type_name(node));
    }
    const std::string& text = str->get();
    if (std::string error = uri_length_error(text); !error.empty()) {
      fail(node.source(), context + ": uri", error);
    }
    std::string error;
    std::optional<SipUri> uri = parse_target_uri(text, &error);
    if (!uri) fail(node.source(), context + ": uri " + quote_utf8(text), error);
    target.uri = text;
    target.parsed_uri = std::move(*uri);
  }

  // --- [module.<name>] -----------------------------------------------------

  void parse_modules(const toml::node* node) {
    std::vector<ModuleConfig>& modules = config_.modules;
    modules.push_back(default_module());
    if (node != nullptr) {
      const toml::table* table = node->as_table();
      if (table == nullptr) {
        fail(node->source(), "",
             "module: expected a table of modules ([module.<name>]), got " + type_name(*node));
      }
      for (const auto& [key, value] : in_document_order(*table)) {
        modules.push_back(parse_module(*key, *value));
      }
    }
    std::sort(modules.begin(), modules.end(),
              [](const ModuleConfig& a, const ModuleConfig& b) { return a.name < b.name; });
  }

  // "default" is [defaults] itself, with a timeout that fits a /probe request.
  ModuleConfig default_module() {
    ModuleConfig module{kDefaultModule, defaults_.resolved()};
    module.settings.labels.clear();
    module.settings.keepalive_interval = Millis::zero();  // one probe keeps no connection alive
    if (module.settings.timeout > kMaxModuleTimeout) {
      // Not an error: the timeout is fine for [[target]] tables, which may not use /probe.
      warn(defaults_.timeout_node->source(), "[defaults]: timeout",
           format_duration(module.settings.timeout) + " is longer than the " +
               format_duration(kMaxModuleTimeout) +
               " allowed for /probe modules; /probe requests with module \"default\" use " +
               format_duration(kMaxModuleTimeout));
      module.settings.timeout = kMaxModuleTimeout;
    }
    return module;
  }

  ModuleConfig parse_module(const toml::key& key, const toml::node& node) {
    const std::string name(key.str());
    if (name == kDefaultModule) {
      fail(key.source(), "[module.default]",
           "the name \"default\" is reserved: the default module is [defaults] itself (set its "
           "keys there)");
    }
    if (!is_valid_module_name(name)) {
      fail(key.source(), "",
           "module: name " + quote_utf8(name) + " is not a valid module name (want 1-" +
               std::to_string(kMaxModuleNameLength) + " characters of A-Z a-z 0-9 _ -)");
    }
    const std::string context = "[module." + name + "]";
    const toml::table* table = node.as_table();
    if (table == nullptr) fail(node.source(), context, "expected a table, got " + type_name(node));

    Settings s = defaults_;
    s.keepalive_interval = Millis::zero();  // one probe keeps no connection alive
    s.nodes.erase("keepalive_interval");
    const toml::node* timeout_node = nullptr;
    for (const auto& [k, value] : in_document_order(*table)) {
      const std::string_view key_name = k->str();
      if (std::string reason = not_for_modules(key_name); !reason.empty()) {
        fail(k->source(), context + ": " + std::string(key_name),
             "not used by /probe modules (" + reason + ")");
      }
      if (!is_one_of(key_name, kModuleKeys)) {
        fail(k->source(), context, unknown_key_message("unknown key", key_name, kModuleKeys));
      }
      if (key_name == "timeout") timeout_node = value;
      apply_setting(key_name, *value, context, s);
    }
    if (timeout_node != nullptr) {
      check_at_most(*timeout_node, context + ": timeout", s.timeout, kMaxModuleTimeout);
    } else if (s.timeout > kMaxModuleTimeout) {
      fail(s.timeout_node->source(), context + ": timeout",
           format_duration(s.timeout) + " from [defaults] is longer than the " +
               format_duration(kMaxModuleTimeout) + " allowed for /probe modules; set timeout in " +
               context);
    }

    check_one_password_source(*table, context);
    check_settings(s, context, node, nullptr, nullptr);
    warn_insecure(s, context);

    ModuleConfig module{name, s.resolved()};
    module.settings.labels.clear();
    return module;
  }

  // Why a per-target key has no place in a module, or empty if it does.
  static std::string not_for_modules(std::string_view key) {
    if (key == "interval" || key == "failures_before_down" || key == "successes_before_up") {
      return "a /probe request runs one probe";
    }
    if (key == "labels") return "add labels with relabeling in the Prometheus scrape config";
    if (key == "keepalive_interval") return "a /probe request keeps no connection open";
    if (key == "name" || key == "uri") return "the target comes from /probe?target=<sip-uri>";
    return "";
  }

  std::string source_name_;
  std::string base_dir_;  // "" or ending in '/'
  Config config_;
  Settings defaults_;
  std::map<std::string, std::pair<std::size_t, std::uint32_t>> names_;  // -> (#, line)
};

}  // namespace

std::string_view to_string(Transport t) {
  switch (t) {
    case Transport::udp:
      return "udp";
    case Transport::tcp:
      return "tcp";
    case Transport::tls:
      return "tls";
  }
  return "udp";
}

bool HealthyCodes::contains(int code) const {
  if (code >= 100 && code <= 699 && classes[code / 100]) return true;
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

std::vector<double> default_rtt_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string default_user_agent() { return std::string("sip_trunk_exporter/") + kVersion; }

Config parse_config(std::string_view toml_text, std::string_view source_name) {
  return Parser(source_name).run(toml_text);
}

bool is_reserved_label(std::string_view name) { return is_one_of(name, kReservedLabels); }

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
  if (target.transport) {
    if (std::string conflict = transport_conflict(*parsed, *target.transport); !conflict.empty()) {
      throw reject("transport " + conflict + of_module);
    }
  }
  target.transport = effective_transport(*parsed, target.transport);
  if (target.transport && *target.transport != Transport::tls && target.tls != TlsSettings{}) {
    throw reject("the transport is " + quoted(*target.transport) +
                 ", but TLS settings need transport \"tls\"" + of_module);
  }
  if (std::string conflict = source_family_conflict(target.source_address, *parsed);
      !conflict.empty()) {
    throw reject("source_address " + conflict + of_module);
  }
  target.name = std::string(uri);
  target.uri = std::string(uri);
  target.parsed_uri = std::move(*parsed);
  return target;
}

Config load_config_file(const std::string& path) {
  auto cannot_read = [&path](int err) {
    return ConfigError(path + ": cannot read: " + std::generic_category().message(err));
  };
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw cannot_read(errno);
  std::string text;
  char buffer[65536];
  while (true) {
    std::size_t n = std::fread(buffer, 1, sizeof buffer, file);
    text.append(buffer, n);
    if (n < sizeof buffer) break;
  }
  int err = std::ferror(file) ? (errno != 0 ? errno : EIO) : 0;
  std::fclose(file);
  if (err != 0) throw cannot_read(err);
  return parse_config(text, path);
}

}  // namespace stx
