#include "config/diagnostics.h"

#include <algorithm>
#include <vector>

#include "sip/message_text.h"

namespace stx {

std::string source_position(std::string_view source, std::uint32_t line, std::uint32_t column) {
  std::string out(source);
  if (line == 0) return out;
  return out + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string diagnostic(std::string_view position, std::string_view context,
                       std::string_view message) {
  std::string out = std::string(position) + ": ";
  if (!context.empty()) out += std::string(context) + ": ";
  out += message;
  return out;
}

std::string type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string type_name(YAML::NodeType::value type) {
  switch (type) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "an undefined value";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string_view closest_match(std::string_view key, std::span<const std::string_view> allowed) {
  std::size_t best = 3;  // further off than this, a suggestion is more confusing than helpful
  std::string_view match;
  for (std::string_view candidate : allowed) {
    const std::size_t distance = edit_distance(key, candidate);
    if (distance < best) {
      best = distance;
      match = candidate;
    }
  }
  return match;
}

std::string unknown_key_message(std::string_view what, std::string_view key,
                                std::span<const std::string_view> allowed,
                                WhenNoMatch when_no_match) {
  std::string message = std::string(what) + " " + quote_utf8(key);
  if (std::string_view match = closest_match(key, allowed); !match.empty()) {
    return message + " (did you mean " + quote_utf8(match) + "?)";
  }
  if (when_no_match == WhenNoMatch::list_allowed) message += " (want " + one_of_list(allowed) + ")";
  return message;
}

std::string one_of_list(std::span<const std::string_view> names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

bool is_one_of(std::string_view name, std::span<const std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), name) != allowed.end();
}

bool iequals(std::string_view a, std::string_view b) {
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](char x, char y) { return lower(x) == lower(y); });
}

}  // namespace stx
