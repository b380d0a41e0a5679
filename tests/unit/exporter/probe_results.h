#pragma once
// Probe results for the metrics tests.
#include <chrono>
#include <string_view>

#include "probes/probe_result.h"

namespace stx::test {

// A final response `code` after `rtt` (also the probe's duration), with a Server header.
inline ProbeResult answered(int code, std::chrono::milliseconds rtt, std::string_view server) {
  ProbeResult r;
  r.status_code = code;
  r.success = code / 100 == 2;
  r.rtt = rtt;
  r.duration = rtt;
  r.server = server;
  return r;
}

}  // namespace stx::test
