#include "probes/timer_queue.h"

#include <utility>

namespace stx {

void TimerQueue::Lane::push_back(const TimerEntry& e) {
  if (count_ == buf_.size()) {
    std::vector<TimerEntry> bigger(buf_.empty() ? 64 : buf_.size() * 2);
    for (std::size_t i = 0; i < count_; ++i) bigger[i] = buf_[(head_ + i) & (buf_.size() - 1)];
    buf_ = std::move(bigger);
    head_ = 0;
  }
  buf_[(head_ + count_) & (buf_.size() - 1)] = e;
  ++count_;
}

void TimerQueue::Lane::pop_front() {
  head_ = (head_ + 1) & (buf_.size() - 1);
  --count_;
}

std::size_t TimerQueue::size() const {
  std::size_t n = heap_.size();
  for (const Lane& l : lanes_) n += l.size();
  return n;
}

void TimerQueue::push(const TimerEntry& e) {
  // Best fit: the lane whose last deadline is the latest one not after e's, so that lanes
  // keep to their own run (timeouts, retransmissions, starts) instead of mixing them.
  std::size_t best = kLanes;
  std::size_t empty_lane = kLanes;
  for (std::size_t i = 0; i < kLanes; ++i) {
    const Lane& l = lanes_[i];
    if (l.empty()) {
      if (empty_lane == kLanes) empty_lane = i;
    } else if (l.back().due <= e.due &&
               (best == kLanes || lanes_[best].back().due < l.back().due)) {
      best = i;
    }
  }
  if (best == kLanes) best = empty_lane;
  if (best == kLanes) {
    const bool earliest = first_ != kHeap && e.due < top().due;
    heap_.push(e);
    if (earliest) first_ = kHeap;
    return;
  }
  const bool was_empty = empty();
  lanes_[best].push_back(e);
  if (was_empty || e.due < top().due) first_ = best;
}

void TimerQueue::find_first() {
  first_ = kHeap;
  const TimerEntry* min = heap_.empty() ? nullptr : &heap_.top();
  for (std::size_t i = 0; i < kLanes; ++i) {
    if (lanes_[i].empty()) continue;
    if (min == nullptr || lanes_[i].front().due < min->due) {
      min = &lanes_[i].front();
      first_ = i;
    }
  }
}

const TimerEntry& TimerQueue::top() const {
  return first_ == kHeap ? heap_.top() : lanes_[first_].front();
}

void TimerQueue::pop() {
  if (first_ == kHeap) {
    heap_.pop();
  } else {
    lanes_[first_].pop_front();
  }
  find_first();
}

void TimerQueue::clear() {
  heap_ = Heap();
  for (Lane& l : lanes_) l.clear();
  first_ = kHeap;
}

}  // namespace stx
