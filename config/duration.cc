// Durations as written in the config: "500ms", "30s", "1m", "1m30s".
//
// Grammar: one or more <digits><unit> groups, units h, m, s, ms in that order,
// each at most once. No sign, no fraction, no spaces.
#include "config/duration.h"

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "sip/message_text.h"

namespace stx {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

struct Unit {
  std::string_view name;
  std::int64_t millis;
};

// In the order they must appear.
constexpr Unit kUnits[] = {{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};

std::optional<std::chrono::milliseconds> fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return std::nullopt;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* error) {
  if (text.empty()) return fail(error, "empty duration");
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ' || c == '\t') return fail(error, "spaces are not allowed in " + quote_ascii(text));
    if (c == '-' || c == '+') return fail(error, "signs are not allowed in " + quote_ascii(text));
    if (c == '.' || c == ',') {
      return fail(error,
                  "fractions are not allowed in " + quote_ascii(text) + " (use a smaller unit)");
    }
    if (!is_digit(ch) && !is_letter(ch)) {
      return fail(error, "unexpected character in " + quote_ascii(text));
    }
  }

  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t total = 0;
  int next_unit = 0;  // index into kUnits of the smallest unit still allowed
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t digits_begin = pos;
    std::int64_t number = 0;
    bool too_large = false;
    while (pos < text.size() && is_digit(text[pos])) {
      int digit = text[pos] - '0';
      if (number > (kMax - digit) / 10) too_large = true;
      if (!too_large) number = number * 10 + digit;
      ++pos;
    }
    std::size_t unit_begin = pos;
    while (pos < text.size() && is_letter(text[pos])) ++pos;
    std::string_view unit_text = text.substr(unit_begin, pos - unit_begin);
    if (unit_begin == digits_begin) return fail(error, "missing number in " + quote_ascii(text));
    if (unit_text.empty()) return fail(error, "missing unit in " + quote_ascii(text));

    int unit = -1;
    for (int i = 0; i < static_cast<int>(std::size(kUnits)); ++i) {
      if (kUnits[i].name == unit_text) unit = i;
    }
    if (unit < 0) {
      return fail(error, "unknown unit " + quote_ascii(unit_text) + " in " + quote_ascii(text) +
                             " (want h, m, s or ms)");
    }
    if (unit < next_unit) {
      if (unit == next_unit - 1) {
        return fail(error,
                    "unit " + quote_ascii(unit_text) + " used twice in " + quote_ascii(text));
      }
      return fail(error, "units out of order in " + quote_ascii(text) + " (want h, m, s, ms)");
    }
    next_unit = unit + 1;

    std::int64_t factor = kUnits[unit].millis;
    if (too_large || number > kMax / factor || total > kMax - number * factor) {
      return fail(error, "duration " + quote_ascii(text) + " is too large");
    }
    total += number * factor;
  }
  return std::chrono::milliseconds(total);
}

std::string format_duration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  std::uint64_t rest;
  if (ms < 0) {
    out = "-";
    rest = static_cast<std::uint64_t>(-(ms + 1)) + 1;  // safe for the minimum value
  } else {
    rest = static_cast<std::uint64_t>(ms);
  }
  if (rest < 1000) return out + std::to_string(rest) + "ms";

  std::uint64_t hours = rest / 3'600'000;
  rest %= 3'600'000;
  std::uint64_t minutes = rest / 60'000;
  rest %= 60'000;
  std::uint64_t seconds = rest / 1000;
  std::uint64_t millis = rest % 1000;

  if (hours != 0) out += std::to_string(hours) + "h";
  if (minutes != 0) out += std::to_string(minutes) + "m";
  if (seconds != 0 || millis != 0) {
    out += std::to_string(seconds);
    if (millis != 0) {
      std::string frac = std::to_string(millis);
      frac.insert(0, 3 - frac.size(), '0');
      while (frac.back() == '0') frac.pop_back();
      out += "." + frac;
    }
    out += "s";
  }
  return out;
}

}  // namespace stx
