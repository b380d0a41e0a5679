#include "sip/sip_response.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "sip/sip_grammar.h"

namespace stx {
namespace {

// ---------------------------------------------------------------------------
// Character classes beyond the shared ones in sip/sip_grammar.h. Locale-free
// on purpose.

constexpr char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr char to_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

// gen-value = token / host / quoted-string; a host adds ':' '[' ']' to the token set.
constexpr bool param_value_char_by_rule(char c) {
  return is_token_char(c) || c == ':' || c == '[' || c == ']';
}

// A host name's characters in a Via sent-by: alphanum, '-', '.', '_'.
constexpr bool via_host_char_by_rule(char c) {
  return is_alnum(c) || c == '-' || c == '.' || c == '_';
}

// Both rules as tables: every answer's Via branch and host are read a byte at a time.
struct CharTable {
  bool is[256] = {};
  constexpr explicit CharTable(bool (*rule)(char)) {
    for (int c = 0; c < 256; ++c) is[c] = rule(static_cast<char>(c));
  }
  constexpr bool operator()(char c) const { return is[static_cast<unsigned char>(c)]; }
};
constexpr CharTable is_via_host_char(via_host_char_by_rule);

// A parameter value's bytes in one reading: whether each may be in a gen-value, and whether
// it is a token character too, so that a branch or tag needs no second pass to be a token.
struct ParamValueTable {
  static constexpr std::uint8_t kValue = 1;
  static constexpr std::uint8_t kToken = 2;
  std::uint8_t bits[256] = {};
  constexpr ParamValueTable() {
    for (int c = 0; c < 256; ++c) {
      const auto ch = static_cast<char>(c);
      bits[c] = static_cast<std::uint8_t>((param_value_char_by_rule(ch) ? kValue : 0) |
                                          (is_token_char(ch) ? kToken : 0));
    }
  }
};
constexpr ParamValueTable kParamValue;

// Whitespace inside a header line.
constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// Whitespace inside a (possibly folded) header value: LWS spans CRLF + WSP.
constexpr bool is_lws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Whether `n` bytes at `a`, each with bit 0x20 set, equal those at `lower`: in words of W,
// the last one overlapping the one before (sizeof(W) <= n <= 2 * sizeof(W) per step).
template <typename W>
bool words_equal_lowered(const char* a, const char* lower, std::size_t n) {
  constexpr W kCase = static_cast<W>(0x2020202020202020ULL);
  const auto same = [&](std::size_t at) {
    W x;
    W y;
    std::memcpy(&x, a + at, sizeof x);
    std::memcpy(&y, lower + at, sizeof y);
    return static_cast<W>(x | kCase) == y;
  };
  std::size_t i = 0;
  for (; i + sizeof(W) < n; i += sizeof(W)) {
    if (!same(i)) return false;
  }
  return same(n - sizeof(W));
}

// `a` is a token (header or parameter name) and `lower` a lower-case name of letters and
// '-': for token characters, setting bit 0x20 lower-cases a letter and changes no byte into
// another that could match. A word at a time: every header name of every answer comes here.
bool iequals(std::string_view a, std::string_view lower) {
  const std::size_t n = a.size();
  if (n != lower.size()) return false;
  if (n >= 8) return words_equal_lowered<std::uint64_t>(a.data(), lower.data(), n);
  if (n >= 4) return words_equal_lowered<std::uint32_t>(a.data(), lower.data(), n);
  if (n >= 2) return words_equal_lowered<std::uint16_t>(a.data(), lower.data(), n);
  return n == 0 || static_cast<char>(a[0] | 0x20) == lower[0];
}

std::string_view trim_lws(std::string_view s) {
  std::size_t b = 0;
  std::size_t e = s.size();
  while (b < e && is_lws(s[b])) ++b;
  while (e > b && is_lws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

void skip_lws(std::string_view s, std::size_t& i) {
  while (i < s.size() && is_lws(s[i])) ++i;
}

std::string_view scan_token(std::string_view s, std::size_t& i) {
  const std::size_t b = i;
  while (i < s.size() && is_token_char(s[i])) ++i;
  return s.substr(b, i - b);
}

// Skips a quoted-string starting at s[i] == '"'. Returns false if unterminated.
bool skip_quoted_string(std::string_view s, std::size_t& i) {
  ++i;  // opening quote
  while (i < s.size()) {
    if (s[i] == '\\') {
      if (i + 1 >= s.size()) return false;
      i += 2;
    } else if (s[i] == '"') {
      ++i;
      return true;
    } else {
      ++i;
    }
  }
  return false;
}

// Parses `*( LWS ";" LWS name [ LWS "=" LWS value ] ) LWS` starting at s[i].
// Stops at the end of s or before a ',' (the next element of a list).
// on_param(name, value, has_value, value_is_token) returns false to reject the parameter.
template <typename OnParam>
bool parse_params(std::string_view s, std::size_t& i, OnParam&& on_param) {
  for (;;) {
    skip_lws(s, i);
    if (i == s.size() || s[i] == ',') return true;
    if (s[i] != ';') return false;
    ++i;
    skip_lws(s, i);
    const std::string_view name = scan_token(s, i);
    if (name.empty()) return false;
    skip_lws(s, i);
    std::string_view value;
    bool has_value = false;
    bool value_is_token = false;
    if (i < s.size() && s[i] == '=') {
      ++i;
      skip_lws(s, i);
      has_value = true;
      const std::size_t b = i;
      if (i < s.size() && s[i] == '"') {
        if (!skip_quoted_string(s, i)) return false;
      } else {
        std::uint8_t all = ParamValueTable::kToken;
        for (; i < s.size(); ++i) {
          const std::uint8_t bits = kParamValue.bits[static_cast<unsigned char>(s[i])];
          if ((bits & ParamValueTable::kValue) == 0) break;
          all &= bits;
        }
        if (i == b) return false;
        value_is_token = all != 0;
      }
      value = s.substr(b, i - b);
    }
    if (!on_param(name, value, has_value, value_is_token)) return false;
  }
}

// ---------------------------------------------------------------------------
// Header names.

enum class HeaderId {
  other,
  via,
  call_id,
  cseq,
  from,
  to,
  content_length,
  server,
  user_agent,
  retry_after,
  www_authenticate,
  proxy_authenticate,
  contact,
  allow,
  supported,
  accept,
};

HeaderId classify(std::string_view name) {
  if (name.size() == 1) {
    // Compact forms (RFC 3261 section 7.3.3). c, s, e are irrelevant here.
    switch (to_lower(name[0])) {
      case 'm':
        return HeaderId::contact;
      case 'v':
        return HeaderId::via;
      case 'i':
        return HeaderId::call_id;
      case 'f':
        return HeaderId::from;
      case 't':
        return HeaderId::to;
      case 'l':
        return HeaderId::content_length;
      case 'k':
        return HeaderId::supported;
      default:
        return HeaderId::other;
    }
  }
  // By length first: one comparison per header instead of one per known name.
  const auto is = [&](std::string_view known, HeaderId id) {
    return iequals(name, known) ? id : HeaderId::other;
  };
  switch (name.size()) {
    case 2:
      return is("to", HeaderId::to);
    case 3:
      return is("via", HeaderId::via);
    case 4:
      return to_lower(name[0]) == 'c' ? is("cseq", HeaderId::cseq) : is("from", HeaderId::from);
    case 5:
      return is("allow", HeaderId::allow);
    case 6:
      return to_lower(name[0]) == 's' ? is("server", HeaderId::server)
                                      : is("accept", HeaderId::accept);
    case 7:
      return to_lower(name[2]) == 'l' ? is("call-id", HeaderId::call_id)
                                      : is("contact", HeaderId::contact);
    case 9:
      return is("supported", HeaderId::supported);
    case 10:
      return is("user-agent", HeaderId::user_agent);
    case 11:
      return is("retry-after", HeaderId::retry_after);
    case 14:
      return is("content-length", HeaderId::content_length);
    case 16:
      return is("www-authenticate", HeaderId::www_authenticate);
    case 18:
      return is("proxy-authenticate", HeaderId::proxy_authenticate);
    default:
      break;
  }
  return HeaderId::other;
}

// ---------------------------------------------------------------------------
// Header values. Each takes the trimmed value; folded values may contain CRLF.

// via-parm = sent-protocol LWS sent-by *( SEMI via-params ); only the first
// element of a comma-separated list is examined.
bool parse_top_via(std::string_view v, SipResponse& out) {
  std::size_t i = 0;
  skip_lws(v, i);
  if (!iequals(scan_token(v, i), "sip")) return false;
  skip_lws(v, i);
  if (i >= v.size() || v[i] != '/') return false;
  ++i;
  skip_lws(v, i);
  if (scan_token(v, i) != "2.0") return false;
  skip_lws(v, i);
  if (i >= v.size() || v[i] != '/') return false;
  ++i;
  skip_lws(v, i);
  const std::string_view transport = scan_token(v, i);
  if (transport.empty()) return false;

  // LWS, then sent-by = host [ COLON port ].
  const std::size_t before_lws = i;
  skip_lws(v, i);
  if (i == before_lws || i >= v.size()) return false;
  const std::size_t host_begin = i;
  if (v[i] == '[') {
    ++i;
    while (i < v.size() && (is_alnum(v[i]) || v[i] == ':' || v[i] == '.')) ++i;
    if (i >= v.size() || v[i] != ']' || i == host_begin + 1) return false;
    ++i;
  } else {
    while (i < v.size() && is_via_host_char(v[i])) ++i;
    if (i == host_begin) return false;
  }
  std::size_t after_host = i;
  skip_lws(v, after_host);
  if (after_host < v.size() && v[after_host] == ':') {
    i = after_host + 1;
    skip_lws(v, i);
    std::uint32_t port = 0;
    std::size_t digits = 0;
    while (i < v.size() && is_digit(v[i])) {
      if (++digits > 5) return false;
      port = port * 10 + static_cast<std::uint32_t>(v[i] - '0');
      ++i;
    }
    if (digits == 0 || port > 65535) return false;
  }

  std::string_view branch;
  bool have_branch = false;
  const bool params_ok = parse_params(
      v, i,
      [&](std::string_view name, std::string_view value, bool has_value, bool value_is_token) {
        if (!iequals(name, "branch")) return true;
        if (!has_value || !value_is_token) return false;
        if (!have_branch) {
          branch = value;
          have_branch = true;
        }
        return true;
      });
  if (!params_ok) return false;
  out.via_transport = transport;
  out.via_branch = branch;
  return true;
}

// Whether `v` holds LWS. Eight bytes at a time, since every answer's Call-ID passes here:
// a word with no byte below 0x21 has none.
bool has_lws(std::string_view v) {
  return any_byte(
      v, [](std::uint64_t w) { return bytes_below(w, 0x21) != 0; }, is_lws);
}

// Call-ID: non-empty, no whitespace inside.
bool parse_call_id(std::string_view v, std::string_view& call_id) {
  if (v.empty() || has_lws(v)) return false;
  call_id = v;
  return true;
}

// CSeq = 1*DIGIT LWS Method, number < 2^31.
bool parse_cseq(std::string_view v, SipResponse& out) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < v.size() && is_digit(v[i])) {
    n = n * 10 + static_cast<std::uint64_t>(v[i] - '0');
    if (n > 0x7fffffffU) return false;
    ++i;
  }
  if (i == 0 || i >= v.size() || !is_lws(v[i])) return false;
  skip_lws(v, i);
  const std::string_view method = v.substr(i);
  if (!is_token(method)) return false;
  out.cseq_number = static_cast<std::uint32_t>(n);
  out.cseq_method = method;
  return true;
}

// To: ( name-addr / addr-spec ) *( SEMI to-param ). Extracts the tag.
bool parse_to(std::string_view v, std::string_view& tag) {
  if (v.empty()) return false;
  std::size_t i = 0;
  std::size_t params_begin = 0;
  if (v[0] == '"') {
    // Quoted display name, then the bracketed URI.
    if (!skip_quoted_string(v, i)) return false;
    skip_lws(v, i);
    if (i >= v.size() || v[i] != '<') return false;
  } else {
    while (i < v.size() && v[i] != '<' && v[i] != ';' && v[i] != '"' && v[i] != '>') ++i;
    if (i < v.size() && (v[i] == '"' || v[i] == '>')) return false;
  }
  if (i < v.size() && v[i] == '<') {
    // name-addr: the URI (and its own ';' parameters) ends at the first '>'.
    const std::size_t close = v.find('>', i + 1);
    if (close == std::string_view::npos || close == i + 1) return false;
    params_begin = close + 1;
  } else {
    // addr-spec: every ';' parameter belongs to the header (RFC 3261 20.10).
    if (i == 0) return false;
    params_begin = i;
  }

  std::size_t p = params_begin;
  bool have_tag = false;
  const bool params_ok = parse_params(
      v, p,
      [&](std::string_view name, std::string_view value, bool has_value, bool value_is_token) {
        if (!iequals(name, "tag")) return true;
        if (!has_value || !value_is_token) return false;
        if (!have_tag) {
          tag = value;
          have_tag = true;
        }
        return true;
      });
  return params_ok && p == v.size();
}

// Content-Length = 1*DIGIT. Saturates well above kMaxSipMessageSize.
bool parse_content_length(std::string_view v, std::size_t& length) {
  if (v.empty()) return false;
  std::size_t n = 0;
  for (char c : v) {
    if (!is_digit(c)) return false;
    if (n <= kMaxSipMessageSize) n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  length = n;
  return true;
}

// Retry-After = delta-seconds [ comment ] *( SEMI retry-param ). Only the
// leading number matters; anything unparsable yields nullopt.
std::optional<std::uint32_t> parse_retry_after(std::string_view v) {
  std::size_t i = 0;
  std::uint64_t n = 0;
  while (i < v.size() && is_digit(v[i])) {
    n = n * 10 + static_cast<std::uint64_t>(v[i] - '0');
    if (n > 0xffffffffU) return std::nullopt;
    ++i;
  }
  if (i == 0) return std::nullopt;
  if (i < v.size() && !is_lws(v[i]) && v[i] != '(' && v[i] != ';') return std::nullopt;
  return static_cast<std::uint32_t>(n);
}

// A challenge counts only with the status that asks for it (RFC 3261 22.2, 22.3).
void record_challenge(std::string_view value, SipResponse& out) {
  if (value.empty() || out.challenge_count >= kMaxChallenges) return;
  out.challenges[out.challenge_count++] = value;
}

// ---------------------------------------------------------------------------

struct Seen {
  bool via = false;
  bool call_id = false;
  bool cseq = false;
  bool from = false;
  bool to = false;
  bool content_length = false;
  bool server = false;
  bool user_agent = false;
  bool retry_after = false;
};

SipParseError handle_header(std::string_view name, std::string_view value, Seen& seen,
                            std::size_t& content_length, std::string_view& user_agent,
                            SipResponse& out) {
  switch (classify(name)) {
    case HeaderId::via:
      if (!seen.via) {
        seen.via = true;
        if (!parse_top_via(value, out)) return SipParseError::bad_via;
      }
      return SipParseError::ok;
    case HeaderId::call_id:
      if (seen.call_id) return SipParseError::bad_header;
      seen.call_id = true;
      return parse_call_id(value, out.call_id) ? SipParseError::ok : SipParseError::bad_header;
    case HeaderId::cseq:
      if (seen.cseq) return SipParseError::bad_header;
      seen.cseq = true;
      return parse_cseq(value, out) ? SipParseError::ok : SipParseError::bad_cseq;
    case HeaderId::from:
      if (seen.from) return SipParseError::bad_header;
      seen.from = true;
      return value.empty() ? SipParseError::bad_header : SipParseError::ok;
    case HeaderId::to:
      if (seen.to) return SipParseError::bad_header;
      seen.to = true;
      return parse_to(value, out.to_tag) ? SipParseError::ok : SipParseError::bad_header;
    case HeaderId::content_length:
      if (seen.content_length) return SipParseError::bad_header;
      seen.content_length = true;
      return parse_content_length(value, content_length) ? SipParseError::ok
                                                         : SipParseError::bad_content_length;
    case HeaderId::server:
      if (!seen.server) {
        seen.server = true;
        out.server = value;
      }
      return SipParseError::ok;
    case HeaderId::user_agent:
      if (!seen.user_agent) {
        seen.user_agent = true;
        user_agent = value;
      }
      return SipParseError::ok;
    case HeaderId::retry_after:
      if (!seen.retry_after) {
        seen.retry_after = true;
        out.retry_after = parse_retry_after(value);
      }
      return SipParseError::ok;
    case HeaderId::www_authenticate:
      if (out.status_code == 401) record_challenge(value, out);
      return SipParseError::ok;
    case HeaderId::proxy_authenticate:
      if (out.status_code == 407) record_challenge(value, out);
      return SipParseError::ok;
    case HeaderId::contact:
      // A Contact that cannot be counted makes the count unusable, not the response.
      if (!count_contacts(value, out.contact_count)) out.contacts_malformed = true;
      if (out.contact_uri.empty()) out.contact_uri = first_contact_uri(value);
      return SipParseError::ok;
    case HeaderId::allow:
      if (out.allow.empty()) out.allow = value;
      return SipParseError::ok;
    case HeaderId::supported:
      if (out.supported.empty()) out.supported = value;
      return SipParseError::ok;
    case HeaderId::accept:
      if (out.accept.empty()) out.accept = value;
      return SipParseError::ok;
    case HeaderId::other:
      return SipParseError::ok;
  }
  return SipParseError::ok;
}

// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (line ending removed).
// The version prefix has been checked already, and the line has no control character.
SipParseError parse_status_line(std::string_view line, SipResponse& out) {
  std::string_view rest = line.substr(8);  // after "SIP/2.0 "
  if (rest.size() < 3 || !is_digit(rest[0]) || !is_digit(rest[1]) || !is_digit(rest[2])) {
    return SipParseError::bad_status_line;
  }
  const int code = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
  if (code < 100 || code > 699) return SipParseError::bad_status_line;
  rest.remove_prefix(3);
  if (!rest.empty()) {
    // Lenient: "SIP/2.0 200" without the SP before an empty reason is accepted.
    if (rest[0] != ' ') return SipParseError::bad_status_line;
    rest.remove_prefix(1);
  }
  out.status_code = code;
  out.reason = rest;
  return SipParseError::ok;
}

}  // namespace

bool count_contacts(std::string_view value, std::uint32_t& count) {
  std::uint32_t entries = 0;
  std::size_t i = 0;
  std::size_t entry_begin = 0;
  // One entry between entry_begin and i: not empty, and not the wildcard.
  auto close_entry = [&]() {
    const std::string_view entry = trim_lws(value.substr(entry_begin, i - entry_begin));
    if (entry.empty() || entry == "*") return false;
    ++entries;
    return true;
  };
  while (i < value.size()) {
    const char c = value[i];
    if (c == '"') {
      if (!skip_quoted_string(value, i)) return false;
      continue;
    }
    if (c == '<') {
      const std::size_t close = value.find('>', i);
      if (close == std::string_view::npos) return false;
      i = close + 1;
      continue;
    }
    if (c == ',') {
      if (!close_entry()) return false;
      entry_begin = ++i;
      continue;
    }
    ++i;
  }
  if (!close_entry()) return false;
  count += entries;
  return true;
}

std::string_view first_contact_uri(std::string_view value) {
  value = trim_lws(value);
  std::string_view uri;
  const std::size_t open = value.find('<');
  if (open != std::string_view::npos) {
    const std::size_t close = value.find('>', open);
    if (close == std::string_view::npos) return {};
    uri = value.substr(open + 1, close - open - 1);
  } else {
    // addr-spec: what follows ';' or ',' are header parameters or the next entry.
    uri = value.substr(0, value.find_first_of(";,"));
  }
  if (!(uri.starts_with("sip:") || uri.starts_with("sips:")) || uri.size() > 512) return {};
  for (const char c : uri) {
    // Written into our Request-URI: nothing that could end it or the line.
    if (c <= ' ' || c == '"' || c == '<' || c == '>' || c == ',' || c == 0x7f) return {};
  }
  return uri;
}

std::string_view to_string(SipParseError e) {
  switch (e) {
    case SipParseError::ok:
      return "ok";
    case SipParseError::incomplete:
      return "incomplete";
    case SipParseError::too_large:
      return "too_large";
    case SipParseError::not_a_response:
      return "not_a_response";
    case SipParseError::bad_status_line:
      return "bad_status_line";
    case SipParseError::bad_header:
      return "bad_header";
    case SipParseError::missing_header:
      return "missing_header";
    case SipParseError::bad_via:
      return "bad_via";
    case SipParseError::bad_cseq:
      return "bad_cseq";
    case SipParseError::bad_content_length:
      return "bad_content_length";
    case SipParseError::body_mismatch:
      return "body_mismatch";
  }
  return "unknown";
}

SipParseError parse_sip_response(std::string_view in, SipResponse& out) {
  out = SipResponse{};
  if (in.size() > kMaxSipMessageSize) return SipParseError::too_large;
  const std::size_t n = in.size();
  std::size_t pos = 0;

  // Keepalive CRLFs before the start line (RFC 3261 7.5); a bare LF too.
  while (pos < n) {
    if (in[pos] == '\n') {
      ++pos;
    } else if (in[pos] == '\r' && pos + 1 < n && in[pos + 1] == '\n') {
      pos += 2;
    } else {
      break;
    }
  }

  const std::size_t message_begin = pos;

  // "SIP/2.0 " (SIP-Version is case-insensitive, RFC 3261 7.1).
  constexpr std::string_view kVersion = "SIP/2.0 ";
  const std::size_t avail = n - pos;
  const std::size_t cmp = avail < kVersion.size() ? avail : kVersion.size();
  for (std::size_t k = 0; k < cmp; ++k) {
    if (to_upper(in[pos + k]) != kVersion[k]) return SipParseError::not_a_response;
  }
  if (avail < kVersion.size()) return SipParseError::incomplete;

  // Splits the next line at pos; returns false when no line ending is left. `forbidden`:
  // the line holds a control character no line may carry.
  bool forbidden = false;
  auto next_line = [&](std::string_view& line) -> bool {
    const LineScan scan = scan_line(in, pos);
    if (scan.lf == std::string_view::npos) return false;
    std::size_t end = scan.lf;
    if (end > pos && in[end - 1] == '\r') --end;
    forbidden = scan.first_ctl < end;
    line = in.substr(pos, end - pos);
    pos = scan.lf + 1;
    return true;
  };

  std::string_view line;
  if (!next_line(line)) return SipParseError::incomplete;
  if (forbidden) return SipParseError::bad_status_line;
  if (const SipParseError e = parse_status_line(line, out); e != SipParseError::ok) return e;

  Seen seen;
  std::size_t content_length = 0;
  std::string_view user_agent;
  std::size_t header_count = 0;

  // The header whose value may still be extended by folded lines.
  bool pending = false;
  std::string_view pending_name;
  const char* value_begin = nullptr;
  const char* value_end = nullptr;

  auto flush = [&]() -> SipParseError {
    if (!pending) return SipParseError::ok;
    pending = false;
    const std::string_view value =
        trim_lws(std::string_view(value_begin, static_cast<std::size_t>(value_end - value_begin)));
    return handle_header(pending_name, value, seen, content_length, user_agent, out);
  };

  for (;;) {
    if (!next_line(line)) return SipParseError::incomplete;
    if (forbidden) return SipParseError::bad_header;
    if (line.empty()) {
      if (const SipParseError e = flush(); e != SipParseError::ok) return e;
      break;
    }
    if (is_wsp(line[0])) {
      // Folded continuation of the previous header's value.
      if (!pending) return SipParseError::bad_header;
      value_end = line.data() + line.size();
      continue;
    }
    if (const SipParseError e = flush(); e != SipParseError::ok) return e;
    if (++header_count > kMaxSipHeaders) return SipParseError::too_large;

    std::size_t k = 0;
    while (k < line.size() && is_token_char(line[k])) ++k;
    if (k == 0) return SipParseError::bad_header;
    pending_name = line.substr(0, k);
    while (k < line.size() && is_wsp(line[k])) ++k;
    if (k >= line.size() || line[k] != ':') return SipParseError::bad_header;
    pending = true;
    value_begin = line.data() + k + 1;
    value_end = line.data() + line.size();
  }

  if (!seen.via || !seen.call_id || !seen.cseq || !seen.from || !seen.to) {
    return SipParseError::missing_header;
  }

  const std::size_t header_end = pos;
  const std::size_t body_avail = n - header_end;
  if (seen.content_length) {
    if (content_length > body_avail) return SipParseError::body_mismatch;
  } else {
    content_length = body_avail;
  }
  if (out.server.empty()) out.server = user_agent;
  out.content_length = content_length;
  out.message_length = header_end - message_begin + content_length;
  return SipParseError::ok;
}

}  // namespace stx
