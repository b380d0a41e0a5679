#pragma once
// Character classes of the RFC 3261 grammar (section 25.1), shared by the URI
// and the response parsers. Locale-free on purpose: <cctype> depends on the
// C locale and on the signedness of char.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

namespace grammar_detail {
// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
constexpr bool token_char_by_rule(char c) {
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

// The rule as a table: header names and parameters are scanned a byte at a time for every
// answer, and one load beats the rule's comparisons there.
struct TokenTable {
  bool is[256] = {};
  constexpr TokenTable() {
    for (int c = 0; c < 256; ++c) is[c] = token_char_by_rule(static_cast<char>(c));
  }
};
inline constexpr TokenTable kTokenTable;
}  // namespace grammar_detail

constexpr bool is_token_char(char c) {
  return grammar_detail::kTokenTable.is[static_cast<unsigned char>(c)];
}

// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
constexpr bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

// Whether a byte of `s` is one `is` accepts, eight bytes at a time: `may_hold(word)` is true
// for every word of eight that holds one (and rarely for others); `is` decides for those,
// and for an `s` shorter than a word. The tail is the last eight again, overlapping.
template <typename MayHold, typename Is>
bool any_byte(std::string_view s, MayHold may_hold, Is is) {
  const auto scalar = [&](std::string_view part) {
    for (const char c : part) {
      if (is(c)) return true;
    }
    return false;
  };
  if (s.size() < 8) return scalar(s);
  const auto suspect = [&](std::size_t at) {
    std::uint64_t w = 0;
    std::memcpy(&w, s.data() + at, 8);
    return may_hold(w) && scalar(s.substr(at, 8));
  };
  for (std::size_t i = 0; i + 8 <= s.size(); i += 8) {
    if (suspect(i)) return true;
  }
  return s.size() % 8 != 0 && suspect(s.size() - 8);
}

// Non-zero when a byte of `w` is below `n` (n <= 0x80; bytes of 0x80 and above never count).
constexpr std::uint64_t bytes_below(std::uint64_t w, unsigned n) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  return (w - kOnes * n) & ~w & kHigh;
}

// Whether `line` holds a control character a header line may not carry: below 0x20 but HTAB,
// or DEL. Eight bytes at a time, since every byte of every answer passes here; a word with
// a tab looks suspect too, and the exact rule decides for it.
inline bool has_forbidden_ctl(std::string_view line) {
  return any_byte(
      line,
      [](std::uint64_t w) {
        return (bytes_below(w, 0x20) | bytes_below(w ^ 0x7f7f7f7f7f7f7f7fULL, 1)) != 0;
      },
      [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7f;
      });
}

// One line of a message, found by one pass over its bytes: where the LF that ends it is
// (npos: no LF yet), and where its first control character is (npos: none). A line's
// content ends before the LF, or before a CR right before it; it holds a forbidden control
// character (as has_forbidden_ctl tells) when `first_ctl` lies before that end.
struct LineScan {
  std::size_t lf = std::string_view::npos;
  std::size_t first_ctl = std::string_view::npos;
};

// Every line of every answer passes here: sixteen bytes at a time where SSE2 is there.
inline LineScan scan_line(std::string_view in, std::size_t pos) {
  LineScan r;
  const auto is_ctl = [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  };
  std::size_t i = pos;
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i del = _mm_set1_epi8(0x7f);
  const __m128i bias = _mm_set1_epi8(static_cast<char>(0x80));
  const __m128i below = _mm_set1_epi8(static_cast<char>(0x20 ^ 0x80));
  for (; i + 16 <= in.size(); i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in.data() + i));
    // Unsigned v < 0x20 as a signed compare of both sides with the top bit flipped.
    const __m128i ctl = _mm_or_si128(
        _mm_andnot_si128(_mm_cmpeq_epi8(v, tab), _mm_cmplt_epi8(_mm_xor_si128(v, bias), below)),
        _mm_cmpeq_epi8(v, del));
    const auto ctl_bits = static_cast<unsigned>(_mm_movemask_epi8(ctl));
    if (ctl_bits == 0) continue;  // no LF either: it is a control character
    if (r.first_ctl == std::string_view::npos) {
      r.first_ctl = i + static_cast<std::size_t>(__builtin_ctz(ctl_bits));
    }
    const auto lf_bits = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)));
    if (lf_bits != 0) {
      r.lf = i + static_cast<std::size_t>(__builtin_ctz(lf_bits));
      return r;
    }
  }
#endif
  for (; i < in.size(); ++i) {
    if (!is_ctl(in[i])) continue;
    if (r.first_ctl == std::string_view::npos) r.first_ctl = i;
    if (in[i] == '\n') {
      r.lf = i;
      return r;
    }
  }
  return r;
}

}  // namespace stx
