#include "probes/target_state.h"

#include <gtest/gtest.h>

namespace stx {
namespace {

TEST(TargetState, StartsUnknown) {
  TargetState s;
  EXPECT_EQ(s.health, Health::unknown);
  EXPECT_EQ(to_string(s.health), "unknown");
}

TEST(TargetState, FirstSuccessDecidesUpAtOnce) {
  TargetState s;
  const StateChange c = s.record(true, 3, 2);
  EXPECT_EQ(s.health, Health::up);
  EXPECT_TRUE(c.changed());
  EXPECT_FALSE(c.is_transition()) << "unknown->up is a first verdict, not a flap";
}

TEST(TargetState, FirstFailureDecidesDownAtOnce) {
  TargetState s;
  const StateChange c = s.record(false, 3, 1);
  EXPECT_EQ(s.health, Health::down);
  EXPECT_EQ(c.from, Health::unknown);
  EXPECT_EQ(c.to, Health::down);
  EXPECT_FALSE(c.is_transition());
  EXPECT_EQ(s.consecutive_failures, 1);
}

TEST(TargetState, UpNeedsConsecutiveFailuresToGoDown) {
  TargetState s;
  s.record(true, 3, 1);
  EXPECT_FALSE(s.record(false, 3, 1).changed());
  EXPECT_FALSE(s.record(false, 3, 1).changed());
  EXPECT_EQ(s.health, Health::up);
  EXPECT_EQ(s.consecutive_failures, 2);
  const StateChange c = s.record(false, 3, 1);
  EXPECT_TRUE(c.is_transition());
  EXPECT_EQ(c.from, Health::up);
  EXPECT_EQ(c.to, Health::down);
}

TEST(TargetState, ASuccessResetsTheFailureCount) {
  TargetState s;
  s.record(true, 2, 1);
  s.record(false, 2, 1);
  s.record(true, 2, 1);
  EXPECT_EQ(s.consecutive_failures, 0);
  s.record(false, 2, 1);
  EXPECT_EQ(s.health, Health::up) << "failures were not consecutive";
  s.record(false, 2, 1);
  EXPECT_EQ(s.health, Health::down);
}

TEST(TargetState, DownNeedsConsecutiveSuccessesToComeUp) {
  TargetState s;
  s.record(false, 1, 3);
  s.record(true, 1, 3);
  s.record(true, 1, 3);
  s.record(false, 1, 3);  // resets the run
  s.record(true, 1, 3);
  s.record(true, 1, 3);
  EXPECT_EQ(s.health, Health::down);
  const StateChange c = s.record(true, 1, 3);
  EXPECT_EQ(s.health, Health::up);
  EXPECT_TRUE(c.is_transition());
}

TEST(TargetState, ThresholdOfOneFlipsOnEachResult) {
  TargetState s;
  s.record(true, 1, 1);
  EXPECT_TRUE(s.record(false, 1, 1).is_transition());
  EXPECT_TRUE(s.record(true, 1, 1).is_transition());
}

}  // namespace
}  // namespace stx
