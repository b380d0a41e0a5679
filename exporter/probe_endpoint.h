#pragma once
// GET /probe?target=<sip-uri>&module=<name>: one probe now, through the background engine's
// sockets, answered with that probe's metrics only (a fresh registry), blackbox style.
#include <chrono>
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

// Runs on the engine's thread; `respond` is called once, also on that thread.
void run_probe_request(Engine& engine, const Config& config, const ProbeRequest& req,
                       Respond respond);

// The exposition for one finished probe: sip_probe_success, sip_probe_duration_seconds,
// sip_probe_status_code.
std::string probe_metrics_text(const ProbeResult& r);

// ?debug=true: the whole exchange as plain text.
std::string probe_debug_text(const ProbeRequest& req, const TargetConfig& target,
                             const ProbeResult& r);

}  // namespace stx
