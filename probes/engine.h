#pragma once
// The probing engine: one event loop for every target. It wires the health checker (when
// to probe, what the outcomes add up to; probes/health_checker.h) to the exchanges (one
// request per address over shared UDP sockets or one connection per TCP/TLS address;
// probes/exchanges.h), and runs their timers from one heap on one clock. Results go to a
// ProbeSink; no metrics, no logging.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "config/config.h"
#include "probes/clock.h"
#include "probes/connection.h"
#include "probes/exchanges.h"
#include "probes/health_checker.h"
#include "probes/locator.h"
#include "probes/probe_result.h"
#include "probes/timer_queue.h"

namespace stx {

// What tests replace: time, DNS and connections. Unset members are the real ones.
struct EngineParts {
  Clock* clock = nullptr;         // default: the steady clock on the io_context
  LocatorFactory locators;        // default: RFC 3263 over c-ares
  ConnectionFactory connections;  // default: TCP and TLS sockets
};

class Engine {
 public:
  // Receives the result of a probe_once() request, on the engine's thread.
  using OneShotDone = HealthChecker::OneShotDone;

  // `seed` spreads first probes over the interval; identifiers never depend on it.
  Engine(boost::asio::io_context& io, ProbeSink& sink, std::uint64_t seed,
         const DnsSettings& dns = {}, EngineParts parts = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The target set. Each target points into it rather than holding a copy of its settings
  // (about 1 KB each), so it lives as long as one of its targets does.
  using TargetList = HealthChecker::TargetList;

  // Starts probing `targets`. First probes are spread at random over each target's interval
  // unless `spread` is false.
  void start(const TargetList& targets, bool spread = true);
  void start(const std::vector<TargetConfig>& targets, bool spread = true);  // copies

  // Replaces the target set. A target whose name and settings are unchanged keeps its slot,
  // state, addresses, schedule and in-flight probe, so no probe is lost or doubled; removed
  // targets are dropped (an in-flight probe abandoned); new or changed ones start unknown.
  void reload(const TargetList& targets);
  void reload(const std::vector<TargetConfig>& targets);  // copies

  // New DNS settings: later lookups use them; pending ones are asked again.
  void set_dns(const DnsSettings& dns);

  // One probe of `target` now, outside any schedule and invisible to the sink; `done` runs
  // once with its result (request and response text included).
  void probe_once(const TargetConfig& target, OneShotDone done);

  // Abandons in-flight probes and closes sockets.
  void stop();

  std::size_t in_flight() const { return checker_.in_flight(); }

 private:
  void service();  // one wakeup: run due timers, read the sockets, plan the next wakeup
  void poll_answers();
  void arm_timer();
  bool live(const TimerEntry& e) const;  // false: its target, address or exchange is gone
  void run_due_timers();
  // Runs the timers due by `now` and the starts due by `early`; returns how many ran.
  std::size_t run_timers(TimePoint now, TimePoint early);
  bool runs_now(const TimerEntry& e, TimePoint now, TimePoint early) const;

  std::unique_ptr<Clock> own_clock_;  // when none was given
  Clock& clock_;
  TimerQueue queue_;
  std::unique_ptr<Alarm> alarm_;
  bool alarm_set_ = false;
  TimePoint alarm_at_{};
  TimePoint last_wake_{};
  bool polled_ = false;   // this wakeup has read its answers
  bool backlog_ = false;  // the last poll left datagrams waiting: the loop watches for them
  bool loaded_ = false;   // the last wakeup started probes early: their answers wait for the next
  HealthChecker checker_;
  Exchanges exchanges_;
  bool stopped_ = false;
};

}  // namespace stx
