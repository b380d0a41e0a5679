#pragma once
// A strict, bounded parser for SIP responses (RFC 3261 section 7 and 25).
// Pure: bytes in, a view out. No allocation; every string_view points into the input.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace stx {

inline constexpr std::size_t kMaxSipMessageSize = 65535;
inline constexpr std::size_t kMaxSipHeaders = 128;
inline constexpr std::size_t kMaxChallenges = 4;

struct SipResponse {
  int status_code = 0;             // 100..699
  std::string_view reason;         // reason phrase, may be empty
  std::string_view via_transport;  // top Via sent-protocol transport, e.g. "UDP"
  std::string_view via_branch;     // top Via ;branch= value, empty if absent
  std::string_view call_id;
  std::uint32_t cseq_number = 0;
  std::string_view cseq_method;
  std::string_view to_tag;                   // empty if absent
  std::string_view server;                   // Server header, else User-Agent, else empty
  std::optional<std::uint32_t> retry_after;  // seconds from Retry-After
  // WWW-Authenticate values of a 401, Proxy-Authenticate values of a 407, trimmed, in
  // message order; empty values and any beyond kMaxChallenges are not recorded.
  std::string_view challenges[kMaxChallenges];
  std::uint8_t challenge_count = 0;
  // Contact entries over all Contact (compact m) headers, each of which may hold a
  // comma-separated list: in a registrar's 2xx to REGISTER, the bindings of the address of
  // record (RFC 3261 10.3 step 8). contacts_malformed: a value that cannot be split into
  // entries ("*", which a response may not carry, an empty entry, an open quote or '<').
  std::uint32_t contact_count = 0;
  bool contacts_malformed = false;
  // The URI of the first Contact entry when it is a plain sip:/sips: URI (no spaces, quotes
  // or angle brackets inside): in a 2xx to INVITE, the peer's remote target (RFC 3261
  // 12.1.2), where the ACK and BYE go. Empty otherwise.
  std::string_view contact_uri;
  // What the peer says it can do (RFC 3261 11.2: an OPTIONS answer's Allow, Supported and
  // Accept), the first header of each, trimmed; empty when absent.
  std::string_view allow;
  std::string_view supported;
  std::string_view accept;
  std::size_t content_length = 0;
  std::size_t message_length = 0;  // start line + headers + body, in bytes
};

enum class SipParseError {
  ok,
  incomplete,      // more bytes needed (only meaningful on stream transports)
  too_large,       // exceeds kMaxSipMessageSize or kMaxSipHeaders
  not_a_response,  // a request, or not SIP at all
  bad_status_line,
  bad_header,      // a header line without a colon, bad characters, bad folding
  missing_header,  // Via, Call-ID, CSeq, From or To absent
  bad_via,
  bad_cseq,
  bad_content_length,
  body_mismatch,  // datagram shorter than Content-Length
};

std::string_view to_string(SipParseError e);

// Counts the contacts in one Contact header value (RFC 3261 20.10: "name-addr" or
// "addr-spec", with parameters, separated by commas outside quoted strings and <...>) and
// adds them to `count`. Returns false, adding nothing, when the value is not such a list:
// empty, "*", an empty entry, or an unclosed quoted string or '<'.
bool count_contacts(std::string_view value, std::uint32_t& count);

// The URI of the first entry of a Contact header value, or empty when it is not a plain
// sip:/sips: URI: "<sip:a@h;transport=tcp>;expires=60" -> "sip:a@h;transport=tcp",
// "sip:a@h;expires=60" -> "sip:a@h".
std::string_view first_contact_uri(std::string_view value);

// Parses one response from a datagram (whole message expected; bytes after
// Content-Length are ignored as RFC 3261 18.3 says). On error, `out` is unspecified.
SipParseError parse_sip_response(std::string_view in, SipResponse& out);

}  // namespace stx
