#pragma once
// Reading one TOML value of the config: the file it came from (for messages and relative
// paths), its type, and the checks many keys share (strings, lengths, durations, counts).
#include <toml++/toml.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/diagnostics.h"
#include "config/limits.h"
#include "sip/message_text.h"

namespace stx::config_impl {

// The config file being read: names it in messages, resolves relative paths, keeps warnings.
class ConfigSource {
 public:
  explicit ConfigSource(std::string_view name);

  const std::string& name() const { return name_; }
  // "" or ending in '/': relative file names in the config are relative to the file's directory.
  const std::string& base_dir() const { return base_dir_; }

  // "file:line:col", or "file" where the position is unknown.
  std::string location(const toml::source_region& where) const;
  // Throws ConfigError "file:line:col: context: message".
  [[noreturn]] void fail(const toml::source_region& where, std::string_view context,
                         std::string_view message) const;
  void warn(const toml::source_region& where, std::string_view context, std::string_view message);
  std::vector<std::string> take_warnings() { return std::move(warnings_); }

 private:
  std::string name_;
  std::string base_dir_;
  std::vector<std::string> warnings_;
};

std::string type_of(const toml::node& node);

// Replaces control characters so that a foreign message stays on one line.
std::string one_line(std::string_view s);

// Shortest text that reads back as `v` ("0.25"); "nan", "inf", "-inf".
std::string format_number(double v);

// Entries of a table in document order (toml::table iterates by key).
std::vector<std::pair<const toml::key*, const toml::node*>> in_document_order(
    const toml::table& table);

// The value as written, quoted for a message: `"500ms"`.
std::string quoted_text(const toml::node& node);

const std::string& expect_string(const ConfigSource& src, const toml::node& node,
                                 const std::string& key_context);
bool expect_bool(const ConfigSource& src, const toml::node& node, const std::string& key_context);
void check_length(const ConfigSource& src, const toml::node& node, const std::string& key_context,
                  std::string_view text, std::size_t max);
// A string of 1 to `max` bytes.
const std::string& expect_nonempty_string(const ConfigSource& src, const toml::node& node,
                                          const std::string& key_context, std::size_t max);
// Refuses C0 controls, DEL and C1 controls (U+0080..U+009F): `text` goes into a header or a
// label, where one would break the line.
void check_no_control_characters(const ConfigSource& src, const toml::node& node,
                                 const std::string& key_context, std::string_view text);
// An array; `expected` describes one for the type error: `an array like ["2xx", "404"]`.
const toml::array& expect_array(const ConfigSource& src, const toml::node& node,
                                const std::string& key_context, std::string_view expected);

Millis parse_duration_value(const ConfigSource& src, const toml::node& node,
                            const std::string& key_context, std::string_view example);
// `must be at most 24h, got "25h"` for a duration `node` whose parsed value is `value`.
void check_at_most(const ConfigSource& src, const toml::node& node, const std::string& key_context,
                   Millis value, Millis max);
// An integer from kMinCount to kMaxCount.
int parse_count(const ConfigSource& src, const toml::node& node, const std::string& key_context);

// One of a few fixed strings: `"sctp" is not one of "udp", "tcp", "tls"`.
template <typename E>
E parse_choice(const ConfigSource& src, const toml::node& node, const std::string& key_context,
               std::initializer_list<std::pair<std::string_view, E>> choices) {
  std::string names;
  for (const auto& [name, value] : choices) {
    names += (names.empty() ? "\"" : ", \"") + std::string(name) + "\"";
  }
  const auto* str = node.as_string();
  if (str == nullptr) {
    src.fail(node.source(), key_context, "expected one of " + names + ", got " + type_of(node));
  }
  for (const auto& [name, value] : choices) {
    if (str->get() == name) return value;
  }
  src.fail(node.source(), key_context, quote_utf8(str->get()) + " is not one of " + names);
}

}  // namespace stx::config_impl
