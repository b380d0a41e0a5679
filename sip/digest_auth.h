#pragma once
// Digest authentication, client side (RFC 3261 22, RFC 2617, RFC 7616, RFC 8760): parse the
// WWW-Authenticate / Proxy-Authenticate challenge of a 401 / 407 and answer it.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace stx {

// Digest credentials (RFC 3261 22, RFC 8760). `password` is resolved at load time, from the
// config or from the environment variable `password_env` names.
struct DigestCredentials {
  std::string user;
  std::string password;
  std::string password_env;  // the variable's name, for messages; empty when inline
  bool operator==(const DigestCredentials&) const = default;
};

inline constexpr std::size_t kMaxDigestValueLength = 1024;

struct DigestChallenge {
  std::string realm;      // unescaped
  std::string nonce;      // unescaped
  std::string opaque;     // unescaped; empty when absent
  std::string algorithm;  // "MD5" or "SHA-256"
  bool qop_auth = false;  // qop offered "auth"; false: RFC 2069 (no cnonce, no nc)
  bool stale = false;
  bool operator==(const DigestChallenge&) const = default;
};

// Parses the first Digest challenge in one header value (other schemes such as Basic, in the
// same value or not, are skipped). Unknown parameters are ignored. Returns nullopt with a
// one-line, printable reason in *error (may be null): no Digest challenge, a missing realm or
// nonce, an algorithm other than MD5 / SHA-256, a qop without "auth", a value over
// kMaxDigestValueLength bytes or with control characters, bad syntax.
std::optional<DigestChallenge> parse_digest_challenge(std::string_view header_value,
                                                      std::string* error);

// The challenge to answer: the first SHA-256 one, else the first one (RFC 8760 section 2.4:
// prefer the strongest algorithm). nullptr when `challenges` is empty.
const DigestChallenge* choose_challenge(std::span<const DigestChallenge> challenges);

// parse_digest_challenge over every value (SipResponse::challenges), then choose_challenge.
// nullopt when none is usable, with the first value's parse error in *error.
std::optional<DigestChallenge> pick_challenge(std::span<const std::string_view> header_values,
                                              std::string* error);

// Clears `out` and writes the Authorization / Proxy-Authorization header VALUE:
//   Digest username="..", realm="..", nonce="..", uri="..", response="..", algorithm=MD5,
//   cnonce="..", qop=auth, nc=00000001, opaque=".."
// (cnonce, qop and nc only when the challenge offered qop=auth; opaque only when given).
// `request_uri` must be the Request-URI of the request it goes in. Returns false and leaves
// `out` empty when a field cannot be carried safely: a user name with control characters
// (CR/LF), a method that is not a token, a request URI or cnonce with spaces, quotes or
// control characters, an empty cnonce when qop is used.
bool write_digest_authorization(const DigestChallenge& challenge,
                                const DigestCredentials& credentials, std::string_view method,
                                std::string_view request_uri, std::string_view cnonce,
                                std::uint32_t nc, std::string& out);

}  // namespace stx
