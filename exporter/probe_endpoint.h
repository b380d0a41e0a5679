#pragma once
// GET /probe?target=<sip-uri>&module=<name>: one probe now, through the background engine's
// sockets, answered with that probe's metrics only, blackbox style.
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "exporter/web.h"
#include "probes/engine.h"

namespace stx {

// Prometheus sends its scrape timeout; the probe must end before it, with this much to spare.
inline constexpr std::chrono::milliseconds kScrapeTimeoutOffset{500};
inline constexpr std::chrono::milliseconds kMinProbeTimeout{100};

std::chrono::milliseconds probe_timeout(std::chrono::milliseconds module_timeout,
                                        double scrape_timeout_seconds);

// /probe requests answered at once at most; each holds an HTTP connection, a probe and, over
// TCP or TLS, a connection to the target until it is answered.
inline constexpr int kMaxConcurrentProbes = 128;

// Counts /probe requests in flight, from any thread.
class ProbeGate {
 public:
  explicit ProbeGate(int limit = kMaxConcurrentProbes) : limit_(limit) {}
  // `respond`, wrapped so that answering (or dropping it unanswered) frees the slot; nullopt
  // when `limit` requests are in flight already.
  std::optional<Respond> enter(const Respond& respond);
  int limit() const { return limit_; }
  int in_flight() const { return in_flight_->load(); }

 private:
  int limit_;
  std::shared_ptr<std::atomic<int>> in_flight_ = std::make_shared<std::atomic<int>>(0);
};

// 503 for a request over the limit.
WebResponse too_many_probes(int limit);

// Runs on the engine's thread; `respond` is called once, also on that thread.
void run_probe_request(Engine& engine, const Config& config, const ProbeRequest& req,
                       Respond respond);

// The exposition for one finished probe: the FamilyScope::probe families of
// exporter/metric_families.h (sip_probe_success, sip_probe_duration_seconds, ...). Info
// families without a value to show (no failure, no address, no TLS) are left out.
std::string probe_metrics_text(const ProbeResult& r);

// ?debug=true: the whole exchange as plain text.
std::string probe_debug_text(const ProbeRequest& req, const TargetConfig& target,
                             const ProbeResult& r);

}  // namespace stx
