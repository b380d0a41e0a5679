// Parsing of the sip:/sips: URIs that name probe targets (RFC 3261 section 19.1).
//
// The grammar accepted here is the subset of RFC 3261 `SIP-URI` / `SIPS-URI`
// that makes sense for a probe target:
//
//   ("sip:" | "sips:") [ user [ ":" password ] "@" ] host [ ":" port ] *( ";" uri-parameter )
//
// `host` is an IPv4 dotted quad, a bracketed IPv6 literal or an RFC 1123 host
// name. URI headers ("?...") are rejected because a probe has no use for them
// and they would let a config smuggle header fields into the request.
#include "sip/sip_uri.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <string>
#include <utility>

#include "sip/message_text.h"
#include "sip/sip_grammar.h"

namespace stx {
namespace {

constexpr std::size_t kMaxHostNameLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

// Checks that every byte of `s` is either allowed by `allowed` or part of a
// "%HH" escape. On failure returns the offending text for the message.
template <typename Pred>
bool valid_escaped(std::string_view s, Pred allowed, std::string* bad) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) {
        *bad = "invalid %-escape";
        return false;
      }
      i += 2;
      continue;
    }
    if (!allowed(c)) {
      *bad = std::string("character '") + c + "'";
      return false;
    }
  }
  return true;
}

// RFC 3261: user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
bool is_user_char(char c) {
  if (is_unreserved(c)) return true;
  switch (c) {
    case '&':
    case '=':
    case '+':
    case '$':
    case ',':
    case ';':
    case '?':
    case '/':
      return true;
    default:
      return false;
  }
}

// RFC 3261: password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
bool is_password_char(char c) {
  if (is_unreserved(c)) return true;
  switch (c) {
    case '&':
    case '=':
    case '+':
    case '$':
    case ',':
      return true;
    default:
      return false;
  }
}

// RFC 3261: paramchar = param-unreserved / unreserved / escaped
//           param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$"
bool is_param_char(char c) {
  if (is_unreserved(c)) return true;
  switch (c) {
    case '[':
    case ']':
    case '/':
    case ':':
    case '&':
    case '+':
    case '$':
      return true;
    default:
      return false;
  }
}

bool fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

bool parse_ipv4(std::string_view host, std::string* error) {
  int octets = 0;
  std::size_t pos = 0;
  while (true) {
    std::size_t end = host.find('.', pos);
    std::string_view octet =
        host.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (octet.empty()) {
      return fail(error, "invalid IPv4 address " + quote_ascii(host) + " (empty octet)");
    }
    if (octet.size() > 1 && octet[0] == '0') {
      return fail(error, "invalid IPv4 address " + quote_ascii(host) + " (octet " +
                             quote_ascii(octet) + " has a leading zero)");
    }
    int value = 0;
    for (char c : octet) {
      value = value * 10 + (c - '0');
      if (value > 255) break;
    }
    if (octet.size() > 3 || value > 255) {
      return fail(error, "invalid IPv4 address " + quote_ascii(host) + " (octet " +
                             quote_ascii(octet) + " out of range 0-255)");
    }
    ++octets;
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  if (octets != 4) {
    return fail(error, "invalid IPv4 address " + quote_ascii(host) + " (want 4 octets, got " +
                           std::to_string(octets) + ")");
  }
  return true;
}

bool parse_host_name(std::string_view host, std::string* error) {
  // A single trailing dot (fully qualified form) is allowed.
  std::string_view name = host;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.size() > kMaxHostNameLength) {
    return fail(error, "host name is longer than 253 characters");
  }
  std::size_t pos = 0;
  std::string_view label;
  while (true) {
    std::size_t end = name.find('.', pos);
    label = name.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (label.empty()) {
      return fail(error, "invalid host name " + quote_ascii(host) + " (empty label)");
    }
    if (label.size() > kMaxLabelLength) {
      return fail(error,
                  "invalid host name " + quote_ascii(host) + " (label longer than 63 characters)");
    }
    for (char c : label) {
      if (!is_alnum(c) && c != '-') {
        return fail(error, "invalid host name " + quote_ascii(host) + " (character '" +
                               std::string(1, c) + "' not allowed)");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return fail(error, "invalid host name " + quote_ascii(host) + " (label " +
                             quote_ascii(label) + " starts or ends with '-')");
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  // RFC 3261 toplabel = ALPHA / ALPHA *( alphanum / "-" ) alphanum. Requiring a
  // letter here also catches mistyped IPv4 addresses such as "10.0.0.1x".
  if (!is_alpha(label.front())) {
    return fail(error, "invalid host name " + quote_ascii(host) + " (last label " +
                           quote_ascii(label) + " must start with a letter)");
  }
  return true;
}

bool parse_port(std::string_view text, std::uint16_t* port, std::string* error) {
  if (text.empty()) return fail(error, "missing port after ':'");
  for (char c : text) {
    if (!is_digit(c)) return fail(error, "invalid port " + quote_ascii(text) + " (digits only)");
  }
  long value = 0;
  for (char c : text) {
    value = value * 10 + (c - '0');
    if (value > 65535) break;
  }
  if (value < 1 || value > 65535) {
    return fail(error, "port " + quote_ascii(text) + " out of range 1-65535");
  }
  *port = static_cast<std::uint16_t>(value);
  return true;
}

bool parse_params(std::string_view params, SipUri* uri, std::string* error) {
  // `params` is everything after the first ';', without the leading ';'.
  bool have_transport = false;
  std::size_t pos = 0;
  while (true) {
    std::size_t end = params.find(';', pos);
    std::string_view param =
        params.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (param.empty()) return fail(error, "empty URI parameter");
    std::size_t eq = param.find('=');
    std::string_view name = param.substr(0, eq);
    if (!is_token(name)) {
      return fail(error, "invalid URI parameter name " + quote_ascii(name));
    }
    std::string bad;
    if (eq != std::string_view::npos) {
      std::string_view value = param.substr(eq + 1);
      if (value.empty()) {
        return fail(error, "URI parameter " + quote_ascii(name) + " has an empty value");
      }
      if (!valid_escaped(value, is_param_char, &bad)) {
        return fail(error, "invalid URI parameter " + quote_ascii(param) + " (" + bad + ")");
      }
    }
    if (iequals(name, "transport")) {
      if (have_transport) return fail(error, "duplicate transport parameter");
      if (eq == std::string_view::npos) return fail(error, "transport parameter has no value");
      std::string_view value = param.substr(eq + 1);
      if (!is_token(value)) {
        return fail(error, "invalid transport " + quote_ascii(value));
      }
      uri->transport = lower(value);
      have_transport = true;
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return true;
}

bool parse(std::string_view text, SipUri* uri, std::string* error) {
  if (text.empty()) return fail(error, "empty URI");
  // Everything quoted in a message below is therefore printable ASCII.
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\t') {
      return fail(error, "whitespace is not allowed (at offset " + std::to_string(i) + ")");
    }
    if (c < 0x20 || c == 0x7f) {
      return fail(error, "control character at offset " + std::to_string(i));
    }
    if (c >= 0x80) {
      return fail(error, "non-ASCII byte at offset " + std::to_string(i) + " (use %-escapes)");
    }
  }

  std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return fail(error, "missing scheme (want sip: or sips:)");
  }
  std::string_view scheme = text.substr(0, colon);
  if (iequals(scheme, "sip")) {
    uri->secure = false;
  } else if (iequals(scheme, "sips")) {
    uri->secure = true;
  } else {
    return fail(error, "unsupported scheme " + quote_ascii(scheme) + " (want sip: or sips:)");
  }
  std::string_view rest = text.substr(colon + 1);

  // Userinfo. Neither host, port, parameters nor headers may contain '@', and
  // neither may the user part, so the first '@' ends the userinfo.
  std::size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (rest.find('@') != std::string_view::npos) return fail(error, "more than one '@'");
    std::size_t pw = userinfo.find(':');
    std::string_view user = userinfo.substr(0, pw);
    if (user.empty()) return fail(error, "empty user before '@'");
    std::string bad;
    if (!valid_escaped(user, is_user_char, &bad)) {
      return fail(error, "invalid user " + quote_ascii(user) + " (" + bad + ")");
    }
    if (pw != std::string_view::npos &&
        !valid_escaped(userinfo.substr(pw + 1), is_password_char, &bad)) {
      return fail(error, "invalid password (" + bad + ")");
    }
    uri->user = std::string(user);
  }

  // Host.
  std::size_t host_end;
  if (!rest.empty() && rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return fail(error, "missing ']' after IPv6 address");
    std::string v6(rest.substr(1, close - 1));
    if (v6.empty()) return fail(error, "missing host");
    in6_addr addr{};
    if (inet_pton(AF_INET6, v6.c_str(), &addr) != 1) {
      return fail(error, "invalid IPv6 address " + quote_ascii(v6));
    }
    uri->host = lower(v6);
    uri->host_kind = HostKind::ipv6;
    host_end = close + 1;
  } else {
    host_end = rest.find_first_of(":;?");
    if (host_end == std::string_view::npos) host_end = rest.size();
    std::string_view host = rest.substr(0, host_end);
    if (host.empty()) return fail(error, "missing host");
    bool digits_and_dots = true;
    for (char c : host) {
      if (!is_digit(c) && c != '.') digits_and_dots = false;
    }
    if (digits_and_dots) {
      if (!parse_ipv4(host, error)) return false;
      uri->host_kind = HostKind::ipv4;
      uri->host = std::string(host);
    } else {
      if (!parse_host_name(host, error)) return false;
      uri->host_kind = HostKind::name;
      uri->host = lower(host);
    }
  }
  rest = rest.substr(host_end);

  // Port.
  if (!rest.empty() && rest.front() == ':') {
    std::size_t port_end = rest.find_first_of(";?");
    if (port_end == std::string_view::npos) port_end = rest.size();
    if (!parse_port(rest.substr(1, port_end - 1), &uri->port, error)) return false;
    rest = rest.substr(port_end);
  }

  // Parameters.
  if (!rest.empty() && rest.front() == ';') {
    std::size_t params_end = rest.find('?');
    if (params_end == std::string_view::npos) params_end = rest.size();
    if (!parse_params(rest.substr(1, params_end - 1), uri, error)) return false;
    rest = rest.substr(params_end);
  }

  if (!rest.empty() && rest.front() == '?') {
    return fail(error, "URI headers (?...) are not allowed in a probe target");
  }
  if (!rest.empty()) {
    return fail(error, "unexpected " + quote_ascii(rest) + " after host");
  }
  return true;
}

}  // namespace

std::optional<SipUri> parse_sip_uri(std::string_view text, std::string* error) {
  SipUri uri;
  if (!parse(text, &uri, error)) return std::nullopt;
  return uri;
}

std::string host_for_uri(std::string_view host, HostKind kind) {
  if (kind == HostKind::ipv6) return "[" + std::string(host) + "]";
  return std::string(host);
}

bool is_valid_sip_user(std::string_view user, std::string* error) {
  if (user.empty()) return fail(error, "empty user");
  for (std::size_t i = 0; i < user.size(); ++i) {
    const auto c = static_cast<unsigned char>(user[i]);
    if (c <= 0x20 || c >= 0x7f) {
      return fail(error, "invalid user " + quote_ascii(user) + " (byte " +
                             quote_ascii(user.substr(i, 1)) + " at offset " + std::to_string(i) +
                             ")");
    }
  }
  std::string bad;
  if (!valid_escaped(user, is_user_char, &bad)) {
    return fail(error, "invalid user " + quote_ascii(user) + " (" + bad + ")");
  }
  return true;
}

std::string request_uri_with_user(const SipUri& uri, std::string_view uri_text,
                                  std::string_view user) {
  if (user.empty()) return std::string(uri_text);
  const std::size_t user_begin = uri_text.find(':') + 1;  // after the scheme: the URI parsed
  // An existing user part ends at the password's ':' or at the '@'; else insert "user@".
  const bool has_user = !uri.user.empty();
  const std::size_t user_end = has_user ? uri_text.find_first_of(":@", user_begin) : user_begin;
  std::string out;
  out.reserve(uri_text.size() + user.size() + 1);
  out.append(uri_text.substr(0, user_begin));
  out.append(user);
  if (!has_user) out.push_back('@');
  out.append(uri_text.substr(user_end));
  return out;
}

std::string request_uri_without_user(const SipUri& uri, std::string_view uri_text) {
  if (uri.user.empty()) return std::string(uri_text);
  const std::size_t user_begin = uri_text.find(':') + 1;  // after the scheme: the URI parsed
  // The first '@' ends the userinfo: no later part of a parsed URI may hold one.
  const std::size_t at = uri_text.find('@', user_begin);
  std::string out(uri_text.substr(0, user_begin));
  out.append(uri_text.substr(at + 1));
  return out;
}

std::string_view user_part_of(std::string_view uri) {
  std::string error;
  const auto parsed = parse_sip_uri(uri, &error);
  if (!parsed || parsed->user.empty()) return {};
  // The userinfo starts right after the scheme's colon.
  const std::string_view user = uri.substr(uri.find(':') + 1, parsed->user.size());
  return user == parsed->user ? user : std::string_view();
}

}  // namespace stx
