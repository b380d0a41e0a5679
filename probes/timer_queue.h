#pragma once
// Every probe timer (start, retransmit, timeout, ...) in deadline order.
// Entries are never removed early; a stale one is recognised by its target generation
// (the slot may have been reused after a reload) and its probe sequence number.
#include <array>
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

// Deadlines arrive in runs: a probe's timeout and first retransmission are a fixed offset
// from its send, and a target's next start one interval after the last, so each kind is
// pushed in nearly sorted order. An entry joins a FIFO lane whose last deadline is not later
// than its own (constant time, sequential memory); only one that fits no lane goes to the
// heap (log n, and cache misses on a heap of tens of thousands).
class TimerQueue {
 public:
  void push(const TimerEntry& e);
  // first_ names the heap only when no lane holds an earlier entry, or none at all.
  bool empty() const { return first_ == kHeap && heap_.empty(); }
  std::size_t size() const;
  TimePoint next_due() const { return top().due; }
  const TimerEntry& top() const;  // the earliest; not empty()
  void pop();                     // removes top(); not empty()

  // Pops the earliest entry if it is due at `now`.
  bool pop_due(TimePoint now, TimerEntry& out) {
    if (empty() || next_due() > now) return false;
    out = top();
    pop();
    return true;
  }
  void clear();

 private:
  // A ring buffer that grows by doubling and never shrinks: no allocation once warm.
  class Lane {
   public:
    bool empty() const { return count_ == 0; }
    std::size_t size() const { return count_; }
    const TimerEntry& front() const { return buf_[head_]; }
    const TimerEntry& back() const { return buf_[(head_ + count_ - 1) & (buf_.size() - 1)]; }
    void push_back(const TimerEntry& e);
    void pop_front();
    void clear() { head_ = count_ = 0; }

   private:
    std::vector<TimerEntry> buf_;  // size is a power of two (or 0)
    std::size_t head_ = 0;
    std::size_t count_ = 0;
  };

  struct Later {
    bool operator()(const TimerEntry& a, const TimerEntry& b) const { return a.due > b.due; }
  };
  using Heap = std::priority_queue<TimerEntry, std::vector<TimerEntry>, Later>;

  static constexpr std::size_t kLanes = 8;
  static constexpr std::size_t kHeap = kLanes;  // first_ names the heap

  void find_first();

  std::array<Lane, kLanes> lanes_;
  Heap heap_;  // grows as it must: with the lanes a fleet's timers leave it nearly empty
  std::size_t first_ = kHeap;  // where top() is: a lane, or the heap
};

}  // namespace stx
