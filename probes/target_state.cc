#include "probes/target_state.h"

namespace stx {

std::string_view to_string(Health h) {
  switch (h) {
    case Health::up:
      return "up";
    case Health::degraded:
      return "degraded";
    case Health::down:
      return "down";
    case Health::unknown:
      break;
  }
  return "unknown";
}

StateChange TargetState::record(Verdict verdict, int failures_before_down,
                                int successes_before_up) {
  StateChange change{health, health};
  const bool healthy = verdict == Verdict::healthy;
  const Health unhealthy = verdict == Verdict::degraded ? Health::degraded : Health::down;
  if (healthy) {
    ++consecutive_successes;
    consecutive_failures = 0;
  } else {
    ++consecutive_failures;
    consecutive_successes = 0;
  }
  switch (health) {
    case Health::unknown:
      health = healthy ? Health::up : unhealthy;
      break;
    case Health::up:
      if (consecutive_failures >= failures_before_down) health = unhealthy;
      break;
    case Health::degraded:
    case Health::down:
      if (!healthy) {
        health = unhealthy;
      } else if (consecutive_successes >= successes_before_up) {
        health = Health::up;
      }
      break;
  }
  change.to = health;
  return change;
}

bool TargetState::change_pending() const {
  if (health == Health::up) return consecutive_failures > 0;
  if (health == Health::degraded || health == Health::down) return consecutive_successes > 0;
  return false;
}

}  // namespace stx
