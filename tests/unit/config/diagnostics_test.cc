// The message helpers shared by the TOML config and the YAML web config.
#include "config/diagnostics.h"

#include <gtest/gtest.h>

#include <string_view>

namespace stx {
namespace {

constexpr std::string_view kKeys[] = {"interval", "timeout", "labels", "name"};

TEST(Diagnostics, SourcePositionLeavesOutAnUnknownLine) {
  EXPECT_EQ(source_position("a.toml", 3, 7), "a.toml:3:7");
  EXPECT_EQ(source_position("a.toml", 0, 0), "a.toml");
}

TEST(Diagnostics, DiagnosticLeavesOutAnEmptyContext) {
  EXPECT_EQ(diagnostic("a.toml:1:2", "[defaults]: timeout", "must be greater than 0"),
            "a.toml:1:2: [defaults]: timeout: must be greater than 0");
  EXPECT_EQ(diagnostic("a.toml:1:2", "", "bad"), "a.toml:1:2: bad");
}

TEST(Diagnostics, EditDistanceCountsATranspositionAsOneEdit) {
  EXPECT_EQ(edit_distance("timeout", "timeout"), 0U);
  EXPECT_EQ(edit_distance("tiemout", "timeout"), 1U);  // plain Levenshtein says 2
  EXPECT_EQ(edit_distance("timout", "timeout"), 1U);
  EXPECT_EQ(edit_distance("", "abc"), 3U);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3U);
}

TEST(Diagnostics, ClosestMatchWantsFewerThanThreeEdits) {
  EXPECT_EQ(closest_match("lables", kKeys), "labels");
  EXPECT_EQ(closest_match("intervall", kKeys), "interval");
  EXPECT_EQ(closest_match("colour", kKeys), "");
}

TEST(Diagnostics, UnknownKeyMessageSuggestsOrLists) {
  EXPECT_EQ(unknown_key_message("unknown key", "nmae", kKeys),
            "unknown key \"nmae\" (did you mean \"name\"?)");
  EXPECT_EQ(unknown_key_message("unknown key", "colour", kKeys), "unknown key \"colour\"");
  EXPECT_EQ(unknown_key_message("unknown key", "colour", kKeys, WhenNoMatch::list_allowed),
            "unknown key \"colour\" (want interval, timeout, labels or name)");
  // The key is user text: quoted so that it cannot break the line.
  EXPECT_EQ(unknown_key_message("unknown key", "a\nb", kKeys), "unknown key \"a\\x0ab\"");
}

TEST(Diagnostics, OneOfListAndIsOneOf) {
  EXPECT_EQ(one_of_list(kKeys), "interval, timeout, labels or name");
  constexpr std::string_view one[] = {"a"};
  EXPECT_EQ(one_of_list(one), "a");
  EXPECT_TRUE(is_one_of("labels", kKeys));
  EXPECT_FALSE(is_one_of("Labels", kKeys));
}

TEST(Diagnostics, IequalsIgnoresAsciiCaseOnly) {
  EXPECT_TRUE(iequals("Call-ID", "call-id"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("Via", "Vias"));
  EXPECT_FALSE(iequals("\xc3\x84", "\xc3\xa4"));  // Ä and ä: not ASCII
}

TEST(Diagnostics, TypeNamesOfBothFormats) {
  EXPECT_EQ(type_name(toml::node_type::table), "table");
  EXPECT_EQ(type_name(toml::node_type::floating_point), "float");
  EXPECT_EQ(type_name(toml::node_type::date_time), "date-time");
  EXPECT_EQ(type_name(YAML::NodeType::Map), "a mapping");
  EXPECT_EQ(type_name(YAML::NodeType::Sequence), "a list");
  EXPECT_EQ(type_name(YAML::NodeType::Null), "nothing");
}

}  // namespace
}  // namespace stx
