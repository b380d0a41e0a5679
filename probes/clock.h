#pragma once
// The probing side's only source of time. State machines (schedules, cycle deadlines,
// Timer E, DNS TTL, reconnect backoff, keepalive deadlines) read `now()` and wake through
// an Alarm, never the steady clock itself, so tests can run them in virtual time with a
// clock they advance by hand (tests/unit/probes/manual_clock.h).
#include <chrono>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace stx {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

// One pending wakeup. Its callback is fixed at creation, so arming allocates nothing.
class Alarm {
 public:
  virtual ~Alarm() = default;
  // Runs the callback once at or after `at`, replacing any earlier setting.
  virtual void set(TimePoint at) = 0;
  virtual void cancel() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // An alarm that calls `fire` on the clock's thread; destroying it cancels it.
  virtual std::unique_ptr<Alarm> make_alarm(std::function<void()> fire) = 0;
};

// Production time: the steady clock, with alarms as Asio timers on `io`.
class AsioClock final : public Clock {
 public:
  explicit AsioClock(boost::asio::io_context& io) : io_(io) {}
  TimePoint now() const override { return SteadyClock::now(); }
  std::unique_ptr<Alarm> make_alarm(std::function<void()> fire) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace stx
