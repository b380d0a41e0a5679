#pragma once
// Up/down hysteresis for one target. Pure logic: no clock, no I/O.
#include <cstdint>
#include <string_view>

namespace stx {

enum class Health : std::uint8_t { unknown, up, down };

std::string_view to_string(Health h);

struct StateChange {
  Health from = Health::unknown;
  Health to = Health::unknown;
  bool changed() const { return from != to; }
  // Only up<->down counts as a transition; unknown->up/down is the first verdict.
  bool is_transition() const { return changed() && from != Health::unknown; }
};

struct TargetState {
  Health health = Health::unknown;
  int consecutive_failures = 0;
  int consecutive_successes = 0;

  // Records one finished probe. The first result decides an unknown target at once;
  // afterwards an up target needs `failures_before_down` consecutive failures to go
  // down and a down target `successes_before_up` consecutive successes to come up.
  StateChange record(bool success, int failures_before_down, int successes_before_up);
};

}  // namespace stx
