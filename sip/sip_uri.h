#pragma once
// Parsing of the sip:/sips: URIs that name probe targets (RFC 3261 section 19.1).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stx {

enum class HostKind : std::uint8_t { ipv4, ipv6, name };

struct SipUri {
  std::string user;       // userinfo before '@' (without password), may be empty
  std::string host;       // IPv6 without brackets, names lower-cased
  std::string transport;  // lower-cased ";transport=" value, empty when absent
  // The narrow fields together, in one word: every configured target holds a SipUri.
  bool secure = false;  // sips:
  HostKind host_kind = HostKind::name;
  std::uint16_t port = 0;  // 0 when the URI gives none
  bool operator==(const SipUri&) const = default;
};

// Returns the parsed URI, or nullopt with a one-line reason in *error
// (e.g. "missing host", "port 70000 out of range").
std::optional<SipUri> parse_sip_uri(std::string_view text, std::string* error);
// The user part of a sip: URI string, as a view into it; empty if it has none or does not parse.
std::string_view user_part_of(std::string_view uri);

// "host" or "[v6]" for use in Via, Contact and address labels.
std::string host_for_uri(std::string_view host, HostKind kind);

// True if `user` is a non-empty RFC 3261 `user`: unreserved characters, %HH escapes and
// "&=+$,;?/". Otherwise false with a one-line reason in *error (may be null).
bool is_valid_sip_user(std::string_view user, std::string* error);

// `uri_text` (which parsed as `uri`) with its user part replaced by `user`, or `user@`
// inserted after the scheme; scheme, password, host, port and parameters stay as written.
// An empty `user` returns `uri_text` unchanged. `user` must pass is_valid_sip_user.
std::string request_uri_with_user(const SipUri& uri, std::string_view uri_text,
                                  std::string_view user);

// `uri_text` (which parsed as `uri`) without its user part (and password): the URI of a
// registrar, which RFC 3261 10.2 wants without userinfo. Unchanged when it has none.
std::string request_uri_without_user(const SipUri& uri, std::string_view uri_text);

}  // namespace stx
