#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "probes/timer_e.h"
#include "probes/timer_queue.h"

namespace stx {
namespace {

using std::chrono::milliseconds;

// Send times of a non-INVITE request over UDP with no provisional response (RFC 3261 17.1.2.2).
std::vector<milliseconds> send_times(milliseconds until, int provisional_after_send = -1) {
  std::vector<milliseconds> sends{milliseconds(0)};
  milliseconds e = kT1;
  milliseconds at = e;
  while (at < until) {
    sends.push_back(at);
    const bool provisional =
        provisional_after_send >= 0 && static_cast<int>(sends.size()) > provisional_after_send;
    e = next_timer_e(e, provisional);
    at += e;
  }
  return sends;
}

TEST(TimerE, DoublesFromT1AndCapsAtT2) {
  const std::vector<milliseconds> expected = {
      milliseconds(0),    milliseconds(500),   milliseconds(1500),  milliseconds(3500),
      milliseconds(7500), milliseconds(11500), milliseconds(15500), milliseconds(19500)};
  EXPECT_EQ(send_times(milliseconds(20000)), expected);
}

TEST(TimerE, StaysAtT2AfterAProvisionalResponse) {
  EXPECT_EQ(next_timer_e(kT1, true), kT2);
  EXPECT_EQ(next_timer_e(milliseconds(1000), true), kT2);
  // A 1xx after the first send: 0, 0.5 (E was already running), then every 4 s.
  const std::vector<milliseconds> expected = {milliseconds(0), milliseconds(500),
                                              milliseconds(4500), milliseconds(8500)};
  EXPECT_EQ(send_times(milliseconds(10000), 1), expected);
}

TEST(TimerE, NeverExceedsT2) {
  milliseconds e = kT1;
  for (int i = 0; i < 20; ++i) {
    e = next_timer_e(e, false);
    EXPECT_LE(e, kT2);
  }
  EXPECT_EQ(e, kT2);
}

TEST(TimerQueue, PopsInDeadlineOrderOnlyWhenDue) {
  TimerQueue q;
  const TimePoint t0{};
  q.push({t0 + milliseconds(30), 3, 1, 0, TimerKind::start});
  q.push({t0 + milliseconds(10), 1, 1, 7, TimerKind::retransmit});
  q.push({t0 + milliseconds(20), 2, 1, 0, TimerKind::timeout});
  EXPECT_EQ(q.next_due(), t0 + milliseconds(10));
  TimerEntry e;
  EXPECT_FALSE(q.pop_due(t0 + milliseconds(9), e));
  ASSERT_TRUE(q.pop_due(t0 + milliseconds(25), e));
  EXPECT_EQ(e.slot, 1u);
  EXPECT_EQ(e.seq, 7u);
  EXPECT_EQ(e.kind, TimerKind::retransmit);
  ASSERT_TRUE(q.pop_due(t0 + milliseconds(25), e));
  EXPECT_EQ(e.slot, 2u);
  EXPECT_FALSE(q.pop_due(t0 + milliseconds(25), e));
  EXPECT_EQ(q.size(), 1u);
  q.clear();
  EXPECT_TRUE(q.empty());
}

// Interleaved runs (starts, timeouts, retransmissions), entries that fit no lane, pops
// between pushes, and ring buffers that wrap and grow: the order is the deadline order.
TEST(TimerQueue, MatchesASortedListUnderAnyPushOrder) {
  TimerQueue q;
  std::multiset<std::int64_t> reference;
  std::mt19937 rng(7);
  const TimePoint t0{};
  std::int64_t now = 0;
  for (int round = 0; round < 20000; ++round) {
    const int kind = static_cast<int>(rng() % 12);
    // Runs at fixed offsets from now, as probes make them, and a few random deadlines.
    const std::int64_t due = kind < 3    ? now + 1000
                             : kind < 6  ? now + 900
                             : kind < 9  ? now + 500
                             : kind < 11 ? now + static_cast<std::int64_t>(rng() % 5000)
                                         : now;
    q.push({t0 + milliseconds(due), static_cast<std::uint32_t>(round), 1, 0, TimerKind::start});
    reference.insert(due);
    now += static_cast<std::int64_t>(rng() % 3);
    TimerEntry e;
    while (q.pop_due(t0 + milliseconds(now), e)) {
      ASSERT_FALSE(reference.empty());
      ASSERT_EQ(e.due, t0 + milliseconds(*reference.begin())) << "round " << round;
      reference.erase(reference.begin());
    }
    ASSERT_EQ(q.size(), reference.size());
    if (!reference.empty()) {
      ASSERT_EQ(q.next_due(), t0 + milliseconds(*reference.begin()));
    }
  }
  TimerEntry e;
  while (q.pop_due(TimePoint::max(), e)) {
    ASSERT_EQ(e.due, t0 + milliseconds(*reference.begin()));
    reference.erase(reference.begin());
  }
  EXPECT_TRUE(reference.empty());
  EXPECT_TRUE(q.empty());
}

// More decreasing runs than lanes: the extra ones go to the heap, still in order.
TEST(TimerQueue, KeepsOrderWhenRunsOutnumberLanes) {
  TimerQueue q;
  const TimePoint t0{};
  for (int i = 100; i > 0; --i) q.push({t0 + milliseconds(i), static_cast<std::uint32_t>(i)});
  TimerEntry e;
  for (int i = 1; i <= 100; ++i) {
    ASSERT_TRUE(q.pop_due(t0 + milliseconds(100), e));
    EXPECT_EQ(e.slot, static_cast<std::uint32_t>(i));
  }
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace stx
