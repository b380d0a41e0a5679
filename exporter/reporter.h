#pragma once
// The engine's ProbeSink in the exporter: every result goes to metrics and the status board;
// state changes and (at debug) every probe go to the log.
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "exporter/log.h"
#include "exporter/metrics.h"
#include "exporter/status_board.h"
#include "probes/probe_result.h"

namespace stx {

class Reporter : public ProbeSink {
 public:
  Reporter(Metrics& metrics, StatusBoard& board, Logger& log);

  void target_added(std::size_t target, const std::shared_ptr<const TargetConfig>& config) override;
  void target_kept(std::size_t target, const std::shared_ptr<const TargetConfig>& config) override;
  void target_removed(std::size_t target, bool probe_in_flight) override;
  void probe_started(std::size_t target) override;
  void schedule_lateness(std::chrono::nanoseconds late) override;
  void probe_finished(std::size_t target, const ProbeResult& result, const StateChange& change,
                      const TargetState& state) override;
  void unmatched_response(std::string_view why, const DropOrigin& origin) override;
  void invalid_message(std::string_view why, const DropOrigin& origin) override;
  void address_added(std::size_t target, std::size_t address, const Destination& d) override;
  void address_removed(std::size_t target, std::size_t address) override;
  void address_finished(std::size_t target, std::size_t address, const ProbeResult& result,
                        const StateChange& change, const TargetState& state) override;
  void tls_peer(std::size_t target, std::size_t address, const TlsPeerInfo& info) override;
  void keepalive_finished(std::size_t target, std::size_t address, bool ok) override;
  void address_paused(std::size_t target, std::size_t address, std::chrono::seconds pause) override;
  void location_failed(std::size_t target, std::string_view error) override;

 private:
  void log_drop(std::string_view msg, std::string_view why, const DropOrigin& origin);

  // By address slot, the last Retry-After pause logged. A target's name and an address's
  // label for the log come from the status board, which keeps the configuration and the
  // destination.
  std::vector<std::uint32_t> pauses_;  // seconds: the checker caps a pause at an hour
  Metrics& metrics_;
  StatusBoard& board_;
  Logger& log_;
};

}  // namespace stx
