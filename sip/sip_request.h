#pragma once
// Building out-of-dialog requests (RFC 3261 8.1.1): the method is a field, so every probe
// kind writes through the same builder; OPTIONS (section 11) is the first of them.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace stx {

inline constexpr std::string_view kOptions = "OPTIONS";
inline constexpr std::string_view kRegister = "REGISTER";
inline constexpr std::string_view kInvite = "INVITE";
inline constexpr std::string_view kCancel = "CANCEL";
inline constexpr std::string_view kAck = "ACK";
inline constexpr std::string_view kBye = "BYE";

struct RequestFields {
  std::string_view method;       // "OPTIONS", written in the request line and the CSeq
  std::string_view request_uri;  // e.g. "sip:203.0.113.7:5060"
  std::string_view to_uri;       // usually the request URI
  std::string_view to_tag;       // the peer's tag in a dialog or an ACK; empty: none
  std::string_view from_uri;     // e.g. "sip:sip_trunk_exporter@localhost"
  std::string_view from_tag;
  std::string_view via_transport;  // "UDP", "TCP", "TLS"
  std::string_view via_sent_by;    // "192.0.2.1:40000" or "[2001:db8::1]:40000"
  std::string_view branch;         // starts with z9hG4bK
  std::string_view call_id;
  std::uint32_t cseq = 1;
  std::string_view contact_uri;  // e.g. "sip:sip_trunk_exporter@192.0.2.1:40000"; empty: none
  std::string_view user_agent;
  // Written after User-Agent, in order; names and values are validated by the config.
  std::span<const std::pair<std::string, std::string>> extra_headers;
  // "Authorization" or "Proxy-Authorization" with its value; empty name: none.
  std::string_view authorization_name;
  std::string_view authorization_value;
  std::string_view accept;  // the Accept value; empty: none
  std::string_view content_type;  // with a body only
  std::string_view body;
};
using OptionsRequest = RequestFields;

// Clears `out` and writes the request into it. Allocates nothing when
// out.capacity() is already large enough (callers keep one buffer per target).
void build_request(const RequestFields& r, std::string& out);

// An OPTIONS request: `r` with its method and the Accept: application/sdp a UA sends.
void build_options(RequestFields r, std::string& out);

// A REGISTER that fetches bindings (RFC 3261 10.2.3): `r` with its method and never a
// Contact, whatever r.contact_uri says, so the registrar's bindings stay as they are. No
// Expires either (the builder writes none; the config refuses it as an extra header).
// request_uri is the registrar (no user part), to_uri the address of record.
void build_register(RequestFields r, std::string& out);

// An INVITE offering one PCMU stream on the discard port (9) of `media_address` (our own
// address; "0.0.0.0" when it is unknown), so a peer that answers or plays early media sends
// nothing anyone listens to. `session_id` makes the SDP origin unique (RFC 4566 5.2).
void build_invite(RequestFields r, std::string_view media_address, std::uint64_t session_id,
                  std::string& out);

}  // namespace stx
