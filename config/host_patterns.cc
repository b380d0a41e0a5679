#include "config/host_patterns.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>

#include "sip/message_text.h"

namespace stx {
namespace {

// The address of an IP literal (IPv6 with or without brackets), or nullopt.
std::optional<IpNetwork> ip_literal(std::string text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  IpNetwork net;
  if (inet_pton(AF_INET, text.c_str(), net.bytes.data()) == 1) {
    net.prefix = 32;
    return net;
  }
  if (inet_pton(AF_INET6, text.c_str(), net.bytes.data()) == 1) {
    net.v6 = true;
    net.prefix = 128;
    return net;
  }
  return std::nullopt;
}

bool in_network(const IpNetwork& net, const IpNetwork& address) {
  if (net.v6 != address.v6) return false;
  const int whole = net.prefix / 8;
  if (!std::equal(net.bytes.begin(), net.bytes.begin() + whole, address.bytes.begin())) {
    return false;
  }
  const int rest = net.prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (net.bytes[whole] & mask) == (address.bytes[whole] & mask);
}

}  // namespace

bool host_matches(const HostPatterns& patterns, const SipUri& uri) {
  if (uri.host_kind != HostKind::name) {
    const std::optional<IpNetwork> address = ip_literal(uri.host);
    return address && std::any_of(patterns.networks.begin(), patterns.networks.end(),
                                  [&](const IpNetwork& net) { return in_network(net, *address); });
  }
  // SipUri lower-cases names, and so does the parser below.
  const std::string& host = uri.host;
  if (std::find(patterns.names.begin(), patterns.names.end(), host) != patterns.names.end()) {
    return true;
  }
  return std::any_of(patterns.suffixes.begin(), patterns.suffixes.end(),
                     [&](const auto& s) { return host.size() > s.size() && host.ends_with(s); });
}

namespace config_impl {
namespace {

// "10.0.0.0/8" or "2001:db8::/32"; the address's bits past the prefix are ignored.
std::optional<IpNetwork> cidr(std::string_view text, std::string* error) {
  const auto slash = text.find('/');
  std::optional<IpNetwork> net = ip_literal(std::string(text.substr(0, slash)));
  if (!net) {
    *error = "is not a CIDR: " + quote_utf8(text.substr(0, slash)) + " is not an IP address";
    return std::nullopt;
  }
  const std::string_view bits = text.substr(slash + 1);
  int prefix = -1;
  const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
  const int max = net->v6 ? 128 : 32;
  if (ec != std::errc() || end != bits.data() + bits.size() || prefix < 0 || prefix > max) {
    *error = "is not a CIDR: the prefix length must be 0-" + std::to_string(max);
    return std::nullopt;
  }
  net->prefix = prefix;
  return net;
}

// A host name as a SIP URI takes it, lower-cased; empty when `text` is not one.
std::string host_name(std::string_view text) {
  std::string error;
  const std::optional<SipUri> uri = parse_sip_uri("sip:" + std::string(text), &error);
  if (!uri || uri->host_kind != HostKind::name || !uri->user.empty() || uri->port != 0 ||
      uri->host.size() != text.size()) {
    return "";
  }
  return uri->host;
}

// Adds `text` to `out`; else a reason in *error.
void add_pattern(std::string_view text, HostPatterns& out, std::string* error) {
  if (text.find('/') != std::string_view::npos) {
    if (auto net = cidr(text, error)) out.networks.push_back(*net);
    return;
  }
  if (auto address = ip_literal(std::string(text))) {
    out.networks.push_back(*address);
    return;
  }
  const bool wildcard = text.starts_with("*.");
  const std::string name = host_name(wildcard ? text.substr(2) : text);
  if (name.empty()) {
    *error = "is not a host name, \"*.<domain>\", IP address or CIDR";
  } else if (wildcard) {
    out.suffixes.push_back("." + name);
  } else {
    out.names.push_back(name);
  }
}

}  // namespace

HostPatterns parse_host_patterns(const ConfigSource& src, const toml::node& node,
                                 const std::string& key_context, std::string_view example) {
  const toml::array& array = expect_array(src, node, key_context, example);
  HostPatterns patterns;
  for (const toml::node& element : array) {
    const auto* str = element.as_string();
    if (str == nullptr) {
      src.fail(element.source(), key_context, "expected a string, got " + type_of(element));
    }
    std::string error;
    add_pattern(str->get(), patterns, &error);
    if (!error.empty())
      src.fail(element.source(), key_context, quote_utf8(str->get()) + " " + error);
  }
  return patterns;
}

}  // namespace config_impl
}  // namespace stx
