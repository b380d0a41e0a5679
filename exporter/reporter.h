#pragma once
// The engine's ProbeSink in the exporter: every result goes to metrics, state changes and
// (at debug) every probe go to the log.
#include <string>
#include <vector>

#include "config/config.h"
#include "exporter/log.h"
#include "exporter/metrics.h"
#include "probes/probe_result.h"

namespace stx {

class Reporter : public ProbeSink {
 public:
  Reporter(const Config& config, Metrics& metrics, Logger& log);

  void probe_started(std::size_t target) override;
  void probe_finished(std::size_t target, const ProbeResult& result, const StateChange& change,
                      const TargetState& state) override;
  void unmatched_response(std::string_view why) override;
  void invalid_message(std::string_view why) override;

 private:
  std::vector<std::string> names_;
  std::vector<int> last_code_;
  Metrics& metrics_;
  Logger& log_;
};

}  // namespace stx
