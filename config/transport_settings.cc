#include "config/transport_settings.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "config/duration.h"
#include "sip/message_text.h"
#include "sip/sip_grammar.h"

namespace stx::config_impl {
namespace {

std::optional<Transport> transport_from_name(std::string_view name) {
  if (name == "udp") return Transport::udp;
  if (name == "tcp") return Transport::tcp;
  if (name == "tls") return Transport::tls;
  if (name == "ws") return Transport::ws;
  if (name == "wss") return Transport::wss;
  return std::nullopt;
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

}  // namespace

std::string quoted(Transport t) { return "\"" + std::string(to_string(t)) + "\""; }

std::string uri_length_error(std::string_view text) {
  if (text.size() <= kMaxUriLength) return "";
  return "longer than " + std::to_string(kMaxUriLength) + " bytes (" + std::to_string(text.size()) +
         ")";
}

std::optional<SipUri> parse_target_uri(std::string_view text, std::string* error) {
  std::optional<SipUri> uri = parse_sip_uri(text, error);
  if (!uri) return std::nullopt;
  if (uri->transport.empty()) return uri;
  const std::optional<Transport> t = transport_from_name(uri->transport);
  if (!t) {
    *error = "transport " + quote_utf8(uri->transport) +
             " is not supported (want udp, tcp, tls, ws or wss)";
    return std::nullopt;
  }
  if (uri->secure && !is_secure(*t)) {
    *error = "sips: needs transport tls or wss, not ;transport=" + uri->transport;
    return std::nullopt;
  }
  return uri;
}

std::string transport_conflict(const SipUri& uri, Transport key) {
  if (!uri.transport.empty() && uri.transport != to_string(key)) {
    return quoted(key) + " conflicts with the URI's ;transport=" + uri.transport;
  }
  if (uri.secure && !is_secure(key)) {
    return quoted(key) + " conflicts with the sips: URI, which needs tls or wss";
  }
  return "";
}

std::optional<Transport> effective_transport(const SipUri& uri, std::optional<Transport> key) {
  if (key) return key;
  if (!uri.transport.empty()) return transport_from_name(uri.transport);
  if (uri.secure) return Transport::tls;
  return std::nullopt;
}

bool is_secure(Transport t) { return t == Transport::tls || t == Transport::wss; }

bool is_websocket(Transport t) { return t == Transport::ws || t == Transport::wss; }

std::string parse_ws_path(const ConfigSource& src, const toml::node& node,
                          const std::string& key_context) {
  const std::string& text = expect_nonempty_string(src, node, key_context, kMaxUriLength);
  if (text.front() != '/') {
    src.fail(node.source(), key_context,
             quote_utf8(text) + " must start with \"/\" (an HTTP path like \"/ws\")");
  }
  // RFC 3986 path and query characters: what an HTTP request line carries as they are.
  const auto bad = std::find_if(text.begin(), text.end(), [](char c) {
    return !is_alnum(c) &&
           std::string_view("-._~!$&'()*+,;=:@/?%").find(c) == std::string_view::npos;
  });
  if (bad != text.end()) {
    src.fail(node.source(), key_context,
             quote_utf8(text) + " is not an HTTP path (character " +
                 quote_utf8(std::string_view(&*bad, 1)) + " is not allowed; percent-encode it)");
  }
  return text;
}

std::optional<HostKind> ip_literal_kind(const std::string& text) {
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return HostKind::ipv4;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return HostKind::ipv6;
  return std::nullopt;
}

std::string source_family_conflict(const std::string& source, const SipUri& uri) {
  if (source.empty() || uri.host_kind == HostKind::name) return "";
  const HostKind kind = ip_literal_kind(source).value_or(uri.host_kind);
  if (kind == uri.host_kind) return "";
  auto family = [](HostKind k) { return k == HostKind::ipv4 ? "IPv4" : "IPv6"; };
  return quote_utf8(source) + " is " + family(kind) + " but the URI host " + quote_utf8(uri.host) +
         " is " + family(uri.host_kind);
}

std::string parse_source_address(const ConfigSource& src, const toml::node& node,
                                 const std::string& key_context) {
  const std::string& text = expect_string(src, node, key_context);
  if (!text.empty() && text.front() == '[') {
    src.fail(node.source(), key_context,
             quote_utf8(text) + " is not an IP address (write IPv6 addresses without brackets)");
  }
  if (!ip_literal_kind(text)) {
    src.fail(node.source(), key_context,
             quote_utf8(text) + " is not an IPv4 or IPv6 address (host names are not allowed)");
  }
  return text;
}

std::uint16_t parse_port(const ConfigSource& src, const toml::node& node,
                         const std::string& key_context) {
  const auto* i = node.as_integer();
  if (i == nullptr)
    src.fail(node.source(), key_context, "expected an integer, got " + type_of(node));
  if (i->get() < 1 || i->get() > 65535) {
    src.fail(node.source(), key_context,
             "must be from 1 to 65535, got " + std::to_string(i->get()));
  }
  return static_cast<std::uint16_t>(i->get());
}

std::string parse_file(const ConfigSource& src, const toml::node& node,
                       const std::string& key_context) {
  const std::string& text = expect_nonempty_string(src, node, key_context, kMaxPathLength);
  std::string path = text.front() == '/' ? text : src.base_dir() + text;
  if (std::string reason = unreadable_reason(path); !reason.empty()) {
    src.fail(node.source(), key_context, "cannot read " + quote_utf8(path) + ": " + reason);
  }
  return path;
}

std::string parse_server_name(const ConfigSource& src, const toml::node& node,
                              const std::string& key_context) {
  const std::string& text = expect_string(src, node, key_context);
  const bool name_chars = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return is_alnum(c) || c == '-' || c == '.';
  });
  std::string error;
  std::optional<SipUri> uri;
  if (name_chars) uri = parse_sip_uri("sip:" + text, &error);
  if (!uri || uri->host_kind != HostKind::name) {
    src.fail(node.source(), key_context,
             quote_utf8(text) + " is not a host name" + (error.empty() ? "" : " (" + error + ")"));
  }
  return text;
}

Millis parse_keepalive(const ConfigSource& src, const toml::node& node,
                       const std::string& key_context) {
  const Millis d = parse_duration_value(src, node, key_context, "30s");
  if (d == Millis::zero()) return d;
  if (d < kMinKeepalive || d > kMaxKeepalive) {
    src.fail(node.source(), key_context,
             "must be 0 (off) or from " + format_duration(kMinKeepalive) + " to " +
                 format_duration(kMaxKeepalive) + ", got " + quoted_text(node));
  }
  return d;
}

}  // namespace stx::config_impl
