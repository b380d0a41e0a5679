#pragma once
// Shared by the config tests: parse and expect an error, or parse and expect success.
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"

namespace stx::test {

// Parses `toml` and returns the ConfigError message, or fails the test.
inline std::string error_of(const std::string& toml) {
  try {
    Config config = parse_config(toml, "config.toml");
    ADD_FAILURE() << "parsed without error:\n" << toml;
  } catch (const ConfigError& e) {
    std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "message is not one line: " << message;
    return message;
  }
  return "";
}

inline Config parse_ok(const std::string& toml) {
  try {
    return parse_config(toml, "config.toml");
  } catch (const ConfigError& e) {
    ADD_FAILURE() << "unexpected error: " << e.what();
  }
  return Config{};
}

// A configuration without targets (an exporter for /probe only) must say so.
inline Config parse_probe_only(const std::string& toml) {
  return parse_ok(toml + "\n[exporter]\nallow_no_targets = true\n");
}

}  // namespace stx::test
