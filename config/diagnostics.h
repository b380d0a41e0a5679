#pragma once
// What the config loaders (TOML config, YAML web config) share to word an error: where it is,
// what a value's type is called, and which allowed key a misspelt one probably meant.
#include <toml++/toml.h>
#include <yaml-cpp/node/type.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace stx {

// "source:line:column", or "source" when the line is unknown (0). Both are 1-based.
std::string source_position(std::string_view source, std::uint32_t line, std::uint32_t column);

// "position: context: message"; the context is left out when empty.
std::string diagnostic(std::string_view position, std::string_view context,
                       std::string_view message);

// A TOML value's type as messages name it: "table", "array", "string", "integer", ...
std::string type_name(toml::node_type type);
// A YAML node's type as messages name it: "a mapping", "a list", "a scalar", "nothing".
std::string type_name(YAML::NodeType::value type);

// Optimal string alignment distance: Levenshtein plus adjacent transpositions, so that
// "tiemout" is one edit from "timeout".
std::size_t edit_distance(std::string_view a, std::string_view b);

// The allowed name nearest `key` (fewer than 3 edits; the first of equals), or empty.
std::string_view closest_match(std::string_view key, std::span<const std::string_view> allowed);

// What to say when no allowed key is near the unknown one.
enum class WhenNoMatch : std::uint8_t { say_nothing, list_allowed };

// `unknown key "intervall" (did you mean "interval"?)`; with list_allowed and no near key,
// `unknown key "web" (want tls_server_config or basic_auth_users)`.
std::string unknown_key_message(std::string_view what, std::string_view key,
                                std::span<const std::string_view> allowed,
                                WhenNoMatch when_no_match = WhenNoMatch::say_nothing);

// "a, b or c".
std::string one_of_list(std::span<const std::string_view> names);

bool is_one_of(std::string_view name, std::span<const std::string_view> allowed);

// ASCII case-insensitive equality (header names, auth schemes).
bool iequals(std::string_view a, std::string_view b);

}  // namespace stx
