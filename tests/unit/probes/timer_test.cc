#include <gtest/gtest.h>

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

}  // namespace
}  // namespace stx
