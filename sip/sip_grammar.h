#pragma once
// Character classes of the RFC 3261 grammar (section 25.1), shared by the URI
// and the response parsers. Locale-free on purpose: <cctype> depends on the
// C locale and on the signedness of char.
#include <string_view>

namespace stx {

// ALPHA = %x41-5A / %x61-7A   ; A-Z / a-z
constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// DIGIT = %x30-39   ; 0-9
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

// alphanum = ALPHA / DIGIT
constexpr bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

// HEXDIG = DIGIT / "A" / "B" / "C" / "D" / "E" / "F"   (case-insensitive, so a-f too)
constexpr bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// unreserved = alphanum / mark; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
constexpr bool is_unreserved(char c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '-':
    case '_':
    case '.':
    case '!':
    case '~':
    case '*':
    case '\'':
    case '(':
    case ')':
      return true;
    default:
      return false;
  }
}

// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
constexpr bool is_token_char(char c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '-':
    case '.':
    case '!':
    case '%':
    case '*':
    case '_':
    case '+':
    case '`':
    case '\'':
    case '~':
      return true;
    default:
      return false;
  }
}

// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
constexpr bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

}  // namespace stx
