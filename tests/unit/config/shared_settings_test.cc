#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "parse_helpers.h"

namespace stx {
namespace {

using test::parse_ok;

const std::string kTwoAlike =
    "[defaults]\nuser_agent = \"probe/1\"\n"
    "[[target]]\nname = \"a\"\nuri = \"sip:203.0.113.7\"\n"
    "[[target]]\nname = \"b\"\nuri = \"sip:203.0.113.8\"\nlabels = { site = \"east\" }\n";

TEST(SharedSettings, TargetsThatDifferOnlyInNameUriAndLabelsHoldOneCopy) {
  const Config config = parse_ok(kTwoAlike + "[[target]]\nname = \"c\"\nuri = \"sip:x\"\n" +
                                 "user_agent = \"other\"\n" +
                                 "[[target]]\nname = \"d\"\nuri = \"sip:y\"\ninterval = \"10s\"\n");
  ASSERT_EQ(config.targets.size(), 4u);
  const TargetConfig& a = config.targets[0];
  const TargetConfig& b = config.targets[1];
  const TargetConfig& c = config.targets[2];
  const TargetConfig& d = config.targets[3];
  EXPECT_EQ(&*a.shared, &*b.shared);
  EXPECT_NE(&*a.shared, &*c.shared);
  EXPECT_NE(&*a.shared, &*d.shared);  // the schedule is shared too, so it tells sets apart
  EXPECT_EQ(a.shared->user_agent, "probe/1");
  EXPECT_EQ(c.shared->user_agent, "other");
  EXPECT_EQ(a.shared->interval, std::chrono::seconds(30));
  EXPECT_EQ(d.shared->interval, std::chrono::seconds(10));
  EXPECT_EQ(d.shared->user_agent, "probe/1");
}

TEST(SharedSettings, EqualityIsByValueSoAReloadKeepsUnchangedTargets) {
  const Config before = parse_ok(kTwoAlike);
  const Config after = parse_ok(kTwoAlike);
  ASSERT_NE(&*before.targets[0].shared, &*after.targets[0].shared);
  EXPECT_EQ(before.targets[0], after.targets[0]);
  EXPECT_EQ(before.targets[1], after.targets[1]);
  const Config changed = parse_ok(kTwoAlike + "[target.headers]\nX-New = \"1\"\n");
  EXPECT_EQ(before.targets[0], changed.targets[0]);
  EXPECT_NE(before.targets[1], changed.targets[1]);
}

TEST(SharedSettings, EditCopiesASharedValueFirst) {
  const Config config = parse_ok(kTwoAlike);
  TargetConfig a = config.targets[0];
  a.shared.edit().from = "sip:changed@example.com";
  EXPECT_EQ(a.shared->from, "sip:changed@example.com");
  EXPECT_EQ(config.targets[0].shared->from, config.targets[1].shared->from);
  EXPECT_NE(config.targets[0].shared->from, "sip:changed@example.com");
  TargetConfig fresh;  // the default value is one for all and never changed in place
  fresh.shared.edit().user_agent = "x";
  EXPECT_EQ(TargetConfig().shared->user_agent, "");
}

TEST(SharedSettings, AMovedFromTargetReadsAsTheDefault) {
  TargetConfig a;
  a.shared.edit().from = "sip:a@example.com";
  TargetConfig b = std::move(a);
  EXPECT_EQ(b.shared->from, "sip:a@example.com");
  EXPECT_EQ(a.shared->from, "");  // NOLINT(bugprone-use-after-move): what is left is valid
}

}  // namespace
}  // namespace stx
