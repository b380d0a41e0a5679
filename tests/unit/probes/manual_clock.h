#pragma once
// Virtual time for tests: now() moves only when the test advances it, and alarms fire in
// due order as it passes them. No sleeps and no wall-clock deadlines.
#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "probes/clock.h"

namespace stx {

class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }

  std::unique_ptr<Alarm> make_alarm(std::function<void()> fire) override {
    auto a = std::make_unique<ManualAlarm>(*this, std::move(fire));
    alarms_.push_back(a.get());
    return a;
  }

  // Moves time forward by `d`, firing every alarm that falls due on the way, each at its
  // own due time (an alarm set by a firing one fires too if it falls within `d`).
  void advance(SteadyClock::duration d) {
    const TimePoint until = now_ + d;
    for (;;) {
      ManualAlarm* next = nullptr;
      for (ManualAlarm* a : alarms_) {
        if (a->armed && a->due <= until && (next == nullptr || a->due < next->due)) next = a;
      }
      if (next == nullptr) break;
      now_ = std::max(now_, next->due);
      next->armed = false;
      next->fire();
    }
    now_ = until;
  }

  // When the earliest armed alarm is due, if any.
  std::optional<TimePoint> next_alarm() const {
    std::optional<TimePoint> next;
    for (const ManualAlarm* a : alarms_) {
      if (a->armed && (!next || a->due < *next)) next = a->due;
    }
    return next;
  }

 private:
  struct ManualAlarm final : Alarm {
    ManualAlarm(ManualClock& c, std::function<void()> f) : clock(c), fire(std::move(f)) {}
    ~ManualAlarm() override { std::erase(clock.alarms_, this); }
    void set(TimePoint at) override {
      due = at;
      armed = true;
    }
    void cancel() override { armed = false; }
    ManualClock& clock;
    std::function<void()> fire;
    TimePoint due{};
    bool armed = false;
  };

  TimePoint now_{std::chrono::hours(1)};  // well clear of the epoch, like a real clock
  std::vector<ManualAlarm*> alarms_;
};

}  // namespace stx
