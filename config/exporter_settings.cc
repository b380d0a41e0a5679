#include "config/exporter_settings.h"

#include <cmath>

#include "config/duration.h"
#include "config/transport_settings.h"
#include "sip/message_text.h"

namespace stx::config_impl {
namespace {

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

}  // namespace

std::vector<double> parse_rtt_buckets(const ConfigSource& src, const toml::node& node,
                                      const std::string& key_context) {
  const toml::array& array =
      expect_array(src, node, key_context, "an array of numbers like [0.01, 0.1, 1]");
  if (array.empty()) src.fail(node.source(), key_context, "must not be empty");
  std::vector<double> buckets;
  for (const toml::node& element : array) {
    double value;
    if (const auto* i = element.as_integer()) {
      value = static_cast<double>(i->get());
    } else if (const auto* f = element.as_floating_point()) {
      value = f->get();
    } else {
      src.fail(element.source(), key_context, "expected a number, got " + type_of(element));
    }
    if (!std::isfinite(value)) {
      src.fail(element.source(), key_context, format_number(value) + " is not a finite number");
    }
    if (value <= 0) {
      src.fail(element.source(), key_context,
               "bucket " + format_number(value) + " must be positive");
    }
    if (!buckets.empty() && value <= buckets.back()) {
      src.fail(element.source(), key_context,
               "bucket " + format_number(value) + " is not greater than the previous bucket " +
                   format_number(buckets.back()) + " (buckets must be strictly increasing)");
    }
    buckets.push_back(value);
  }
  return buckets;
}

std::vector<std::string> parse_dns_servers(const ConfigSource& src, const toml::node& node,
                                           const std::string& key_context) {
  const toml::array& array =
      expect_array(src, node, key_context, "an array like [\"127.0.0.1:5353\"]");
  if (array.empty()) {
    src.fail(node.source(), key_context,
             "must not be empty (leave it out to use /etc/resolv.conf)");
  }
  std::vector<std::string> servers;
  for (const toml::node& element : array) {
    const auto* str = element.as_string();
    if (str == nullptr) {
      src.fail(element.source(), key_context, "expected a string, got " + type_of(element));
    }
    if (std::string error = dns_server_error(str->get()); !error.empty()) {
      src.fail(element.source(), key_context, error);
    }
    servers.push_back(str->get());
  }
  return servers;
}

std::chrono::seconds parse_dns_seconds(const ConfigSource& src, const toml::node& node,
                                       const std::string& key_context, Millis min) {
  const Millis d = parse_duration_value(src, node, key_context, "30s");
  if (d.count() % 1000 != 0) {
    src.fail(node.source(), key_context, "must be whole seconds, got " + quoted_text(node));
  }
  if (d < min) {
    src.fail(node.source(), key_context,
             "must be at least " + format_duration(min) + ", got " + quoted_text(node));
  }
  check_at_most(src, node, key_context, d, kMaxDnsDuration);
  return std::chrono::duration_cast<std::chrono::seconds>(d);
}

void check_dns_ttls(const ConfigSource& src, const toml::table& table, const std::string& context,
                    const DnsSettings& dns) {
  if (dns.min_ttl <= dns.max_ttl) return;
  const toml::node* max_node = table.get("dns_max_ttl");
  const toml::node* where = max_node != nullptr ? max_node : table.get("dns_min_ttl");
  src.fail(where->source(), context + (max_node != nullptr ? ": dns_max_ttl" : ": dns_min_ttl"),
           "dns_min_ttl (" + format_duration(dns.min_ttl) +
               ") must not be greater than dns_max_ttl (" + format_duration(dns.max_ttl) + ")");
}

}  // namespace stx::config_impl
