#pragma once
// The health checker: per target and per address, the schedule (fixed-rate interval, first
// probes spread over it), the cycle deadline, the thresholds, up_when, RFC 3263 location
// with TTL and grace, and the verdicts that go to the sink. It never touches a socket: each
// address's exchange goes through an ExchangeRunner, and time comes from the Clock and the
// shared timer queue, so everything here runs in virtual time under test.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "config/config.h"
#include "probes/clock.h"
#include "probes/exchange_runner.h"
#include "probes/locator.h"
#include "probes/probe_result.h"
#include "probes/slots.h"
#include "probes/target_state.h"
#include "probes/timer_queue.h"

namespace stx {

class HealthChecker final : public ExchangeListener {
 public:
  using OneShotDone = std::function<void(const ProbeResult&)>;
  using TargetList = std::shared_ptr<const std::vector<TargetConfig>>;

  struct Services {
    Clock& clock;
    TimerQueue& timers;
    ProbeSink& sink;
    ExchangeRunner& exchanges;
    LocatorFactory locators;
    // A DNS answer was handled outside any timer: the owner plans its next wakeup (the
    // exchanges it started have retransmission timers).
    std::function<void()> rearm;
  };

  // `seed` spreads first probes over the interval.
  HealthChecker(Services services, std::uint64_t seed, const DnsSettings& dns);
  ~HealthChecker() override;
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // See Engine: the same operations, without the event loop.
  void start(const TargetList& targets, bool spread);
  void reload(const TargetList& targets);
  void set_dns(const DnsSettings& dns);
  void probe_once(const TargetConfig& target, OneShotDone done);
  void stop();  // abandons lookups; the exchanges are stopped by their owner
  std::size_t in_flight() const { return in_flight_; }

  // Timer entries of kind start and timeout.
  bool live(const TimerEntry& e) const;
  void fire(const TimerEntry& e, TimePoint now);

  void exchange_finished(std::uint32_t address, ProbeResult& result, TimePoint now) override;

 private:
  struct Target;
  struct Address;

  std::uint32_t add_target(std::shared_ptr<const TargetConfig> config, OneShotDone done);
  void schedule_first(const std::vector<std::uint32_t>& slots, bool spread);
  void remove_target(std::uint32_t slot);
  void retire_one_shot(std::uint32_t slot, TimePoint now);
  std::uint32_t new_generation();
  TimePoint spread_start(const TargetConfig& cfg, TimePoint now);
  bool same_cycle(std::uint32_t slot, std::uint32_t gen, std::uint32_t cycle) const;
  void start_cycle(std::uint32_t slot, TimePoint now);
  std::chrono::milliseconds next_interval(const Target& t) const;
  bool all_paused(const Target& t, TimePoint at) const;
  void schedule_next(std::uint32_t slot, TimePoint now);
  void note_retry_after(std::uint32_t address, const ProbeResult& result, TimePoint now);
  void locate(std::uint32_t slot);
  void on_located(std::uint32_t slot, const LocateResult& r);
  void apply_location(std::uint32_t slot, const Location& location, TimePoint located_at);
  std::uint32_t add_address(std::uint32_t target, const Destination& d);
  void remove_address(std::uint32_t address);
  void probe_addresses(std::uint32_t slot, TimePoint now);
  void cycle_timeout(std::uint32_t slot, TimePoint now);
  void finish_cycle(std::uint32_t slot, std::uint32_t last, const ProbeResult& result,
                    TimePoint now);
  static void keep(Address& a, const ProbeResult& result);
  static std::chrono::nanoseconds dns_wait(const Target& t, TimePoint now);
  void fail_cycle(std::uint32_t slot, FailureReason reason, std::string_view detail, TimePoint now);
  void report_cycle(std::uint32_t slot, ProbeResult& r, TimePoint now);

  Services s_;
  std::mt19937_64 jitter_;
  DnsSettings dns_;
  std::unique_ptr<LocationService> locator_;
  SlotTable<Target> targets_;  // by slot; none when free
  // By slot, what timer entries are checked against, apart from the targets: most entries
  // are stale (their probe was answered), and checking one must not touch a cold Target.
  struct Stamp {
    std::uint32_t generation = 0;  // 0: free
    std::uint32_t cycle_seq = 0;
    bool cycle_open = false;
  };
  std::vector<Stamp> stamps_;
  std::vector<std::uint32_t> free_slots_;
  SlotTable<Address> addresses_;  // by address number; none when free
  std::vector<std::uint32_t> free_addresses_;
  std::uint32_t next_generation_ = 1;
  std::size_t in_flight_ = 0;
  bool stopped_ = false;
};

}  // namespace stx
