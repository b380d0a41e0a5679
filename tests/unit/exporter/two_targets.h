#pragma once
// Metrics with two targets, "a" (carrier acme) and "b", for the exposition tests.
#include <chrono>
#include <cstddef>
#include <string>

#include "config/config.h"
#include "exporter/metrics.h"
#include "probes/target_state.h"
#include "tests/unit/exporter/probe_results.h"

namespace stx::test {

// `exporter_table`: an [exporter] table put before the targets.
inline Config two_targets_config(const std::string& exporter_table = "") {
  return parse_config(exporter_table + R"(
[[target]]
name = "a"
uri = "sip:192.0.2.1:5060"
labels = { carrier = "acme" }
[[target]]
name = "b"
uri = "sip:192.0.2.2"
)",
                      "test.toml");
}

// One target whose name and labels need escaping in the text exposition.
inline Config escaped_target_config() {
  return parse_config(R"(
[[target]]
name = "q\"uote"
uri = "sip:192.0.2.1"
labels = { zone = "back\\slash", app = "x" }
)",
                      "test.toml");
}

// The two targets added at slots 0 and 1, as the engine would.
struct TwoTargets {
  Config config = two_targets_config();
  Metrics m{config};
  TwoTargets() {
    m.add_target(0, config.targets[0]);
    m.add_target(1, config.targets[1]);
  }
  // A 200 after `rtt` for `target`.
  void answer(std::size_t target, std::chrono::microseconds rtt) {
    TargetState s;
    ProbeResult r = answered(200, std::chrono::milliseconds(0), "");
    r.rtt = rtt;
    m.probe_finished(target, r, s.record(true, 1, 1), s, 1);
  }
};

}  // namespace stx::test
