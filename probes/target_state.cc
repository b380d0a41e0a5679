#include "probes/target_state.h"

namespace stx {

std::string_view to_string(Health h) {
  switch (h) {
    case Health::up:
      return "up";
    case Health::down:
      return "down";
    case Health::unknown:
      break;
  }
  return "unknown";
}

StateChange TargetState::record(bool success, int failures_before_down, int successes_before_up) {
  StateChange change{health, health};
  if (success) {
    ++consecutive_successes;
    consecutive_failures = 0;
  } else {
    ++consecutive_failures;
    consecutive_successes = 0;
  }
  switch (health) {
    case Health::unknown:
      health = success ? Health::up : Health::down;
      break;
    case Health::up:
      if (consecutive_failures >= failures_before_down) health = Health::down;
      break;
    case Health::down:
      if (consecutive_successes >= successes_before_up) health = Health::up;
      break;
  }
  change.to = health;
  return change;
}

}  // namespace stx
