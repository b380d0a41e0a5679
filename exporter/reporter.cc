#include "exporter/reporter.h"

#include <chrono>
#include <cstdio>

namespace stx {
namespace {

std::string seconds_text(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", std::chrono::duration<double>(d).count());
  return buf;
}

// A state change's reason: the failure reason when there is one (auth, no_binding come with
// a final code), else "status_code" for an answer.
std::string reason_of(const ProbeResult& r) {
  if (r.reason == FailureReason::none && r.status_code != 0) return "status_code";
  return std::string(to_string(r.reason));
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Reporter::Reporter(Metrics& metrics, StatusBoard& board, Logger& log)
    : metrics_(metrics), board_(board), log_(log) {}

void Reporter::target_added(std::size_t target, const std::shared_ptr<const TargetConfig>& config) {
  metrics_.add_target(target, config);
  board_.add_target(target, config);
}

void Reporter::target_kept(std::size_t target, const std::shared_ptr<const TargetConfig>& config) {
  metrics_.keep_target(target, config);
  board_.keep_target(target, config);
}

void Reporter::target_removed(std::size_t target, bool probe_in_flight) {
  metrics_.remove_target(target, probe_in_flight);
  board_.remove_target(target);
}

void Reporter::probe_started(std::size_t) { metrics_.probe_started(); }

void Reporter::schedule_lateness(std::chrono::nanoseconds late) {
  metrics_.schedule_lateness(late);
}

void Reporter::probe_finished(std::size_t target, const ProbeResult& r, const StateChange& change,
                              const TargetState& state) {
  const double now = unix_now();
  metrics_.probe_finished(target, r, change, state, now);
  board_.record(target, r, state, change, now);
  // The name only when a line is written: reading it costs a cache miss or two a probe.
  if (log_.enabled(LogLevel::debug)) {
    log_.log(LogLevel::debug, "probe finished",
             {{"target", board_.name_of(target)},
              {"result", r.success ? "success" : "failure"},
              {"code", std::to_string(r.status_code)},
              {"reason", std::string(to_string(r.reason))},
              {"rtt_seconds", seconds_text(r.rtt)},
              {"duration_seconds", seconds_text(r.duration)},
              {"transmissions", std::to_string(r.transmissions)},
              {"detail", std::string(r.detail)},
              {"call_id", std::string(r.call_id)}});
  }
  if (change.changed()) {
    log_.log(change.to == Health::up ? LogLevel::info : LogLevel::warn, "target state changed",
             {{"target", board_.name_of(target)},
              {"from", std::string(to_string(change.from))},
              {"to", std::string(to_string(change.to))},
              {"reason", reason_of(r)},
              {"code", std::to_string(r.status_code)},
              {"rtt_seconds", r.status_code ? seconds_text(r.rtt) : std::string()},
              {"detail", std::string(r.detail)}});
  }
}

void Reporter::address_added(std::size_t target, std::size_t address, const Destination& d) {
  if (pauses_.size() <= address) pauses_.resize(address + 1);
  pauses_[address] = 0;
  metrics_.add_address(target, address, d);
  board_.add_address(target, address, d);
}

void Reporter::address_removed(std::size_t target, std::size_t address) {
  metrics_.remove_address(address);
  board_.remove_address(target, address);
}

void Reporter::address_finished(std::size_t target, std::size_t address, const ProbeResult& r,
                                const StateChange& change, const TargetState& state) {
  metrics_.address_finished(address, r, state);
  board_.record_address(target, address, r, state);
  if (change.is_transition()) {
    log_.log(change.to == Health::up ? LogLevel::info : LogLevel::warn, "address state changed",
             {{"target", board_.name_of(target)},
              {"address", board_.address_label(target, address)},
              {"to", std::string(to_string(change.to))},
              {"reason", reason_of(r)},
              {"code", std::to_string(r.status_code)},
              {"detail", std::string(r.detail)}});
  }
}

void Reporter::tls_peer(std::size_t target, std::size_t address, const TlsPeerInfo& info) {
  metrics_.tls_peer(address, info);
  board_.tls_peer(target, address, info);
}

void Reporter::keepalive_finished(std::size_t target, std::size_t address, bool ok) {
  metrics_.keepalive_finished(address, ok);
  if (!ok) {
    log_.log(
        LogLevel::warn, "keepalive got no pong; connection closed",
        {{"target", board_.name_of(target)}, {"address", board_.address_label(target, address)}});
  }
}

void Reporter::address_paused(std::size_t target, std::size_t address, std::chrono::seconds pause) {
  const double until = pause.count() > 0 ? unix_now() + static_cast<double>(pause.count()) : 0;
  metrics_.address_paused(address, until);
  board_.address_paused(target, address, until);
  // RFC 3261 21.5.4: worth a line when the peer starts (or changes, or stops) asking for a
  // pause, not on every probe it answers the same way.
  std::uint32_t& logged = pauses_.at(address);
  if (logged == pause.count()) return;
  logged = static_cast<std::uint32_t>(pause.count());
  if (pause.count() > 0) {
    log_.log(LogLevel::info, "peer sent Retry-After; no probe to this address until it passes",
             {{"target", board_.name_of(target)},
              {"address", board_.address_label(target, address)},
              {"retry_after_seconds", std::to_string(pause.count())}});
  } else {
    log_.log(
        LogLevel::info, "peer no longer sends Retry-After; probing as usual",
        {{"target", board_.name_of(target)}, {"address", board_.address_label(target, address)}});
  }
}

void Reporter::location_failed(std::size_t target, std::string_view error) {
  log_.log(LogLevel::warn, "DNS refresh failed; keeping the previous answer",
           {{"target", board_.name_of(target)}, {"error", std::string(error)}});
}

void Reporter::unmatched_response(std::string_view why, const DropOrigin& origin) {
  metrics_.unmatched_response();
  if (log_.enabled(LogLevel::debug)) log_drop("dropped unmatched response", why, origin);
}

void Reporter::invalid_message(std::string_view why, const DropOrigin& origin) {
  metrics_.invalid_message(why);
  if (log_.enabled(LogLevel::debug)) log_drop("dropped invalid message", why, origin);
}

void Reporter::log_drop(std::string_view msg, std::string_view why, const DropOrigin& origin) {
  // The Call-ID is the peer's text: cut, as everything a peer sends that reaches a log.
  constexpr std::size_t kMaxCallId = 128;
  log_.log(LogLevel::debug, msg,
           {{"why", std::string(why)},
            {"from", to_string(origin.from)},
            {"transport", std::string(to_string(origin.from.transport))},
            {"call_id", std::string(origin.call_id.substr(0, kMaxCallId))}});
}

}  // namespace stx
