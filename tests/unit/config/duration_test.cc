#include "config/duration.h"

#include <gtest/gtest.h>

#include <string>

namespace stx {
namespace {

using std::chrono::milliseconds;

milliseconds must_parse(std::string_view text) {
  std::string error;
  std::optional<milliseconds> d = parse_duration(text, &error);
  EXPECT_TRUE(d.has_value()) << text << ": " << error;
  return d.value_or(milliseconds(-1));
}

std::string must_fail(std::string_view text) {
  std::string error;
  std::optional<milliseconds> d = parse_duration(text, &error);
  EXPECT_FALSE(d.has_value()) << text << " parsed as " << (d ? d->count() : 0) << "ms";
  return error;
}

TEST(ParseDuration, SingleUnits) {
  EXPECT_EQ(must_parse("500ms"), milliseconds(500));
  EXPECT_EQ(must_parse("30s"), milliseconds(30'000));
  EXPECT_EQ(must_parse("1m"), milliseconds(60'000));
  EXPECT_EQ(must_parse("2h"), milliseconds(7'200'000));
  EXPECT_EQ(must_parse("0s"), milliseconds(0));
  EXPECT_EQ(must_parse("0ms"), milliseconds(0));
}

TEST(ParseDuration, Combinations) {
  EXPECT_EQ(must_parse("1m30s"), milliseconds(90'000));
  EXPECT_EQ(must_parse("1s500ms"), milliseconds(1'500));
  EXPECT_EQ(must_parse("1h2m3s4ms"), milliseconds(3'723'004));
  EXPECT_EQ(must_parse("1h30s"), milliseconds(3'630'000));
  EXPECT_EQ(must_parse("1h5ms"), milliseconds(3'600'005));
}

TEST(ParseDuration, LargeButRepresentable) {
  EXPECT_EQ(must_parse("90s"), milliseconds(90'000));  // no carrying rules
  EXPECT_EQ(must_parse("9223372036854775807ms"), milliseconds(9'223'372'036'854'775'807));
  EXPECT_EQ(must_parse("007s"), milliseconds(7'000));
}

TEST(ParseDuration, Errors) {
  EXPECT_EQ(must_fail(""), "empty duration");
  EXPECT_EQ(must_fail("30"), "missing unit in \"30\"");
  EXPECT_EQ(must_fail("1m30"), "missing unit in \"1m30\"");
  EXPECT_EQ(must_fail("s"), "missing number in \"s\"");
  EXPECT_EQ(must_fail("1mms"), "unknown unit \"mms\" in \"1mms\" (want h, m, s or ms)");
  EXPECT_EQ(must_fail("1d"), "unknown unit \"d\" in \"1d\" (want h, m, s or ms)");
  EXPECT_EQ(must_fail("5S"), "unknown unit \"S\" in \"5S\" (want h, m, s or ms)");
  EXPECT_EQ(must_fail("10us"), "unknown unit \"us\" in \"10us\" (want h, m, s or ms)");
  EXPECT_EQ(must_fail("30s1m"), "units out of order in \"30s1m\" (want h, m, s, ms)");
  EXPECT_EQ(must_fail("1ms1s"), "units out of order in \"1ms1s\" (want h, m, s, ms)");
  EXPECT_EQ(must_fail("1s1s"), "unit \"s\" used twice in \"1s1s\"");
  EXPECT_EQ(must_fail("1h1h"), "unit \"h\" used twice in \"1h1h\"");
  EXPECT_EQ(must_fail("-5s"), "signs are not allowed in \"-5s\"");
  EXPECT_EQ(must_fail("+5s"), "signs are not allowed in \"+5s\"");
  EXPECT_EQ(must_fail("1.5s"), "fractions are not allowed in \"1.5s\" (use a smaller unit)");
  EXPECT_EQ(must_fail("1,5s"), "fractions are not allowed in \"1,5s\" (use a smaller unit)");
  EXPECT_EQ(must_fail("1m 30s"), "spaces are not allowed in \"1m 30s\"");
  EXPECT_EQ(must_fail(" 5s"), "spaces are not allowed in \" 5s\"");
  EXPECT_EQ(must_fail("5s\n"), "unexpected character in \"5s\\x0a\"");
  EXPECT_EQ(must_fail("5s\""), "unexpected character in \"5s\\\"\"");
  EXPECT_EQ(must_fail("9223372036854775808ms"), "duration \"9223372036854775808ms\" is too large");
  EXPECT_EQ(must_fail("99999999999999999999999s"),
            "duration \"99999999999999999999999s\" is too large");
  EXPECT_EQ(must_fail("9223372036854776s"), "duration \"9223372036854776s\" is too large");
  EXPECT_EQ(must_fail("2562047788015h1000000000ms"),
            "duration \"2562047788015h1000000000ms\" is too large");
}

TEST(ParseDuration, NullErrorPointerIsAllowed) {
  EXPECT_FALSE(parse_duration("30", nullptr).has_value());
}

TEST(FormatDuration, CompactForms) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(format_duration(milliseconds(1)), "1ms");
  EXPECT_EQ(format_duration(milliseconds(500)), "500ms");
  EXPECT_EQ(format_duration(milliseconds(999)), "999ms");
  EXPECT_EQ(format_duration(milliseconds(1'000)), "1s");
  EXPECT_EQ(format_duration(milliseconds(1'500)), "1.5s");
  EXPECT_EQ(format_duration(milliseconds(1'001)), "1.001s");
  EXPECT_EQ(format_duration(milliseconds(1'250)), "1.25s");
  EXPECT_EQ(format_duration(milliseconds(30'000)), "30s");
  EXPECT_EQ(format_duration(milliseconds(60'000)), "1m");
  EXPECT_EQ(format_duration(milliseconds(90'000)), "1m30s");
  EXPECT_EQ(format_duration(milliseconds(90'500)), "1m30.5s");
  EXPECT_EQ(format_duration(milliseconds(60'500)), "1m0.5s");
  EXPECT_EQ(format_duration(milliseconds(3'600'000)), "1h");
  EXPECT_EQ(format_duration(milliseconds(3'661'000)), "1h1m1s");
  EXPECT_EQ(format_duration(milliseconds(86'400'000)), "24h");
  EXPECT_EQ(format_duration(milliseconds(-1'500)), "-1.5s");
}

TEST(FormatDuration, RoundTripsWholeUnits) {
  for (std::string_view text : {"500ms", "30s", "1m", "1m30s", "2h", "1h1m1s"}) {
    EXPECT_EQ(format_duration(must_parse(text)), text);
  }
}

}  // namespace
}  // namespace stx
