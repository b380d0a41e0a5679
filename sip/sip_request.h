#pragma once
// Building the OPTIONS request (RFC 3261 sections 8.1.1 and 11).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace stx {

struct OptionsRequest {
  std::string_view request_uri;  // e.g. "sip:203.0.113.7:5060"
  std::string_view to_uri;       // usually the request URI
  std::string_view from_uri;     // e.g. "sip:sip_trunk_exporter@localhost"
  std::string_view from_tag;
  std::string_view via_transport;  // "UDP", "TCP", "TLS"
  std::string_view via_sent_by;    // "192.0.2.1:40000" or "[2001:db8::1]:40000"
  std::string_view branch;         // starts with z9hG4bK
  std::string_view call_id;
  std::uint32_t cseq = 1;
  std::string_view contact_uri;  // e.g. "sip:sip_trunk_exporter@192.0.2.1:40000"
  std::string_view user_agent;
  // Written after User-Agent, in order; names and values are validated by the config.
  std::span<const std::pair<std::string, std::string>> extra_headers;
  // "Authorization" or "Proxy-Authorization" with its value; empty name: none.
  std::string_view authorization_name;
  std::string_view authorization_value;
};

// Clears `out` and writes the request into it. Allocates nothing when
// out.capacity() is already large enough (callers keep one buffer per target).
void build_options(const OptionsRequest& r, std::string& out);

}  // namespace stx
