#pragma once
// One min-heap of deadlines for every probe timer: start, retransmit, timeout.
// Entries are never removed early; a stale one is recognised by its target generation
// (the slot may have been reused after a reload) and its probe sequence number.
#include <cstdint>
#include <queue>
#include <vector>

#include "probes/clock.h"

namespace stx {

// start and timeout name a target slot (a probe cycle); the others name an address (path).
enum class TimerKind : std::uint8_t {
  start,
  timeout,
  retransmit,
  keepalive,
  pong_due,
  call_cancel,  // a test call's CANCEL, invite_cancel_after past its first 18x
  call_resend,  // a test call's CANCEL or BYE again over UDP (Timer E)
};

struct TimerEntry {
  TimePoint due;
  std::uint32_t slot = 0;
  std::uint32_t gen = 0;  // the target or path occupying the slot when the entry was made
  std::uint32_t seq = 0;  // the cycle or exchange the timer belongs to (ignored for start)
  TimerKind kind = TimerKind::start;
};

class TimerQueue {
 public:
  void reserve(std::size_t n) {
    std::vector<TimerEntry> v;
    v.reserve(n);
    heap_ = Heap(Later{}, std::move(v));
  }
  void push(const TimerEntry& e) { heap_.push(e); }
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  TimePoint next_due() const { return heap_.top().due; }
  const TimerEntry& top() const { return heap_.top(); }
  void pop() { heap_.pop(); }

  // Pops the earliest entry if it is due at `now`.
  bool pop_due(TimePoint now, TimerEntry& out) {
    if (heap_.empty() || heap_.top().due > now) return false;
    out = heap_.top();
    heap_.pop();
    return true;
  }
  void clear() { heap_ = Heap(); }

 private:
  struct Later {
    bool operator()(const TimerEntry& a, const TimerEntry& b) const { return a.due > b.due; }
  };
  using Heap = std::priority_queue<TimerEntry, std::vector<TimerEntry>, Later>;
  Heap heap_;
};

}  // namespace stx
