#pragma once
// Durations as written in the config: "500ms", "30s", "1m", "1m30s".
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace stx {

// Returns nullopt with a reason in *error for anything else (no unit, bad unit, overflow).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string* error);

// Inverse for messages and logs: 1500ms -> "1.5s", 60000ms -> "1m".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace stx
