#pragma once
// Up/degraded/down hysteresis for one target or address. Pure logic: no clock, no I/O.
#include <cstdint>
#include <string_view>

namespace stx {

// degraded: not up, and the last unhealthy verdict was an answer in degraded_codes (alive,
// refusing service); down: not up otherwise.
enum class Health : std::uint8_t { unknown, up, degraded, down };
inline constexpr Health kAllHealth[] = {Health::unknown, Health::up, Health::degraded,
                                        Health::down};

std::string_view to_string(Health h);

// One finished probe as the hysteresis sees it.
enum class Verdict : std::uint8_t { healthy, degraded, failed };

struct StateChange {
  Health from = Health::unknown;
  Health to = Health::unknown;
  bool changed() const { return from != to; }
  // Only crossing the up boundary counts: unknown->anything is the first verdict, and
  // degraded<->down is the same outage answering differently.
  bool is_transition() const {
    return changed() && from != Health::unknown && (from == Health::up || to == Health::up);
  }
};

struct TargetState {
  Health health = Health::unknown;
  int consecutive_failures = 0;  // unhealthy verdicts in a row, degraded ones included
  int consecutive_successes = 0;

  // Records one finished probe. The first verdict decides an unknown target at once;
  // afterwards an up target needs `failures_before_down` unhealthy verdicts in a row to
  // leave up, and a not-up target `successes_before_up` healthy ones to come back. While not
  // up, each unhealthy verdict says which of degraded and down the target is.
  StateChange record(Verdict verdict, int failures_before_down, int successes_before_up);
  StateChange record(bool success, int failures_before_down, int successes_before_up) {
    return record(success ? Verdict::healthy : Verdict::failed, failures_before_down,
                  successes_before_up);
  }

  // A change has started but not reached its threshold: an up target with unhealthy
  // verdicts, or a not-up target with healthy ones (fast_interval applies).
  bool change_pending() const;
};

}  // namespace stx
