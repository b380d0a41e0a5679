// Digest authentication, client side. The challenge grammar (RFC 7235 section 4.1, RFC 3261
// section 25.1):
//
//   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//   auth-param = token LWS "=" LWS ( token / quoted-string )
//
// A header value may hold several challenges separated by commas; a comma-separated item
// that starts with "token SP" without an "=" begins the next one.
#include "sip/digest_auth.h"

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "sip/message_text.h"
#include "sip/sip_grammar.h"

namespace stx {
namespace {

constexpr char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

constexpr bool is_lws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

constexpr bool is_ctl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_lws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_lws(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view scan_token(std::string_view s, std::size_t& i) {
  const std::size_t b = i;
  while (i < s.size() && is_token_char(s[i])) ++i;
  return s.substr(b, i - b);
}

std::nullopt_t fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return std::nullopt;
}

// The next comma-separated item from s[i]; i moves past its comma. Commas inside quoted
// strings do not count. False on an unterminated quoted string.
bool next_item(std::string_view s, std::size_t& i, std::string_view& item) {
  const std::size_t b = i;
  bool quoted = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      break;
    }
  }
  if (quoted || i > s.size()) return false;
  item = s.substr(b, i - b);
  if (i < s.size()) ++i;  // the comma
  return true;
}

struct Fields {
  std::optional<std::string> realm, nonce, opaque, algorithm, qop, stale;
};

std::optional<std::string>* field_for(Fields& f, std::string_view name) {
  if (iequals(name, "realm")) return &f.realm;
  if (iequals(name, "nonce")) return &f.nonce;
  if (iequals(name, "opaque")) return &f.opaque;
  if (iequals(name, "algorithm")) return &f.algorithm;
  if (iequals(name, "qop")) return &f.qop;
  if (iequals(name, "stale")) return &f.stale;
  return nullptr;
}

// `name = value` (already split off its list), the value unescaped into `out`. The value may
// be echoed into our request, so control characters are refused even inside quotes.
bool parse_param(std::string_view item, std::string_view& name, std::string& out,
                 std::string* error) {
  std::size_t i = 0;
  name = scan_token(item, i);
  while (i < item.size() && is_lws(item[i])) ++i;
  if (name.empty() || i >= item.size() || item[i] != '=') {
    fail(error, "malformed parameter " + quote_ascii(item));
    return false;
  }
  ++i;
  while (i < item.size() && is_lws(item[i])) ++i;
  std::string_view raw = trim(item.substr(i));
  out.clear();
  if (raw.size() > kMaxDigestValueLength) {
    fail(error, "value of " + quote_ascii(name) + " longer than " +
                    std::to_string(kMaxDigestValueLength) + " bytes");
    return false;
  }
  if (!raw.empty() && raw.front() == '"') {
    bool closed = false;
    for (std::size_t k = 1; k < raw.size(); ++k) {
      char c = raw[k];
      if (c == '"') {
        closed = k + 1 == raw.size();  // nothing may follow the closing quote
        break;
      }
      if (c == '\\' && k + 1 < raw.size()) c = raw[++k];
      if (is_ctl(c) && c != '\t') {
        fail(error, "control character in the value of " + quote_ascii(name));
        return false;
      }
      out.push_back(c);
    }
    if (!closed) {
      fail(error, "malformed quoted value of " + quote_ascii(name));
      return false;
    }
    return true;
  }
  // Unquoted: a token (a host-ish "/" or ":" is tolerated, as some servers send them).
  for (char c : raw) {
    if (!is_token_char(c) && c != '/' && c != ':' && c != '=') {
      fail(error, "malformed value of " + quote_ascii(name));
      return false;
    }
  }
  if (raw.empty()) {
    fail(error, "empty value of " + quote_ascii(name));
    return false;
  }
  out.assign(raw);
  return true;
}

std::optional<DigestChallenge> finish(Fields& f, std::string* error) {
  if (!f.realm) return fail(error, "Digest challenge without realm");
  if (!f.nonce || f.nonce->empty()) return fail(error, "Digest challenge without nonce");
  DigestChallenge c;
  c.realm = std::move(*f.realm);
  c.nonce = std::move(*f.nonce);
  if (f.opaque) c.opaque = std::move(*f.opaque);
  if (!f.algorithm || iequals(*f.algorithm, "MD5")) {
    c.algorithm = "MD5";
  } else if (iequals(*f.algorithm, "SHA-256")) {
    c.algorithm = "SHA-256";
  } else {
    return fail(error, "Digest algorithm " + quote_ascii(*f.algorithm) +
                           " is not supported (want MD5 or SHA-256)");
  }
  if (f.qop) {
    std::string_view list = *f.qop;
    while (!list.empty()) {
      const std::size_t comma = list.find(',');
      if (iequals(trim(list.substr(0, comma)), "auth")) c.qop_auth = true;
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
    if (!c.qop_auth) {
      return fail(error, "Digest qop " + quote_ascii(*f.qop) + " is not supported (want auth)");
    }
  }
  c.stale = f.stale && iequals(*f.stale, "true");
  return c;
}

// --- hashing -----------------------------------------------------------------------

struct CtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// Lowercase hex digests of concatenated pieces: at most 64 characters (SHA-256).
class Hasher {
 public:
  explicit Hasher(const EVP_MD* md) : md_(md), ctx_(EVP_MD_CTX_new()) {}
  bool ok() const { return md_ != nullptr && ctx_ != nullptr; }

  template <typename... Pieces>
  std::string_view hex(std::array<char, 64>& buf, Pieces... pieces) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestInit_ex(ctx_.get(), md_, nullptr);
    (EVP_DigestUpdate(ctx_.get(), pieces.data(), pieces.size()), ...);
    EVP_DigestFinal_ex(ctx_.get(), digest, &length);
    constexpr char kHex[] = "0123456789abcdef";
    if (length * 2 > buf.size()) length = static_cast<unsigned int>(buf.size() / 2);
    for (unsigned int k = 0; k < length; ++k) {
      buf[2 * k] = kHex[digest[k] >> 4];
      buf[2 * k + 1] = kHex[digest[k] & 0x0f];
    }
    return std::string_view(buf.data(), length * 2);
  }

 private:
  const EVP_MD* md_;
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_;
};

// Appends `s` as the inside of a quoted-string.
void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
}

bool has_ctl(std::string_view s) {
  for (char c : s) {
    if (is_ctl(c)) return true;
  }
  return false;
}

// Fits inside quotes without escaping, as uri= and cnonce= must (no escapes in a URI).
bool plain_quotable(std::string_view s) {
  for (char c : s) {
    if (is_ctl(c) || c == ' ' || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

std::optional<DigestChallenge> parse_digest_challenge(std::string_view value, std::string* error) {
  Fields fields;
  bool in_digest = false;
  std::string first_scheme;
  std::string param_value;
  std::size_t i = 0;
  while (i < value.size()) {
    std::string_view item;
    if (!next_item(value, i, item)) return fail(error, "unterminated quoted string");
    item = trim(item);
    if (item.empty()) continue;

    // "scheme rest" starts a challenge; "name = value" continues the current one.
    std::size_t k = 0;
    const std::string_view head = scan_token(item, k);
    std::size_t after = k;
    while (after < item.size() && is_lws(item[after])) ++after;
    const bool is_param = !head.empty() && after < item.size() && item[after] == '=';
    std::string_view param = item;
    if (!is_param) {
      if (head.empty() || (k < item.size() && after == k)) {
        return fail(error, "malformed challenge near " + quote_ascii(item.substr(0, 32)));
      }
      if (in_digest) break;  // the next challenge: ours is complete
      if (first_scheme.empty()) first_scheme.assign(head);
      in_digest = iequals(head, "Digest");
      param = item.substr(after);
      if (param.empty()) continue;
    } else if (first_scheme.empty()) {
      return fail(error, "missing auth scheme");
    }
    if (!in_digest) continue;  // another scheme's parameter or token68

    std::string_view name;
    if (!parse_param(param, name, param_value, error)) return std::nullopt;
    if (std::optional<std::string>* field = field_for(fields, name)) {
      if (field->has_value()) return fail(error, "duplicate parameter " + quote_ascii(name));
      *field = param_value;
    }
  }
  if (!in_digest) {
    if (first_scheme.empty()) return fail(error, "empty challenge");
    return fail(error, "no Digest challenge (scheme " + quote_ascii(first_scheme) + ")");
  }
  return finish(fields, error);
}

const DigestChallenge* choose_challenge(std::span<const DigestChallenge> challenges) {
  for (const DigestChallenge& c : challenges) {
    if (c.algorithm == "SHA-256") return &c;
  }
  return challenges.empty() ? nullptr : &challenges.front();
}

std::optional<DigestChallenge> pick_challenge(std::span<const std::string_view> header_values,
                                              std::string* error) {
  std::optional<DigestChallenge> best;
  std::string first_error;
  for (std::string_view v : header_values) {
    std::string e;
    std::optional<DigestChallenge> c = parse_digest_challenge(v, &e);
    if (!c) {
      if (first_error.empty()) first_error = std::move(e);
      continue;
    }
    if (!best || (best->algorithm != "SHA-256" && c->algorithm == "SHA-256")) best = std::move(c);
  }
  if (!best) {
    return fail(error, first_error.empty() ? "no challenge in the response" : first_error);
  }
  return best;
}

bool write_digest_authorization(const DigestChallenge& challenge,
                                const DigestCredentials& credentials, std::string_view method,
                                std::string_view request_uri, std::string_view cnonce,
                                std::uint32_t nc, std::string& out) {
  out.clear();
  if (has_ctl(credentials.user) || !is_token(method) || request_uri.empty() ||
      !plain_quotable(request_uri) || has_ctl(challenge.realm) || has_ctl(challenge.nonce) ||
      has_ctl(challenge.opaque)) {
    return false;
  }
  if (challenge.qop_auth && (cnonce.empty() || !plain_quotable(cnonce))) return false;

  const bool sha256 = challenge.algorithm == "SHA-256";
  Hasher hasher(sha256 ? EVP_sha256() : EVP_md5());
  if (!hasher.ok()) return false;
  using sv = std::string_view;
  constexpr sv colon = ":";
  char nc_text[9];
  std::snprintf(nc_text, sizeof nc_text, "%08x", static_cast<unsigned>(nc));
  constexpr sv qop = "auth";

  std::array<char, 64> ha1_buf{}, ha2_buf{}, response_buf{};
  const sv ha1 = hasher.hex(ha1_buf, sv(credentials.user), colon, sv(challenge.realm), colon,
                            sv(credentials.password));
  const sv ha2 = hasher.hex(ha2_buf, method, colon, request_uri);
  const sv response = challenge.qop_auth
                          ? hasher.hex(response_buf, ha1, colon, sv(challenge.nonce), colon,
                                       sv(nc_text), colon, cnonce, colon, qop, colon, ha2)
                          : hasher.hex(response_buf, ha1, colon, sv(challenge.nonce), colon, ha2);

  out.append("Digest username=\"");
  append_escaped(out, credentials.user);
  out.append("\", realm=\"");
  append_escaped(out, challenge.realm);
  out.append("\", nonce=\"");
  append_escaped(out, challenge.nonce);
  out.append("\", uri=\"");
  out.append(request_uri);
  out.append("\", response=\"");
  out.append(response);
  out.append("\", algorithm=");
  out.append(sha256 ? "SHA-256" : "MD5");
  if (challenge.qop_auth) {
    out.append(", cnonce=\"");
    out.append(cnonce);
    out.append("\", qop=auth, nc=");
    out.append(nc_text);
  }
  if (!challenge.opaque.empty()) {
    out.append(", opaque=\"");
    append_escaped(out, challenge.opaque);
    out.append("\"");
  }
  return true;
}

}  // namespace stx
