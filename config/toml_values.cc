#include "config/toml_values.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <system_error>

#include "config/duration.h"

namespace stx::config_impl {

ConfigSource::ConfigSource(std::string_view name) : name_(name) {
  const std::size_t slash = name_.rfind('/');
  if (slash != std::string::npos) base_dir_ = name_.substr(0, slash + 1);
}

std::string ConfigSource::location(const toml::source_region& where) const {
  return source_position(name_, where.begin.line, where.begin.column);
}

void ConfigSource::fail(const toml::source_region& where, std::string_view context,
                        std::string_view message) const {
  throw ConfigError(diagnostic(location(where), context, message));
}

void ConfigSource::warn(const toml::source_region& where, std::string_view context,
                        std::string_view message) {
  warnings_.push_back(diagnostic(location(where), context, message));
}

std::string type_of(const toml::node& node) { return type_name(node.type()); }

std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc()) return std::to_string(v);
  return std::string(buf.data(), end);
}

std::vector<std::pair<const toml::key*, const toml::node*>> in_document_order(
    const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto&& [key, node] : table) entries.emplace_back(&key, &node);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return entries;
}

std::string quoted_text(const toml::node& node) {
  return quote_utf8(node.value<std::string_view>().value_or(""));
}

const std::string& expect_string(const ConfigSource& src, const toml::node& node,
                                 const std::string& key_context) {
  const auto* str = node.as_string();
  if (str == nullptr)
    src.fail(node.source(), key_context, "expected a string, got " + type_of(node));
  return str->get();
}

bool expect_bool(const ConfigSource& src, const toml::node& node, const std::string& key_context) {
  const auto* b = node.as_boolean();
  if (b == nullptr) {
    src.fail(node.source(), key_context, "expected true or false, got " + type_of(node));
  }
  return b->get();
}

void check_length(const ConfigSource& src, const toml::node& node, const std::string& key_context,
                  std::string_view text, std::size_t max) {
  if (text.size() > max) {
    src.fail(node.source(), key_context,
             "longer than " + std::to_string(max) + " bytes (" + std::to_string(text.size()) + ")");
  }
}

const std::string& expect_nonempty_string(const ConfigSource& src, const toml::node& node,
                                          const std::string& key_context, std::size_t max) {
  const std::string& text = expect_string(src, node, key_context);
  if (text.empty()) src.fail(node.source(), key_context, "must not be empty");
  check_length(src, node, key_context, text, max);
  return text;
}

void check_no_control_characters(const ConfigSource& src, const toml::node& node,
                                 const std::string& key_context, std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    // C1 controls are U+0080..U+009F, in UTF-8 C2 80..C2 9F.
    const bool c1 = c == 0xc2 && i + 1 < text.size() &&
                    static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(text[i + 1]) <= 0x9f;
    if (c < 0x20 || c == 0x7f || c1) {
      src.fail(node.source(), key_context,
               quote_utf8(text) + " contains a control character at offset " + std::to_string(i));
    }
  }
}

const toml::array& expect_array(const ConfigSource& src, const toml::node& node,
                                const std::string& key_context, std::string_view expected) {
  const toml::array* array = node.as_array();
  if (array == nullptr) {
    src.fail(node.source(), key_context,
             "expected " + std::string(expected) + ", got " + type_of(node));
  }
  return *array;
}

Millis parse_duration_value(const ConfigSource& src, const toml::node& node,
                            const std::string& key_context, std::string_view example) {
  const auto* str = node.as_string();
  if (str == nullptr) {
    src.fail(
        node.source(), key_context,
        "expected a duration string like \"" + std::string(example) + "\", got " + type_of(node));
  }
  std::string error;
  std::optional<Millis> d = parse_duration(str->get(), &error);
  if (!d) src.fail(node.source(), key_context, error);
  return *d;
}

void check_at_most(const ConfigSource& src, const toml::node& node, const std::string& key_context,
                   Millis value, Millis max) {
  if (value > max) {
    src.fail(node.source(), key_context,
             "must be at most " + format_duration(max) + ", got " + quoted_text(node));
  }
}

int parse_count(const ConfigSource& src, const toml::node& node, const std::string& key_context) {
  const auto* i = node.as_integer();
  if (i == nullptr)
    src.fail(node.source(), key_context, "expected an integer, got " + type_of(node));
  std::int64_t v = i->get();
  if (v < kMinCount || v > kMaxCount) {
    src.fail(node.source(), key_context,
             "must be from " + std::to_string(kMinCount) + " to " + std::to_string(kMaxCount) +
                 ", got " + std::to_string(v));
  }
  return static_cast<int>(v);
}

}  // namespace stx::config_impl
