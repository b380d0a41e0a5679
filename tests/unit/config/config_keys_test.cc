// The key table: every key it lists is parsed where it says, and refused elsewhere.
#include "config/config_keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "parse_helpers.h"

namespace stx {
namespace {

using config_impl::config_keys;
using config_impl::ConfigKey;
using config_impl::find_config_key;
using config_impl::key_names;
using config_impl::kInDefaults;
using config_impl::kInExporter;
using config_impl::kInModule;
using config_impl::kInTarget;
using test::error_of;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A value no key takes: each parser must say what it expected instead.
constexpr const char* kWrongValue = "1979-05-27";

TEST(ConfigKeys, NamesAreUniqueAndDocumented) {
  std::set<std::string_view> seen;
  for (const ConfigKey& key : config_keys()) {
    EXPECT_TRUE(seen.insert(key.name).second) << key.name << " is listed twice";
    EXPECT_NE(key.places, 0) << key.name;
    EXPECT_FALSE(key.doc.empty()) << key.name << " has no documentation";
    EXPECT_EQ(find_config_key(key.name), &key);
  }
  EXPECT_EQ(find_config_key("intervall"), nullptr);
}

TEST(ConfigKeys, EveryKeyHasTheParserOfItsTables) {
  for (const ConfigKey& key : config_keys()) {
    const bool exporter = (key.places & kInExporter) != 0;
    EXPECT_EQ(key.parse_exporter != nullptr, exporter) << key.name;
    // name and uri are read by the [[target]] parser itself.
    const bool setting = (key.places & (kInDefaults | kInModule)) != 0;
    EXPECT_EQ(key.parse_setting != nullptr, setting) << key.name;
  }
}

TEST(ConfigKeys, AModuleRefusesAPerTargetKeyWithAReason) {
  for (const ConfigKey& key : config_keys()) {
    if ((key.places & kInTarget) == 0) continue;
    const bool in_module = (key.places & kInModule) != 0;
    EXPECT_NE(in_module, !key.not_for_modules.empty()) << key.name;
  }
}

TEST(ConfigKeys, TargetKeysStartWithNameAndUri) {
  const auto names = key_names(kInTarget);
  ASSERT_GE(names.size(), 2U);
  EXPECT_EQ(names[0], "name");
  EXPECT_EQ(names[1], "uri");
  EXPECT_THAT(key_names(kInExporter),
              ElementsAre("rtt_buckets", "dns_servers", "dns_min_ttl", "dns_max_ttl", "dns_grace",
                          "allow_no_targets", "probe_allowed_targets", "zero_series"));
}

TEST(ConfigKeys, EveryExporterKeyIsParsed) {
  for (std::string_view key : key_names(kInExporter)) {
    const std::string message =
        error_of("[exporter]\n" + std::string(key) + " = " + kWrongValue + "\n");
    EXPECT_THAT(message, HasSubstr("config.toml:2:"));
    EXPECT_THAT(message, HasSubstr("[exporter]: " + std::string(key) + ": expected "));
    EXPECT_THAT(message, HasSubstr("got date"));
  }
}

TEST(ConfigKeys, EveryDefaultsKeyIsParsed) {
  for (std::string_view key : key_names(kInDefaults)) {
    const std::string message =
        error_of("[defaults]\n" + std::string(key) + " = " + kWrongValue + "\n");
    EXPECT_THAT(message, HasSubstr("[defaults]: " + std::string(key) + ": expected "));
    EXPECT_THAT(message, HasSubstr("got date"));
  }
}

TEST(ConfigKeys, EveryTargetKeyIsParsed) {
  for (std::string_view key : key_names(kInTarget)) {
    if (key == "name" || key == "uri") continue;
    const std::string message = error_of("[[target]]\nname = \"a\"\nuri = \"sip:x.example\"\n" +
                                         std::string(key) + " = " + kWrongValue + "\n");
    EXPECT_THAT(message, HasSubstr("[[target]] #1 \"a\": " + std::string(key) + ": expected "));
    EXPECT_THAT(message, HasSubstr("got date"));
  }
}

TEST(ConfigKeys, EveryModuleKeyIsParsedAndTheOthersAreRefused) {
  for (const ConfigKey& key : config_keys()) {
    if ((key.places & kInTarget) == 0) continue;
    const std::string message =
        error_of("[module.m]\n" + std::string(key.name) + " = " + kWrongValue + "\n");
    if ((key.places & kInModule) != 0) {
      EXPECT_THAT(message, HasSubstr("[module.m]: " + std::string(key.name) + ": expected "));
    } else {
      EXPECT_THAT(message, HasSubstr("[module.m]: " + std::string(key.name) +
                                     ": not used by /probe modules (" +
                                     std::string(key.not_for_modules) + ")"));
    }
  }
}

TEST(ConfigKeys, ExporterKeysAreUnknownElsewhere) {
  EXPECT_EQ(error_of("[defaults]\nrtt_buckets = [1]\n"),
            "config.toml:2:1: [defaults]: unknown key \"rtt_buckets\"");
  EXPECT_EQ(error_of("[module.m]\ndns_grace = \"1s\"\n"),
            "config.toml:2:1: [module.m]: unknown key \"dns_grace\"");
  EXPECT_EQ(error_of("[exporter]\ntimeout = \"1s\"\n"),
            "config.toml:2:1: [exporter]: unknown key \"timeout\"");
}

}  // namespace
}  // namespace stx
